import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { ReleaseVia, StepOutcome } from '../vocabulary/index.ts';
import { boundedOutcome } from './incidents.ts';
import { incidentKey, incidentRecordOf, type IncidentRecord, type ReleaseAttempt, type ReleaseRecord } from './records.ts';
import { setClauses, type LedgerTable } from './table.ts';

/** A `releasing` claim idle for longer than this may be taken over (its run is presumed dead). */
export const RELEASE_STALE_AFTER_SECONDS = 15 * 60;

export interface BeginReleaseParams {
  incidentId: string;
  requestedBy: string;
  reason: string;
  reattach: boolean;
  via: ReleaseVia;
  /** A fresh id for this run; later writes are conditional on it. */
  claimId: string;
  now: Date;
  /** The release the caller read, when there is one: the claim succeeds only if it is unchanged. */
  seen?: { claimId: string };
  staleAfterSeconds?: number;
}

export type BeginReleaseOutcome = { claimed: true; record: IncidentRecord } | { claimed: false };

export interface FinishReleaseParams {
  status: 'released' | 'incomplete';
  now: Date;
  /** Who released it (for `released`). */
  releasedBy: string;
  summary: string;
  failures: string[];
  keptProtections: string[];
}

/**
 * Claims the release of an incident, so two releases never run at once. Succeeds only
 * if the incident exists, is not released, and the release the caller read (`seen`;
 * none for a first release) is still the ledger's and is either incomplete or a
 * `releasing` claim idle for longer than `staleAfterSeconds`. Earlier attempts' step
 * outcomes are kept. Returns the record as claimed, or `{ claimed: false }`.
 */
export async function beginRelease(t: LedgerTable, p: BeginReleaseParams): Promise<BeginReleaseOutcome> {
  const now = p.now.toISOString();
  const attempt: ReleaseAttempt = { requestedBy: p.requestedBy, reason: p.reason, reattach: p.reattach, requestedAt: now, via: p.via };
  const names: Record<string, string> = { '#status': 'status', '#release': 'release' };
  const values: Record<string, unknown> = { ':released': 'released' };
  let update: string;
  let condition = 'attribute_exists(pk) AND #status <> :released';
  if (!p.seen) {
    const release: ReleaseRecord = { ...attempt, status: 'releasing', claimId: p.claimId, attempts: [attempt], steps: {} };
    update = 'SET #release = :release';
    values[':release'] = release;
    condition += ' AND attribute_not_exists(#release)';
  } else {
    const parts = setClauses({ ...attempt, status: 'releasing', claimId: p.claimId }, names, values, 'r', '#release.');
    names['#attempts'] = 'attempts';
    names['#failures'] = 'failures';
    Object.assign(values, {
      ':attempt': [attempt],
      ':none': [],
      ':seen': p.seen.claimId,
      ':incomplete': 'incomplete',
      ':releasing': 'releasing',
      ':stale': new Date(p.now.getTime() - (p.staleAfterSeconds ?? RELEASE_STALE_AFTER_SECONDS) * 1000).toISOString(),
    });
    parts.push('#release.#attempts = list_append(if_not_exists(#release.#attempts, :none), :attempt)');
    update = `SET ${parts.join(', ')} REMOVE #release.#failures`;
    condition += ' AND #release.#r_claimId = :seen AND (#release.#r_status = :incomplete OR (#release.#r_status = :releasing AND #release.#r_requestedAt < :stale))';
  }
  try {
    const out = await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(p.incidentId),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { claimed: true, record: incidentRecordOf(out.Attributes)! };
  } catch (error) {
    if (hasErrorCode(error, 'ConditionalCheckFailedException')) return { claimed: false };
    throw error;
  }
}

/** Records one release step's outcome; refused (ConditionalCheckFailedException) once another run took the release over. */
export async function recordReleaseStep(t: LedgerTable, incidentId: string, claimId: string, name: string, outcome: StepOutcome): Promise<void> {
  await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: incidentKey(incidentId),
      UpdateExpression: 'SET #release.#steps.#n = :o',
      ConditionExpression: '#release.#claim = :claim',
      ExpressionAttributeNames: { '#release': 'release', '#steps': 'steps', '#claim': 'claimId', '#n': name },
      ExpressionAttributeValues: { ':o': boundedOutcome(outcome), ':claim': claimId },
    }),
  );
}

/**
 * Ends a release run: `released` sets the incident's status to released (who, when,
 * why); `incomplete` keeps the incident's status and lists the failed steps, which
 * the next release retries. Refused once another run took the release over.
 */
export async function finishRelease(t: LedgerTable, incidentId: string, claimId: string, p: FinishReleaseParams): Promise<void> {
  const now = p.now.toISOString();
  const set: Record<string, unknown> = { status: p.status, finishedAt: now, summary: p.summary, keptProtections: p.keptProtections, failures: p.failures };
  if (p.status === 'released') Object.assign(set, { releasedBy: p.releasedBy, releasedAt: now });
  const names: Record<string, string> = { '#release': 'release', '#claim': 'claimId' };
  const values: Record<string, unknown> = { ':claim': claimId };
  const parts = setClauses(set, names, values, 'r', '#release.');
  if (p.status === 'released') {
    names['#status'] = 'status';
    values[':released'] = 'released';
    values[':reason'] = p.summary;
    parts.push('#status = :released', 'statusReason = :reason');
  }
  await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: incidentKey(incidentId),
      UpdateExpression: `SET ${parts.join(', ')}`,
      ConditionExpression: '#release.#claim = :claim',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}
