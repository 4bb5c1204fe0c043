import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import { cleanText } from '../findings/index.ts';
import { ignoredKey, incidentKey, MAX_REASON_CHARS, type NotificationRecord } from './records.ts';
import type { LedgerTable } from './table.ts';

/** The record a notification was about: an incident, or a finding no playbook handles. */
export type NotificationTarget = { incidentId: string } | { ignoredFinding: { accountId: string; findingId: string } };

/**
 * Keeps, on the record it was about, the latest notification: published (with SNS's message
 * id) or not (with why), so that `firebreak incidents` shows whether people were told. Only
 * an existing record is updated: a notification never creates one.
 */
export async function recordNotification(t: LedgerTable, target: NotificationTarget, n: NotificationRecord): Promise<void> {
  const Key = 'incidentId' in target ? incidentKey(target.incidentId) : ignoredKey(target.ignoredFinding.accountId, target.ignoredFinding.findingId);
  const notification: NotificationRecord = {
    status: n.status,
    at: n.at,
    published: n.published,
    ...(n.messageId ? { messageId: cleanText(n.messageId, 128) } : {}),
    ...(n.error ? { error: { code: cleanText(n.error.code, 128), message: cleanText(n.error.message, MAX_REASON_CHARS) } } : {}),
  };
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key,
        UpdateExpression: 'SET #notification = :n',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#notification': 'notification' },
        ExpressionAttributeValues: { ':n': notification },
      }),
    );
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
  }
}
