import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clients } from '../aws/index.ts';
import type { StepOutcome, StepResult } from '../engine/types.ts';
import type { Incident, PlaybookName } from '../findings/index.ts';
import type { IncidentRecord, ReleaseStepOutcome } from '../ledger/index.ts';

/** How a release was asked for: `firebreak release`, or a Firebreak Manual Release event on the bus. */
export const RELEASE_VIA = { cli: 'cli', event: 'event' } as const;
export type ReleaseVia = (typeof RELEASE_VIA)[keyof typeof RELEASE_VIA];

/** A responder's request to undo the containment of one incident. */
export interface ReleaseRequest {
  incidentId: string;
  /** Why: required, 1-512 characters (control characters become spaces). */
  reason: string;
  /** Put the instance back into the Auto Scaling group it was detached from (raises desired capacity by one). */
  reattach: boolean;
  /** Who asked: the caller's ARN (CLI) or the event's `requestedBy`. */
  requestedBy: string;
  via: ReleaseVia;
  /**
   * What the caller believes the incident is about. Any mismatch with the ledger refuses
   * the release before anything changes (a bus event names the resource it means).
   */
  expect?: { resourceId?: string; resourceType?: string; accountId?: string; playbook?: PlaybookName };
}

/** What a release step reports: it either restored something (`done`) or had nothing it may restore (`skipped`). */
export interface ReleaseStepResult extends StepResult {
  status: 'done' | 'skipped';
}

/** Everything a release step may use: what containment recorded, and clients to undo it with. */
export interface ReleaseStepContext<R> {
  /** The incident as the ledger recorded it (containment outcomes, capture, resource id). */
  record: IncidentRecord;
  /** The incident rebuilt from the record (for describing the resource and tagging). */
  incident: Incident;
  /** The resource's state captured before containment. */
  capture: Record<string, unknown>;
  /** Containment steps' outcomes: only those whose status is `done` changed anything. */
  contained: Readonly<Record<string, StepOutcome>>;
  request: Readonly<ReleaseRequest>;
  /**
   * The resource as it is now, described once on first use with the playbook's own
   * `describe`; `undefined` when it no longer exists.
   */
  resource(): Promise<R | undefined>;
  clients: Clients;
  logger: Logger;
  now: () => Date;
  /** This step's outcome in an earlier, incomplete release. */
  previous?: ReleaseStepOutcome;
  /** Every release step's latest outcome, this run's included (read-only). */
  outcomes: Readonly<Record<string, ReleaseStepOutcome>>;
}

/**
 * One named, idempotent step that undoes part of containment from what the ledger
 * recorded. It leaves alone anything a human changed since, and says so. A step may
 * list what it deliberately keeps as containment set it in `data.keptProtections`.
 */
export interface ReleaseStepDefinition<R> {
  name: string;
  /** The sentence a responder reads: what this step restores. */
  description: string;
  /** Every IAM action the step may call (the Terraform role is generated from these). */
  iamActions: readonly string[];
  run(ctx: ReleaseStepContext<R>): Promise<ReleaseStepResult>;
}

/** How a release call ended. */
export const RELEASE_OUTCOMES = { released: 'released', incomplete: 'incomplete', alreadyReleased: 'already-released' } as const;
export type ReleaseOutcome = (typeof RELEASE_OUTCOMES)[keyof typeof RELEASE_OUTCOMES];

export interface ReleaseResult {
  incidentId: string;
  outcome: ReleaseOutcome;
  /** One sentence for the responder. */
  summary: string;
  /** Every release step's latest outcome (earlier attempts' included). */
  steps: Record<string, ReleaseStepOutcome>;
  /** The steps this call ran, in order (done steps of earlier attempts are not repeated). */
  ran: string[];
  /** Steps whose latest outcome is failed. */
  failures: string[];
  /** The failed steps a retry may fix (throttling, 5xx). */
  retryableFailures: string[];
  keptProtections: string[];
  releasedBy?: string;
  releasedAt?: string;
}
