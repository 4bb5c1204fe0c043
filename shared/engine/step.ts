import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';
import type { Clients } from '../aws/index.ts';
import type { Config } from '../config/index.ts';
import type { EvidenceStore } from '../evidence/index.ts';
import type { HandOffTarget, Incident } from '../findings/index.ts';
import type { LetGo, RelianceState } from '../ledger/index.ts';
import type { Pacer } from '../pacing/index.ts';
import type { EvidenceRef, Mode, Stage, StepOutcome } from '../vocabulary/index.ts';

/**
 * The types one playbook works with: the resource as `describe` reads it, the "before"
 * state kept at the first delivery, and the playbook's options. Steps are typed by it.
 */
export interface PlaybookTypes {
  resource: unknown;
  capture: object;
  options: unknown;
}

/** What a step reports when it finishes without throwing. */
export interface StepResult<D> {
  status: 'done' | 'skipped' | 'pending';
  /** For `pending`: when to look again (seconds; the engine bounds it). */
  retryAfterSeconds?: number;
  /** One sentence a responder reads in the ledger: what was done, or why not. */
  summary: string;
  /** What the step saw and changed, in the shape of the step's `data` schema (what its undo receives). */
  data?: D;
  evidence?: EvidenceRef[];
}

/** Reads what other steps of this incident recorded, typed by their schemas. */
export interface StepOutputs<T extends PlaybookTypes> {
  /** The data `step` recorded when it finished `done`; undefined otherwise. Throws RecordedDataError if it does not match the step's schema. */
  outputOf<D>(step: Step<T, D>): D | undefined;
  /** The latest recorded outcome of `step` (any status). */
  outcomeOf(step: AnyStep<T>): StepOutcome | undefined;
}

/** Everything a containment step may use; no step reads the raw event. */
export interface StepContext<T extends PlaybookTypes, D> extends StepOutputs<T> {
  incident: Incident;
  /** The resource as described at the start of this delivery. */
  resource: T['resource'];
  /** The resource's state captured at the first delivery (the "before" of containment). */
  capture: T['capture'];
  /** The playbook's options, validated at cold start. */
  options: T['options'];
  clients: Clients;
  /**
   * The clients of the incident's account in another region (the same member-role session):
   * CloudTrail logs global services (IAM, STS's global endpoint) in us-east-1 only, and a
   * principal's persistence may be anywhere. Absent in contexts that act in one region only.
   */
  clientsIn?(region: string): Clients;
  evidence: EvidenceStore;
  config: Config;
  logger: Logger;
  now: () => Date;
  /** This step's outcome from an earlier delivery (e.g. the command it is waiting on); its data when it matches the schema. */
  previous?: StepOutcome<D | undefined>;
  /** Paces calls AWS limits per account and region, with buckets shared by every function (shared/pacing). */
  pacer: Pacer;
  /**
   * Hands a resource over to another playbook (a Firebreak Hand-off on the responders' bus, from
   * this incident): its incident is linked to this one. Throws a non-retryable StepFailedError
   * when the deployment has no responders' bus.
   */
  handOff(target: HandOffTarget, reason: string): Promise<{ eventId: string }>;
  /** Adds this incident to those sharing `key` (a principal, an access key) in the ledger and returns the others' ids. */
  relate(key: string): Promise<string[]>;
  /** The ledger's count of incidents relying on shared settings (absent where no ledger counts them). */
  reliance?: RelianceCounter;
}

/**
 * Counts, in the ledger, the open incidents that rely on one shared setting (a detector-wide
 * GuardDuty setting, say), so that release restores it only when the last of them lets go
 * (shared/ledger/reliance.ts says how it stays sound under concurrency).
 */
export interface RelianceCounter {
  /** Counts this incident among those relying on `key`; `restoreTo`: it changed the setting from that value. */
  rely(key: string, restoreTo?: string): Promise<RelianceState>;
  /** This incident no longer relies on `key`: who still does, and whether this release claimed the restore. */
  letGo(key: string): Promise<LetGo>;
  /** After restoring a claimed setting: false when an incident came to rely on it meanwhile (turn it back on). */
  restored(key: string): Promise<boolean>;
}

/** A release request, as the undo steps see it. */
export interface ReleaseAsk {
  requestedBy: string;
  reason: string;
  /** Put the resource back where containment took it out of (e.g. an Auto Scaling group). */
  reattach: boolean;
  via: 'cli' | 'event';
}

