import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { LedgerTable } from './table.ts';

/** A token bucket's rate: `ratePerSecond` tokens come back every second, at most `burst` are kept. */
export interface BucketRate {
  ratePerSecond: number;
  burst: number;
}

/** The ledger item of one token bucket (e.g. `rate#cloudtrail-lookup#111122223333#us-east-1`). */
export const bucketKey = (name: string) => ({ pk: `rate#${name}`, sk: 'bucket' });

const MAX_CONFLICTS = 8;

/**
 * Takes one token from a bucket shared by every function of the deployment (an item of the
 * ledger table), or says how long to wait for one. Concurrent takers serialise on the item's
 * `at` (a conditional write), so the rate holds across functions and warm containers: 0 means
 * the token was taken, a positive number is the wait in milliseconds before the next one.
 */
export async function takeToken(t: LedgerTable, name: string, rate: BucketRate, nowMs: number): Promise<number> {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt += 1) {
    const out = await t.db.send(new GetCommand({ TableName: t.table, Key: bucketKey(name), ConsistentRead: true }));
    const item = out.Item as { tokens?: number; at?: number } | undefined;
    const elapsed = item?.at === undefined ? Infinity : Math.max(0, nowMs - item.at) / 1000;
    const tokens = Math.min(rate.burst, (item?.tokens ?? rate.burst) + elapsed * rate.ratePerSecond);
    if (tokens < 1) return Math.ceil(((1 - tokens) / rate.ratePerSecond) * 1000);
    try {
      await t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: bucketKey(name),
          UpdateExpression: 'SET tokens = :tokens, #at = :now, expiresAt = :expires',
          ConditionExpression: item?.at === undefined ? 'attribute_not_exists(pk)' : '#at = :previous',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: {
            ':tokens': tokens - 1,
            ':now': nowMs,
            // The ledger's TTL removes buckets nobody has used for a day.
            ':expires': Math.floor(nowMs / 1000) + 86_400,
            ...(item?.at === undefined ? {} : { ':previous': item.at }),
          },
        }),
      );
      return 0;
    } catch (error) {
      if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
      // Another taker moved the bucket between our read and write: read it again.
    }
  }
  // Heavy contention: back off as if the bucket were empty.
  return Math.ceil(1000 / rate.ratePerSecond);
}
