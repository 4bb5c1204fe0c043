/**
 * One follow-up per incident. A delivery that leaves steps pending re-queues its message,
 * delayed, on the function's own queue — unless the incident already has a follow-up on its
 * way (the ledger says which: shared/ledger/follow-ups.ts). The follow-up message carries its
 * id as a message attribute, so that its own delivery may schedule the next one.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { Ledger } from '../ledger/index.ts';

/** The message attribute a follow-up carries: its id, as the incident records it. */
export const FOLLOW_UP_ATTRIBUTE = 'firebreak-follow-up';

/** SQS's longest message delay. */
const MAX_DELAY_SECONDS = 900;

export interface FollowUpDeps {
  sqs: Pick<SQSClient, 'send'>;
  ledger: Pick<Ledger, 'reserveFollowUp' | 'releaseFollowUp'>;
  queueUrl?: string;
  logger: Logger;
  now: () => Date;
}

/** The follow-up this record is, if it is one (its id). */
export const followUpIdOf = (record: SQSRecord): string | undefined => record.messageAttributes?.[FOLLOW_UP_ATTRIBUTE]?.stringValue || undefined;

/**
 * After a delivery: queues one follow-up for the incidents with steps pending, unless each
 * already has one on its way; and a follow-up that found nothing left pending forgets
 * itself, so the incident can have another later. Never throws: GuardDuty's re-publication
 * of the finding resumes the incident as well.
 */
export async function followUp(deps: FollowUpDeps, record: SQSRecord, pending: { delaySeconds: number; incidentIds: string[] } | undefined, delivered: string[]): Promise<void> {
  const replacing = followUpIdOf(record);
  try {
    if (!pending) {
      if (replacing) await Promise.all(delivered.map((incidentId) => deps.ledger.releaseFollowUp(incidentId, replacing)));
      return;
    }
    await scheduleOnce(deps, record, pending.delaySeconds, pending.incidentIds, replacing);
  } catch (error) {
    deps.logger.error('Could not schedule the follow-up delivery; pending steps resume when the finding is published again', { messageId: record.messageId, error: error as Error });
  }
}

async function scheduleOnce(deps: FollowUpDeps, record: SQSRecord, delaySeconds: number, incidentIds: string[], replacing: string | undefined): Promise<void> {
  if (!deps.queueUrl) {
    deps.logger.warn('Steps are pending but FIREBREAK_QUEUE_URL is not set: they resume when the finding is published again', { messageId: record.messageId });
    return;
  }
  const delay = Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(delaySeconds)));
  const id = randomUUID();
  const now = deps.now();
  const request = { id, dueAt: new Date(now.getTime() + delay * 1000), now, ...(replacing ? { replacing } : {}) };
  const reserved = await Promise.all(incidentIds.map((incidentId) => deps.ledger.reserveFollowUp(incidentId, request)));
  const mine = incidentIds.filter((_, n) => reserved[n]);
  if (mine.length === 0) {
    deps.logger.info('A follow-up delivery is already scheduled for the incident; none added', { messageId: record.messageId, incidentIds });
    return;
  }
  try {
    // Loaded here, not with the function: follow-ups come after containment (shared/aws/sdk).
    const { SendMessageCommand } = await import('../aws/sdk/client-sqs.ts');
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: record.body,
        DelaySeconds: delay,
        MessageAttributes: { [FOLLOW_UP_ATTRIBUTE]: { DataType: 'String', StringValue: id } },
      }),
    );
    deps.logger.info('Follow-up delivery scheduled', { messageId: record.messageId, delaySeconds, followUpId: id });
  } catch (error) {
    // Never sent: the incidents must not wait for it.
    await Promise.all(mine.map((incidentId) => deps.ledger.releaseFollowUp(incidentId, id)));
    throw error;
  }
}
