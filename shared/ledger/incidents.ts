import { BatchGetCommand, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { Incident } from '../findings/index.ts';
import type { GateResult, IncidentStatus, Mode, StepOutcome } from '../vocabulary/index.ts';
import { takeSlot, windowOf, type BlastRadiusWindow, type SlotOutcome } from './blast-radius.ts';
import { INCIDENT_RECORD_VERSION, incidentKey, incidentRecordOf, V1_INCIDENT_ATTRIBUTES, windowKey, type IncidentRecord } from './records.ts';
import { setClauses, type LedgerTable } from './table.ts';

export interface LoadedState {
  record?: IncidentRecord;
  window: BlastRadiusWindow;
}

export interface BeginParams {
  incident: Incident;
  mode: Mode;
  messageId: string;
  /** The SQS SenderId of the message (a function role's unique id for a follow-up; AWS's own for EventBridge). */
  senderId?: string;
  now: Date;
  capture?: Record<string, unknown>;
  gates: GateResult[];
  /** Take a blast-radius slot (a containment) unless this incident already holds one. */
  blastRadius?: { limit: number; windowSeconds: number; window: BlastRadiusWindow };
}

/** A step summary longer than this is cut: the record stays far below DynamoDB's 400 KB item limit. */
export const MAX_SUMMARY_CHARS = 4000;

/** Reads the incident record and the account's blast-radius window in one call. */
export async function loadIncident(t: LedgerTable, incidentId: string, accountId: string, origin?: string): Promise<LoadedState> {
  const keys = [incidentKey(incidentId), windowKey(accountId, origin)];
  const out = await t.db.send(new BatchGetCommand({ RequestItems: { [t.table]: { Keys: keys, ConsistentRead: true } } }));
  let items = out.Responses?.[t.table] ?? [];
  if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) {
    const rest = await Promise.all(keys.map((Key) => t.db.send(new GetCommand({ TableName: t.table, Key, ConsistentRead: true }))));
    items = rest.flatMap((r) => (r.Item ? [r.Item] : []));
  }
  const record = incidentRecordOf(items.find((i) => i.pk === incidentKey(incidentId).pk));
  return { ...(record ? { record } : {}), window: windowOf(items.find((i) => i.pk === windowKey(accountId, origin).pk)) };
}

/** The incident record, upgraded to the current version, or undefined. */
export async function getIncident(t: LedgerTable, incidentId: string): Promise<IncidentRecord | undefined> {
  const out = await t.db.send(new GetCommand({ TableName: t.table, Key: incidentKey(incidentId), ConsistentRead: true }));
  return incidentRecordOf(out.Item);
}

/**
 * Opens (or updates) the incident record for this delivery, keeps the first capture, and
 * — when asked — atomically takes a blast-radius slot in the same transaction.
 */
export async function beginIncident(t: LedgerTable, p: BeginParams, reread: () => Promise<BlastRadiusWindow>): Promise<SlotOutcome> {
  const updateFor = (withSlot: boolean) => openIncidentUpdate(t, p, withSlot);
  if (!p.blastRadius) {
    await t.db.send(new UpdateCommand(updateFor(false)));
    return 'not-needed';
  }
  return takeSlot(t, updateFor, p.incident, p.now, p.blastRadius, reread);
}

function openIncidentUpdate(t: LedgerTable, p: BeginParams, withSlot: boolean): UpdateCommandInput {
  const i = p.incident;
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':now': p.now.toISOString(), ':one': 1, ':zero': 0, ':empty': {}, ':received': 'received' };
  const parts = setClauses(
    {
      kind: 'incident',
      schemaVersion: INCIDENT_RECORD_VERSION,
      incidentId: i.incidentId,
      playbook: i.playbook,
      incident: i,
      mode: p.mode,
      gates: p.gates,
      lastSeenAt: p.now.toISOString(),
      lastMessageId: p.messageId,
      ...(p.senderId ? { lastSenderId: p.senderId } : {}),
    },
    names,
    values,
  );
  parts.push(
    'firstSeenAt = if_not_exists(firstSeenAt, :now)',
    'steps = if_not_exists(steps, :empty)',
    '#status = if_not_exists(#status, :received)',
    'deliveries = if_not_exists(deliveries, :zero) + :one',
  );
  if (p.capture) {
    parts.push('capture = if_not_exists(capture, :capture)');
    values[':capture'] = p.capture;
  }
  if (withSlot) parts.push('blastRadiusSlotAt = if_not_exists(blastRadiusSlotAt, :now)');
  // A v1 record kept the incident flattened: once it is nested, those attributes go.
  const removed = V1_INCIDENT_ATTRIBUTES.map((a) => {
    names[`#v1_${a}`] = a;
    return `#v1_${a}`;
  });
  return {
    TableName: t.table,
    Key: incidentKey(i.incidentId),
    UpdateExpression: `SET ${parts.join(', ')} REMOVE ${removed.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Records one step's outcome (steps of a stage finish concurrently; each writes its own key). */
export async function recordStep(t: LedgerTable, incidentId: string, name: string, outcome: StepOutcome): Promise<void> {
  await t.db.send(
    new UpdateCommand({
      TableName: t.table,
      Key: incidentKey(incidentId),
      UpdateExpression: 'SET steps.#n = :o',
      ExpressionAttributeNames: { '#n': name },
      ExpressionAttributeValues: { ':o': boundedOutcome(outcome) },
    }),
  );
}

/** An outcome whose free text is bounded (a summary naming thousands of resources is cut, and says so). */
export function boundedOutcome(outcome: StepOutcome): StepOutcome {
  if (outcome.summary.length <= MAX_SUMMARY_CHARS) return outcome;
  return { ...outcome, summary: `${outcome.summary.slice(0, MAX_SUMMARY_CHARS)}… (${outcome.summary.length - MAX_SUMMARY_CHARS} more characters)` };
}

/**
 * Sets the incident's status after a delivery; `isolatedAt` is kept from the first
 * isolation. A released incident keeps its status (the write is skipped).
 */
export async function finishIncident(t: LedgerTable, incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
  const values: Record<string, unknown> = { ':s': status, ':r': reason, ':f': now.toISOString() };
  let expr = 'SET #status = :s, statusReason = :r, finishedAt = :f';
  if (isolatedAt) {
    expr += ', isolatedAt = if_not_exists(isolatedAt, :i)';
    values[':i'] = isolatedAt;
  }
  // A delivery that started before a responder released the incident must not write
  // `contained` over `released` when it finishes.
  const guarded = status !== 'released';
  if (guarded) values[':released'] = 'released';
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: expr,
        ...(guarded ? { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :released' } : {}),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
  }
}
