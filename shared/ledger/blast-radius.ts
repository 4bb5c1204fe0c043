import { TransactWriteCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { FindingOrigin } from '../findings/index.ts';
import { windowKey } from './records.ts';
import type { LedgerTable } from './table.ts';

/** One containment counted against the per-account limit. */
export interface WindowEntry {
  incidentId: string;
  at: number;
}

/** The per-account sliding window of containments; `version` serialises concurrent writers. */
export interface BlastRadiusWindow {
  version: number;
  entries: WindowEntry[];
}

export interface BlastRadiusLimit {
  limit: number;
  windowSeconds: number;
  /** The window as the caller read it (with the incident record, in one call). */
  window: BlastRadiusWindow;
}

export type SlotOutcome = 'taken' | 'already-held' | 'limit-reached' | 'not-needed';

/**
 * Every containment in an account writes one window item, so a storm of findings contends on
 * it: each round of conflicting writers lets one through. Enough rounds for the concurrency the
 * functions run at (max_concurrency × batch_size), with jittered pauses so the rounds spread.
 */
export const MAX_SLOT_ATTEMPTS = 25;
const slotBackoffMs = (attempt: number) => Math.random() * Math.min(100, 5 * 2 ** attempt);

/**
 * Applies the incident update and, in the same transaction, takes a slot in the account's
 * blast-radius window — unless the incident already holds one or the window is full (then
 * only the update is applied). Concurrent containments in one account serialise on the
 * window item's version, so the limit holds exactly.
 */
export async function takeSlot(
  t: LedgerTable,
  /** The incident update, with (`true`) or without the slot's `blastRadiusSlotAt`. */
  updateFor: (withSlot: boolean) => UpdateCommandInput,
  /** `origin`: the budget it counts against (the finding's origin; a re-delivery's is the finding it re-delivers). */
  incident: { incidentId: string; accountId: string; origin?: FindingOrigin },
  now: Date,
  br: BlastRadiusLimit,
  reread: () => Promise<BlastRadiusWindow>,
): Promise<SlotOutcome> {
  let window = br.window;
  for (let attempt = 1; ; attempt++) {
    const cutoff = now.getTime() - br.windowSeconds * 1000;
    const live = window.entries.filter((e) => e.at > cutoff);
    const held = live.some((e) => e.incidentId === incident.incidentId);
    if (held || live.length >= br.limit) {
      await t.db.send(new UpdateCommand(updateFor(false)));
      return held ? 'already-held' : 'limit-reached';
    }
    try {
      await t.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: updateFor(true) as never },
            {
              Put: {
                TableName: t.table,
                Item: { ...windowKey(incident.accountId, incident.origin), kind: 'blast-radius-window', version: window.version + 1, entries: [...live, { incidentId: incident.incidentId, at: now.getTime() }] },
                ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
                ExpressionAttributeValues: { ':v': window.version },
              },
            },
          ],
        }),
      );
      return 'taken';
    } catch (error) {
      if (!hasErrorCode(error, 'TransactionCanceledException', 'ConditionalCheckFailedException') || attempt >= MAX_SLOT_ATTEMPTS) throw error;
      // Another containment in this account took a slot first: re-read and re-decide.
      await new Promise((r) => setTimeout(r, slotBackoffMs(attempt)));
      window = await reread();
    }
  }
}

/** The window as stored (an absent item is an empty window at version 0). */
export function windowOf(item: Record<string, unknown> | undefined): BlastRadiusWindow {
  return { version: Number(item?.version ?? 0), entries: (item?.entries as WindowEntry[] | undefined) ?? [] };
}
