import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The ledger's DynamoDB table, as every ledger job reaches it. */
export interface LedgerTable {
  db: DynamoDBDocumentClient;
  table: string;
}

/** IAM actions the functions need on the ledger table. */
export const LEDGER_IAM_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] as const;

/** `SET #a0 = :a0, …` for the given attributes, with their names and values added to the maps. */
export function setClauses(set: Record<string, unknown>, names: Record<string, string>, values: Record<string, unknown>, prefix = 'a', path = ''): string[] {
  return Object.entries(set).map(([k, v]) => {
    names[`#${prefix}_${k}`] = k;
    values[`:${prefix}_${k}`] = v;
    return `${path}#${prefix}_${k} = :${prefix}_${k}`;
  });
}
