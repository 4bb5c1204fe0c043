import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { budgetOrigin, type FindingOrigin } from '../findings/index.ts';
import type { IncidentStatus, StepOutcome } from '../vocabulary/index.ts';
import { beginIncident, finishIncident, getIncident, linkDerived, loadIncident, recordResumeRequest, recordStep, type BeginParams, type LoadedState } from './incidents.ts';
import { listRecords } from './listing.ts';
import { recordNotification, type NotificationTarget } from './notifications.ts';
import type { DerivedLink, IgnoredFindingRecord, IncidentRecord, LedgerRecord, NotificationRecord, RejectedRecord } from './records.ts';
import { beginRelease, finishRelease, recordReleaseStep, type BeginReleaseOutcome, type BeginReleaseParams, type FinishReleaseParams } from './release-claim.ts';
import { getIgnored, getRejected, recordIgnored, recordRejected, type IgnoredMessage, type RejectedMessage } from './rejections.ts';
import type { SlotOutcome } from './blast-radius.ts';
import type { LedgerTable } from './table.ts';
import { takeToken, type BucketRate } from './token-bucket.ts';
import { relateIncident } from './related.ts';
import { letGo, rely, restored, type LetGo, type RelianceState } from './reliance.ts';
import { claimStep, finishDeferringIncident, recordClaimedStep, type ClaimOutcome } from './step-claims.ts';
import { releaseFollowUp, reserveFollowUp, type FollowUpRequest } from './follow-ups.ts';

/**
 * The DynamoDB ledger: one record per finding + resource with every step's outcome,
 * the per-account blast-radius window, release claims, rejected and ignored messages.
 * Each job lives in its own module; this class only binds them to one table.
 *
 * @example
 * ```ts
 * const ledger = new Ledger(documentClient, 'firebreak-ledger');
 * const { record } = await ledger.load('inc-…', '111122223333');
 * ```
 */
