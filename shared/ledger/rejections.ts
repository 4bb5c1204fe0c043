import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cleanText } from '../findings/index.ts';
import { boundedReasons, ignoredKey, rejectedKey, MAX_PREVIEW_CHARS, RECORD_RETENTION_SECONDS, type IgnoredFindingRecord, type RejectedRecord } from './records.ts';
import { setClauses, type LedgerTable } from './table.ts';

export interface RejectedMessage {
  messageId: string;
  playbook: string;
  reasons: string[];
  body: string;
  receivedAt: string;
  /** The SQS SenderId of the message: who put it on the queue. */
  senderId?: string;
}

/** Keeps a message that was not a valid finding, with why (bounded), for the audit trail. */
export async function recordRejected(t: LedgerTable, m: RejectedMessage): Promise<RejectedRecord> {
  const item: RejectedRecord = {
    ...rejectedKey(m.messageId),
    kind: 'rejected',
    messageId: m.messageId,
    playbook: m.playbook,
    ...boundedReasons(m.reasons),
    bodySha256: createHash('sha256').update(m.body).digest('hex'),
    bodyPreview: cleanText(m.body, MAX_PREVIEW_CHARS),
    receivedAt: m.receivedAt,
    ...(m.senderId ? { senderId: m.senderId } : {}),
    expiresAt: Math.floor(Date.parse(m.receivedAt) / 1000) + RECORD_RETENTION_SECONDS,
  };
  await t.db.send(new PutCommand({ TableName: t.table, Item: item }));
  return item;
}

export type IgnoredMessage = Omit<IgnoredFindingRecord, 'pk' | 'sk' | 'kind' | 'status' | 'deliveries' | 'expiresAt' | 'notification'>;

/**
 * Records a well-formed finding no playbook acts on (a GuardDuty sample, a resource type
 * no playbook handles) as `skipped`, once per finding however often it is published.
 * Returns how many deliveries of the finding the record now counts (1: the first), so that
 * people are told about an unhandled finding once.
 */
export async function recordIgnored(t: LedgerTable, f: IgnoredMessage): Promise<number> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':one': 1, ':zero': 0 };
  const parts = setClauses(
    { ...f, kind: 'ignored', status: 'skipped', expiresAt: Math.floor(Date.parse(f.receivedAt) / 1000) + RECORD_RETENTION_SECONDS },
    names,
    values,
  );
  parts.push('deliveries = if_not_exists(deliveries, :zero) + :one');
  const out = await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: ignoredKey(f.accountId, f.findingId),
      UpdateExpression: `SET ${parts.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  // DynamoDB always returns what it updated; should a store not, telling twice beats never.
  const deliveries = Number(out.Attributes?.deliveries);
  return Number.isInteger(deliveries) && deliveries > 0 ? deliveries : 1;
}

/** The ledger's record of a message a function rejected (`firebreak dlq list` joins a DLQ message to it by message id), or undefined. */
export async function getRejected(t: LedgerTable, messageId: string): Promise<RejectedRecord | undefined> {
  const out = await t.db.send(new GetCommand({ TableName: t.table, Key: rejectedKey(messageId), ConsistentRead: true }));
  return out.Item?.kind === 'rejected' ? (out.Item as RejectedRecord) : undefined;
}

/** The ledger's record of a finding no playbook acts on (a sample, an unhandled type), or undefined. */
export async function getIgnored(t: LedgerTable, accountId: string, findingId: string): Promise<IgnoredFindingRecord | undefined> {
  const out = await t.db.send(new GetCommand({ TableName: t.table, Key: ignoredKey(accountId, findingId), ConsistentRead: true }));
  return out.Item?.kind === 'ignored' ? (out.Item as IgnoredFindingRecord) : undefined;
}
