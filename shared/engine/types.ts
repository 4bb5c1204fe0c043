import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clients } from '../aws/index.ts';
import type { Config, Mode } from '../config/index.ts';
import type { EvidenceRef, EvidenceStore } from '../evidence/index.ts';
import type { Incident, PlaybookName } from '../findings/index.ts';
import type { ReleaseStepDefinition } from '../release/types.ts';

/**
 * Stages run in order; the steps of one stage run concurrently. `investigate`
 * runs after evidence is preserved (forensic copies, stopping the instance).
 */
export const STAGES = { capture: 'capture', contain: 'contain', evidence: 'evidence', investigate: 'investigate' } as const;
export type Stage = (typeof STAGES)[keyof typeof STAGES];

/**
 * `pending`: the step started something that finishes later (a snapshot, a Run
 * Command) and must be looked at again; the engine schedules a follow-up delivery.
 */
export const STEP_STATUSES = { done: 'done', skipped: 'skipped', failed: 'failed', planned: 'planned', pending: 'pending' } as const;
export type StepStatus = (typeof STEP_STATUSES)[keyof typeof STEP_STATUSES];

/** What a step reports when it finishes without throwing. */
export interface StepResult {
  status: 'done' | 'skipped' | 'pending';
  /** For `pending`: when to look again (seconds; the engine bounds it). */
  retryAfterSeconds?: number;
  /** One sentence a responder reads in the ledger: what was done, or why not. */
  summary: string;
  /** What the step saw and changed (the "before" state release restores from). */
  data?: Record<string, unknown>;
  evidence?: EvidenceRef[];
}

/** A step's recorded outcome in the ledger. */
export interface StepOutcome {
  stage: Stage;
  status: StepStatus;
  summary: string;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** For `pending`: when the step asked to be looked at again. */
  retryAfterSeconds?: number;
  error?: { code: string; message: string; retryable: boolean; unsupported: boolean };
  data?: Record<string, unknown>;
  evidence?: EvidenceRef[];
}

/** Everything a step may use; no step reads the raw event. */
export interface StepContext<R> {
  incident: Incident;
  /** The resource as described at the start of this delivery. */
  resource: R;
  /** The resource's state captured at the first delivery (the "before" of containment). */
  capture: Record<string, unknown>;
  clients: Clients;
  evidence: EvidenceStore;
  config: Config;
  logger: Logger;
  now: () => Date;
  /** This step's outcome from an earlier delivery (e.g. the command id it is waiting on). */
  previous?: StepOutcome;
  /** Every step's latest outcome for this incident, this delivery's included (read-only). */
  outcomes: Readonly<Record<string, StepOutcome>>;
}

/** One named, idempotent remediation step. */
export interface StepDefinition<R> {
  name: string;
  stage: Exclude<Stage, 'capture'>;
  /** The playbook sentence this step implements. */
  description: string;
  /** Every IAM action the step may call (the Terraform role is generated from these). */
  iamActions: readonly string[];
  /** Steps that only run in this mode or above (`full`: disruptive steps). */
  minimumMode?: Exclude<Mode, 'observe'>;
  /**
   * Steps that must have succeeded (done or skipped) before this one runs. While one
   * is pending this step waits (pending); when one failed this step is skipped.
   */
  requires?: readonly string[];
  /** Steps that must have finished, whatever their outcome, before this one runs (it waits while they are pending). */
  after?: readonly string[];
  run(ctx: StepContext<R>): Promise<StepResult>;
}

/** Context for describing the resource (read-only). */
export interface DescribeContext {
  incident: Incident;
  clients: Clients;
  logger: Logger;
}

/** A playbook: how to read the resource, and its steps in the order of the seeds. */
export interface Playbook<R> {
  name: PlaybookName;
  /** Reads the resource (and anything the first containment calls need). Read-only. */
  describe(ctx: DescribeContext): Promise<R>;
  /** The JSON-safe state to keep as the "before" of containment. */
  capture(resource: R): Record<string, unknown>;
  /** The resource's tags (for the exemption tag). */
  tags(resource: R): Record<string, string>;
  /** Identifiers the protected-resource list is matched against (id, ARN). */
  identifiers(incident: Incident, resource: R): string[];
  /** Principals the protected-principal list is matched against (e.g. an IAM user ARN). */
  principals(incident: Incident, resource: R): string[];
  /** IAM actions `describe` needs. */
  describeIamActions: readonly string[];
  /** The step whose completion means the resource is isolated (for time-to-isolation). */
  isolationStep: string;
  steps: readonly StepDefinition<R>[];
  /** How `firebreak release` undoes containment, in order (see shared/release). */
  release?: readonly ReleaseStepDefinition<R>[];
}

/** How an incident stands after a delivery. */
export const INCIDENT_STATUSES = {
  received: 'received',
  planned: 'planned',
  skipped: 'skipped',
  held: 'held',
  contained: 'contained',
  retrying: 'retrying',
  failed: 'failed',
  released: 'released',
} as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[keyof typeof INCIDENT_STATUSES];

export type { Mode };