/** What a release action may use: what containment recorded, and clients to undo it with. */
export interface ReleaseContext<T extends PlaybookTypes> extends StepOutputs<T> {
  incident: Incident;
  capture: T['capture'];
  request: Readonly<ReleaseAsk>;
  /** The resource as it is now, described once on first use; `undefined` when it no longer exists. */
  resource(): Promise<T['resource'] | undefined>;
  clients: Clients;
  /** The clients of the incident's account in another region (what a step changed there). */
  clientsIn?(region: string): Clients;
  logger: Logger;
  now: () => Date;
  /** This action's outcome in an earlier, incomplete release. */
  previous?: StepOutcome;
  /** The release outcomes so far (earlier attempts' and this run's). */
  released: Readonly<Record<string, StepOutcome>>;
  /** The ledger's count of incidents relying on shared settings (absent where no ledger counts them). */
  reliance?: RelianceCounter;
}

/** What an undo or release action reports. */
export interface ReleaseResult {
  /** `done`: something was restored (or already was); `skipped`: everything was left alone, and why. */
  status: 'done' | 'skipped';
  summary: string;
  data?: Record<string, unknown>;
  /** What it deliberately left as containment set it (protections, evidence), for the responder. */
  keptProtections?: string[];
}

/** The context of an undo: the release context plus the data its step recorded. */
export interface UndoContext<T extends PlaybookTypes, D> extends ReleaseContext<T> {
  /** What the containment step recorded when it finished `done` (an undo runs only then). */
  recorded: D;
}

/**
 * Undoes what its step changed, from what the step recorded. It leaves alone anything a
 * human changed since, and says so. Runs only when the step finished `done`.
 */
export interface Undo<T extends PlaybookTypes, D> {
  /** The name the ledger records the undo under (release step names never change). */
  name: string;
  /** The sentence a responder reads: what this restores. */
  description: string;
  iamActions: readonly string[];
  run(ctx: UndoContext<T, D>): Promise<ReleaseResult>;
}

/** A release step that undoes no single containment step (saying what is kept; tagging the resource released). */
export interface ReleaseAction<T extends PlaybookTypes> {
  kind: 'release-action';
  name: string;
  description: string;
  iamActions: readonly string[];
  run(ctx: ReleaseContext<T>): Promise<ReleaseResult>;
}

/** One named, idempotent containment step, with the schema of what it records and, where containment is reversible, its undo. */
export interface Step<T extends PlaybookTypes, D> {
  kind: 'step';
  name: string;
  stage: Stage;
  /** The playbook sentence this step implements. */
  description: string;
  /** Every IAM action the step may call (the function's role is generated from these). */
  iamActions: readonly string[];
  /** Runs only in this mode or above (`full`: disruptive steps). */
  minimumMode: Exclude<Mode, 'observe'>;
  /**
   * Option paths (Terraform's keys, e.g. `online_capture.enabled`) that must all be set for the
   * step to do anything: without them its actions are not granted to the function at all.
   */
  enabledBy: readonly string[];
  /** Actions needed only when further options are set (e.g. `ec2:RunInstances` only with `forensics.launch`). */
  iamWhen?: Readonly<Record<string, readonly string[]>>;
  /** Steps that must have succeeded (done or skipped) first; while one is pending this one waits, when one failed it is skipped. */
  requires: readonly AnyStep<T>[];
  /** Steps that must have finished, whatever their outcome, first. */
  after: readonly AnyStep<T>[];
  /**
   * A `skipped` outcome of this step is looked at again on every delivery, even of a contained
   * incident (it records a state that may change, e.g. the root user's credentials); otherwise a
   * step that ran and found nothing to do is final (see `settled`).
   */
  revisitWhenSkipped?: boolean;
  /** The schema of `data`: what the step records, and what its undo and later steps read back. */
  data: z.ZodType<D>;
  run(ctx: StepContext<T, D>): Promise<StepResult<D>>;
  undo?: Undo<T, D>;
}

// The variance of D in `run`/`undo` makes a list of different steps need `any` here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStep<T extends PlaybookTypes> = Step<T, any>;

/** A release order entry: a step (its undo runs) or a release action. */
export type ReleaseEntry<T extends PlaybookTypes> = AnyStep<T> | ReleaseAction<T>;

export interface StepSpec<T extends PlaybookTypes, D> {
  name: string;
  stage: Stage;
  description: string;
  iamActions: readonly string[];
  minimumMode?: Exclude<Mode, 'observe'>;
  enabledBy?: readonly string[];
  iamWhen?: Readonly<Record<string, readonly string[]>>;
  requires?: readonly AnyStep<T>[];
  after?: readonly AnyStep<T>[];
  revisitWhenSkipped?: boolean;
  /** Omit for a step that records nothing. */
  data?: z.ZodType<D>;
  run(ctx: StepContext<T, D>): Promise<StepResult<D>>;
  undo?: Undo<T, D>;
}
