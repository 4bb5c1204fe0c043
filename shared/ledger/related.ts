import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { LedgerTable } from './table.ts';

/** The ledger item that gathers the incidents sharing one key (a principal, an access key): `related#<key>`. */
export const relatedKey = (key: string) => ({ pk: `related#${key}`, sk: 'related' });

/**
 * Adds the incident to the set of incidents sharing `key` (e.g. `principal#111122223333#arn:aws:iam::…:user/alice`,
 * `access-key#AKIA…`) and returns the others, so each incident about a principal links to the
 * rest. Idempotent (a set).
 */
export async function relateIncident(t: LedgerTable, key: string, incidentId: string): Promise<string[]> {
  const out = await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: relatedKey(key),
      UpdateExpression: 'ADD incidents :me SET kind = :kind, relatedBy = :key',
      ExpressionAttributeValues: { ':me': new Set([incidentId]), ':kind': 'related', ':key': key },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const all = (out.Attributes?.incidents as Set<string> | string[] | undefined) ?? [];
  return [...all].filter((id) => id !== incidentId).sort();
}
