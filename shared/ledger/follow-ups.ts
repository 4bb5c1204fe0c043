/**
 * One follow-up per incident: a delivery that leaves steps pending re-queues its message,
 * delayed, to look at them again. Ten copies of a finding (GuardDuty re-publishing it, SQS
 * delivering twice) would each queue one; the incident record says which follow-up is
 * scheduled, and a delivery queues another only when none is — or when it is that follow-up.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import { incidentKey } from './records.ts';
import type { LedgerTable } from './table.ts';

/** The follow-up an incident has scheduled, on its record (`followUp`). */
export interface FollowUpMarker {
  /** Carried by the follow-up message (a message attribute): its delivery may schedule the next one. */
  id: string;
  /** When SQS makes it visible (ISO). */
  dueAt: string;
  /** Epoch milliseconds after which it is presumed lost (due + {@link FOLLOW_UP_GRACE_SECONDS}): another delivery may schedule one. */
  staleAt: number;
  scheduledAt: string;
}

/**
 * How long after it was due a scheduled follow-up still counts as on its way. It may wait
 * in a queue behind a storm of findings, or for a visibility timeout after a throttled
 * delivery; GuardDuty's own re-publications resume an incident whose follow-up was lost.
 */
export const FOLLOW_UP_GRACE_SECONDS = 900;

export interface FollowUpRequest {
  id: string;
  dueAt: Date;
  now: Date;
  /** The follow-up being delivered now (its id), which may schedule its successor. */
  replacing?: string;
}

/**
 * Records that the incident has follow-up `id` scheduled, unless another is (and is neither
 * the one being delivered nor presumed lost). Returns whether this delivery should send it.
 */
export async function reserveFollowUp(t: LedgerTable, incidentId: string, r: FollowUpRequest): Promise<boolean> {
  const marker: FollowUpMarker = { id: r.id, dueAt: r.dueAt.toISOString(), staleAt: r.dueAt.getTime() + FOLLOW_UP_GRACE_SECONDS * 1000, scheduledAt: r.now.toISOString() };
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET #followUp = :marker',
        // `#followUp.#id = :id`: this very reservation, written by an attempt whose answer was lost
        // and retried by the SDK (UpdateItem has no idempotency token), is this delivery's to send.
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#followUp) OR #followUp.#id IN (:replacing, :id) OR #followUp.#staleAt < :now)',
        ExpressionAttributeNames: { '#followUp': 'followUp', '#id': 'id', '#staleAt': 'staleAt' },
        ExpressionAttributeValues: { ':marker': marker, ':replacing': r.replacing ?? '', ':id': r.id, ':now': r.now.getTime() },
      }),
    );
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'ConditionalCheckFailedException')) return false;
    throw error;
  }
}

/** Forgets follow-up `id` (delivered with nothing left pending, or never sent); another's marker is left alone. */
export async function releaseFollowUp(t: LedgerTable, incidentId: string, id: string): Promise<void> {
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'REMOVE #followUp',
        ConditionExpression: '#followUp.#id = :id',
        ExpressionAttributeNames: { '#followUp': 'followUp', '#id': 'id' },
        ExpressionAttributeValues: { ':id': id },
      }),
    );
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
  }
}
