/**
 * The words every layer shares: modes, stages, statuses, a step's recorded outcome, a
 * gate's verdict, a piece of evidence. Both the engine and the ledger import them from
 * here, so the foundation (findings, ledger, evidence, config, errors, aws) never
 * imports the engine.
 */

/** How far Firebreak may act: record only, contain, or contain and then stop for offline work. */
export const MODES = ['observe', 'contain', 'full'] as const;
export type Mode = (typeof MODES)[number];

/** A mode's rank: a step that needs `contain` runs in `contain` and `full`. */
export const modeRank = (mode: Mode): number => MODES.indexOf(mode);

/**
 * Containment stages run in this order; the steps of one stage run concurrently.
 * `investigate` runs once evidence is preserved (forensic copies, stopping the instance).
 */
export const STAGES = ['contain', 'evidence', 'investigate'] as const;
export type Stage = (typeof STAGES)[number];
/** Release steps are recorded in a stage of their own. */
export type OutcomeStage = Stage | 'release';

/**
 * `pending`: the step started something that finishes later (a snapshot, a Run Command)
 * and must be looked at again; the engine schedules a follow-up delivery.
 */
export type StepStatus = 'done' | 'skipped' | 'failed' | 'planned' | 'pending';

/**
 * How an incident stands after a delivery. `containing`: no containment step failed, but one is
 * still waiting on AWS (a Run Command, a paced API) and is looked at again by a follow-up — the
 * incident is not called contained until every containment step is done.
 */
export type IncidentStatus = 'received' | 'planned' | 'skipped' | 'held' | 'containing' | 'contained' | 'retrying' | 'failed' | 'released';

/** Where a piece of evidence lives and how to verify it. */
export interface EvidenceRef {
  bucket: string;
  key: string;
  sha256: string;
  bytes: number;
  versionId?: string;
}

/** Why a step failed, as the ledger keeps it: the AWS or step code, never a class name. */
export interface StepError {
  code: string;
  message: string;
  retryable: boolean;
  unsupported: boolean;
}

/** A step's recorded outcome in the ledger (containment or release). */
export interface StepOutcome<D = unknown> {
  stage: OutcomeStage;
  status: StepStatus;
  summary: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** For `pending`: when the step asked to be looked at again. */
  retryAfterSeconds?: number;
  error?: StepError;
  /** What the step saw and changed, in the shape its schema declares. */
  data?: D;
  evidence?: EvidenceRef[];
}

/** One safety gate's verdict, recorded in the ledger whether it passed or not. */
export interface GateResult {
  gate: string;
  passed: boolean;
  reason: string;
}

/** How a release was asked for: `firebreak release`, or a Firebreak Manual Release event on the bus. */
export type ReleaseVia = 'cli' | 'event';

/** How a release call ended. */
export type ReleaseOutcome = 'released' | 'incomplete' | 'already-released';
