import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { incidentRecordOf, type LedgerRecord } from './records.ts';
import type { LedgerTable } from './table.ts';

/** Every incident (upgraded to the current version), rejected and ignored message: for the CLI and tests, never the functions. */
export async function listRecords(t: LedgerTable): Promise<LedgerRecord[]> {
  const records: LedgerRecord[] = [];
  for await (const page of paginateScan({ client: t.db }, { TableName: t.table, ConsistentRead: true })) {
    for (const item of page.Items ?? []) {
      if (item.kind === 'incident') records.push(incidentRecordOf(item)!);
      else if (item.kind === 'rejected' || item.kind === 'ignored') records.push(item as LedgerRecord);
    }
  }
  return records;
}