export class Ledger {
  readonly #t: LedgerTable;
  readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.#t = { db, table };
    this.table = table;
  }

  /** The incident and the blast-radius window of its origin's budget in the account. */
  load(incidentId: string, accountId: string, origin?: FindingOrigin): Promise<LoadedState> {
    return loadIncident(this.#t, incidentId, accountId, origin);
  }

  get(incidentId: string): Promise<IncidentRecord | undefined> {
    return getIncident(this.#t, incidentId);
  }

  /** Opens or updates the record and, when asked, takes a slot in the budget of the incident's {@link budgetOrigin}. */
  begin(params: BeginParams): Promise<SlotOutcome> {
    const { incidentId, accountId } = params.incident;
    return beginIncident(this.#t, params, async () => (await loadIncident(this.#t, incidentId, accountId, budgetOrigin(params.incident))).window);
  }

  /** Links a derived incident (a hand-off, the next generation) to its source; false when the source is not in the ledger. */
  linkDerived(sourceIncidentId: string, derivedIncidentId: string, link: DerivedLink): Promise<boolean> {
    return linkDerived(this.#t, sourceIncidentId, derivedIncidentId, link);
  }

  /** Takes a token from a rate bucket shared by every function (0), or says how many milliseconds to wait. */
  takeToken(bucket: string, rate: BucketRate, nowMs: number): Promise<number> {
    return takeToken(this.#t, bucket, rate, nowMs);
  }

  /** Adds the incident to those sharing `key` (a principal, an access key) and returns the others. */
  relate(key: string, incidentId: string): Promise<string[]> {
    return relateIncident(this.#t, key, incidentId);
  }

  /** Counts the incident among those relying on the shared setting `key` (with `restoreTo`: it changed the setting from that value). */
  rely(key: string, incidentId: string, restoreTo?: string): Promise<RelianceState> {
    return rely(this.#t, key, incidentId, restoreTo);
  }

  /** The incident no longer relies on the shared setting `key`: the others, and whether it claimed the restore. */
  letGo(key: string, incidentId: string): Promise<LetGo> {
    return letGo(this.#t, key, incidentId);
  }

  /** After restoring a claimed setting: true when still nobody relies on it (the claim and the value are forgotten). */
  restored(key: string, incidentId: string): Promise<boolean> {
    return restored(this.#t, key, incidentId);
  }

  /** Records `firebreak resume`'s re-publication of a held incident; false when it is no longer held or was already resumed. */
  recordResumeRequest(incidentId: string, request: { at: string; by: string; eventId: string }): Promise<boolean> {
    return recordResumeRequest(this.#t, incidentId, request);
  }

  recordStep(incidentId: string, name: string, outcome: StepOutcome): Promise<void> {
    return recordStep(this.#t, incidentId, name, outcome);
  }

  finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
    return finishIncident(this.#t, incidentId, status, reason, now, isolatedAt);
  }

  /** Claims a step for one delivery until `untilMs` (see shared/ledger/step-claims.ts); says who holds it or how it finished otherwise. */
  claimStep(incidentId: string, step: string, holder: string, nowMs: number, untilMs: number): Promise<ClaimOutcome> {
    return claimStep(this.#t, incidentId, step, holder, nowMs, untilMs);
  }

  /** Records a claimed step's outcome and drops the claim. */
  recordClaimedStep(incidentId: string, step: string, holder: string, outcome: StepOutcome): Promise<void> {
    return recordClaimedStep(this.#t, incidentId, step, holder, outcome);
  }

  /** Finishes a delivery that left steps to others: a settled status is never overwritten by a lesser one. */
  finishDeferring(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
    return finishDeferringIncident(this.#t, incidentId, status, reason, now, isolatedAt);
  }

  /** Records follow-up `id` as the incident's scheduled one, unless another is on its way; true: send it. */
  reserveFollowUp(incidentId: string, request: FollowUpRequest): Promise<boolean> {
    return reserveFollowUp(this.#t, incidentId, request);
  }

  /** Forgets follow-up `id` (delivered, nothing left pending; or never sent). */
  releaseFollowUp(incidentId: string, id: string): Promise<void> {
    return releaseFollowUp(this.#t, incidentId, id);
  }

  async recordRejected(m: RejectedMessage): Promise<void> {
    await recordRejected(this.#t, m);
  }

  /** Returns how many deliveries of the finding the record counts (1: the first). */
  recordIgnored(f: IgnoredMessage): Promise<number> {
    return recordIgnored(this.#t, f);
  }

  /** The record of a message a function rejected, by its SQS message id (for `firebreak dlq list`). */
  rejected(messageId: string): Promise<RejectedRecord | undefined> {
    return getRejected(this.#t, messageId);
  }

  /** The record of a finding no playbook acts on (for `firebreak dlq list`). */
  ignored(accountId: string, findingId: string): Promise<IgnoredFindingRecord | undefined> {
    return getIgnored(this.#t, accountId, findingId);
  }

  recordNotification(target: NotificationTarget, n: NotificationRecord): Promise<void> {
    return recordNotification(this.#t, target, n);
  }

  beginRelease(p: BeginReleaseParams): Promise<BeginReleaseOutcome> {
    return beginRelease(this.#t, p);
  }

  recordReleaseStep(incidentId: string, claimId: string, name: string, outcome: StepOutcome): Promise<void> {
    return recordReleaseStep(this.#t, incidentId, claimId, name, outcome);
  }

  finishRelease(incidentId: string, claimId: string, p: FinishReleaseParams): Promise<void> {
    return finishRelease(this.#t, incidentId, claimId, p);
  }

  list(): Promise<LedgerRecord[]> {
    return listRecords(this.#t);
  }
}

export { LEDGER_IAM_ACTIONS } from './table.ts';
export type { LedgerTable } from './table.ts';
export type { BlastRadiusWindow, SlotOutcome, WindowEntry } from './blast-radius.ts';
export { alreadyResumed, heldByPause, MAX_SUMMARY_CHARS } from './incidents.ts';
export type { BeginParams, LoadedState } from './incidents.ts';
export { RELEASE_STALE_AFTER_SECONDS } from './release-claim.ts';
export type { BeginReleaseOutcome, BeginReleaseParams, FinishReleaseParams } from './release-claim.ts';
export type { IgnoredMessage, RejectedMessage } from './rejections.ts';
export type { NotificationTarget } from './notifications.ts';
export { windowKey } from './records.ts';
export { claimAttribute, type ClaimOutcome, type StepClaim } from './step-claims.ts';
export { FOLLOW_UP_GRACE_SECONDS, type FollowUpMarker, type FollowUpRequest } from './follow-ups.ts';
export { bucketKey, type BucketRate } from './token-bucket.ts';
export { relatedKey } from './related.ts';
export { relianceKey, type LetGo, type RelianceState } from './reliance.ts';
export {
  boundedReasons,
  INCIDENT_RECORD_VERSION,
  incidentRecordOf,
  MAX_REASON_CHARS,
  MAX_REJECTION_REASONS,
} from './records.ts';
export type { DerivedLink, IgnoredFindingRecord, IncidentRecord, LedgerRecord, NotificationRecord, RedeliveryRecord, RejectedRecord, ReleaseAttempt, ReleaseRecord } from './records.ts';
