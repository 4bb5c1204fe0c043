import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { LedgerTable } from './table.ts';

/**
 * The ledger item counting the open incidents that rely on one shared setting (a detector-wide
 * GuardDuty setting, say): `reliance#<key>`. It holds the set of incidents relying on it, the
 * value to restore once none does (`restoreTo`, set only by an incident that changed the
 * setting, kept from the first such change), and which releasing incident claimed that restore.
 */
export const relianceKey = (key: string) => ({ pk: `reliance#${key}`, sk: 'reliance' });

/** What {@link rely} and {@link reliance} read back. */
export interface RelianceState {
  /** Every incident relying on the setting now. */
  incidents: string[];
  /** The setting's value before Firebreak changed it, when an incident changed it and no release has restored it since. */
  restoreTo?: string;
}

/** What {@link letGo} found once the incident stopped relying on the setting. */
export interface LetGo extends RelianceState {
  /**
   * True when this incident was the last to rely on the setting and it claimed the restore:
   * restore `restoreTo`, then call {@link restored} (which says whether someone came to rely on
   * it meanwhile). False: others rely on it, nothing is to restore, or another release claimed it.
   */
  claimed: boolean;
}

const setOf = (value: unknown): string[] => [...((value as Set<string> | string[] | undefined) ?? [])].sort();

const stateOf = (item: Record<string, unknown> | undefined): RelianceState => ({
  incidents: setOf(item?.incidents),
  ...(typeof item?.restoreTo === 'string' ? { restoreTo: item.restoreTo } : {}),
});

/**
 * Counts `incidentId` among the incidents relying on the setting `key` (idempotent: a set). With
 * `restoreTo`, the incident changed the setting from that value: it is kept unless an earlier
 * change already recorded the value from before Firebreak (the first change's is the truth).
 * Call it before reading the setting: a release that restores concurrently then either sees this
 * incident, or restores before the read (and the incident sees the setting off and turns it on).
 */
export async function rely(t: LedgerTable, key: string, incidentId: string, restoreTo?: string): Promise<RelianceState> {
  const out = await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: relianceKey(key),
      UpdateExpression: `ADD incidents :me SET kind = :kind, relianceKey = :key${restoreTo !== undefined ? ', restoreTo = if_not_exists(restoreTo, :restoreTo)' : ''}`,
      ExpressionAttributeValues: { ':me': new Set([incidentId]), ':kind': 'reliance', ':key': key, ...(restoreTo !== undefined ? { ':restoreTo': restoreTo } : {}) },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return stateOf(out.Attributes);
}

/** The incidents relying on the setting now, and the value to restore (a consistent read). */
export async function reliance(t: LedgerTable, key: string): Promise<RelianceState> {
  const out = await t.db.send(new GetCommand({ TableName: t.table, Key: relianceKey(key), ConsistentRead: true }));
  return stateOf(out.Item);
}

/**
 * Removes `incidentId` from the incidents relying on the setting and, when none is left and a
 * value is to be restored, claims the restore for it — atomically, on the condition that nobody
 * relies on it (DynamoDB removes an emptied set), so two releases never both restore, and a
 * release never restores under an incident that has just come to rely on it. The same incident
 * may claim again (a release retried after a failure).
 */
export async function letGo(t: LedgerTable, key: string, incidentId: string): Promise<LetGo> {
  const out = await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: relianceKey(key),
      UpdateExpression: 'DELETE incidents :me SET kind = :kind, relianceKey = :key',
      ExpressionAttributeValues: { ':me': new Set([incidentId]), ':kind': 'reliance', ':key': key },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const after = stateOf(out.Attributes);
  if (after.incidents.length > 0 || after.restoreTo === undefined) return { ...after, claimed: false };
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: relianceKey(key),
        UpdateExpression: 'SET restoreClaimedBy = :me',
        ConditionExpression: 'attribute_not_exists(incidents) AND attribute_exists(restoreTo) AND (attribute_not_exists(restoreClaimedBy) OR restoreClaimedBy = :me)',
        ExpressionAttributeValues: { ':me': incidentId },
      }),
    );
    return { ...after, claimed: true };
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
    return { ...(await reliance(t, key)), claimed: false };
  }
}

/**
 * After restoring a claimed setting: when still nobody relies on it, forgets the value to restore
 * and the claim (returns true). When an incident came to rely on it between the claim and now,
 * only the claim goes (returns false): the caller must turn the setting back on for it, and the
 * value from before Firebreak stays recorded for the last release.
 */
export async function restored(t: LedgerTable, key: string, incidentId: string): Promise<boolean> {
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: relianceKey(key),
        UpdateExpression: 'REMOVE restoreTo, restoreClaimedBy',
        ConditionExpression: 'attribute_not_exists(incidents) AND restoreClaimedBy = :me',
        ExpressionAttributeValues: { ':me': incidentId },
      }),
    );
    return true;
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: relianceKey(key),
        UpdateExpression: 'REMOVE restoreClaimedBy',
        ConditionExpression: 'restoreClaimedBy = :me',
        ExpressionAttributeValues: { ':me': incidentId },
      }),
    ).catch((e: unknown) => {
      if (!hasErrorCode(e, 'ConditionalCheckFailedException')) throw e;
    });
    return false;
  }
}
