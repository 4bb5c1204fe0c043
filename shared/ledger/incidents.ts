import { BatchGetCommand, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import { budgetOrigin, type FindingOrigin, type Incident } from '../findings/index.ts';
import type { GateResult, IncidentStatus, Mode, StepOutcome } from '../vocabulary/index.ts';
import { takeSlot, windowOf, type BlastRadiusWindow, type SlotOutcome } from './blast-radius.ts';
import { INCIDENT_RECORD_VERSION, incidentKey, incidentRecordOf, V1_INCIDENT_ATTRIBUTES, windowKey, type DerivedLink, type IncidentRecord } from './records.ts';
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
export async function loadIncident(t: LedgerTable, incidentId: string, accountId: string, origin?: FindingOrigin): Promise<LoadedState> {
  // The window is the budget's: a redrive or resume passes the origin of the finding it re-delivers.
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
  const { incidentId, accountId } = p.incident;
  return takeSlot(t, updateFor, { incidentId, accountId, origin: budgetOrigin(p.incident) }, p.now, p.blastRadius, reread);
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
  names['#openedBy'] = 'openedBy';
  values[':openedBy'] = budgetOrigin(i);
  parts.push(
    '#openedBy = if_not_exists(#openedBy, :openedBy)',
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
  if (i.derivedFrom) {
    names['#derivedFrom'] = 'derivedFrom';
    values[':derivedFrom'] = i.derivedFrom;
    parts.push('#derivedFrom = if_not_exists(#derivedFrom, :derivedFrom)');
  }
  if (i.redelivery) {
    names['#redeliveries'] = 'redeliveries';
    values[':redelivery'] = [{ origin: i.redelivery.origin, requestedBy: i.redelivery.requestedBy, at: p.now.toISOString(), messageId: p.messageId }];
    values[':noRedeliveries'] = [];
    parts.push('#redeliveries = list_append(if_not_exists(#redeliveries, :noRedeliveries), :redelivery)');
  }
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
export async function finishIncident(
  t: LedgerTable,
  incidentId: string,
  status: IncidentStatus,
  reason: string,
  now: Date,
  isolatedAt?: string,
  options: FinishOptions = {},
): Promise<void> {
  const values: Record<string, unknown> = { ':s': status, ':r': reason, ':f': now.toISOString() };
  let expr = 'SET #status = :s, statusReason = :r, finishedAt = :f';
  if (isolatedAt) {
    expr += ', isolatedAt = if_not_exists(isolatedAt, :i)';
    values[':i'] = isolatedAt;
  }
  // By default a delivery that started before a responder released the incident must not
  // write `contained` over `released` when it finishes.
  const kept = options.mustNotOverwrite ?? (status === 'released' ? [] : ['released']);
  kept.forEach((s) => (values[`:${s}`] = s));
  const condition =
    kept.length === 0
      ? undefined
      : kept.length === 1
        ? `attribute_not_exists(#status) OR #status <> :${kept[0]}`
        : `attribute_not_exists(#status) OR NOT (#status IN (${kept.map((s) => `:${s}`).join(', ')}))`;
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: expr,
        ...(condition ? { ConditionExpression: condition } : {}),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
    // The status was kept; the isolation time may still be worth recording.
    if (isolatedAt && options.keepIsolationTime) {
      await t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET isolatedAt = if_not_exists(isolatedAt, :i)',
          ExpressionAttributeValues: { ':i': isolatedAt },
        }),
      );
    }
  }
}

/** How {@link finishIncident} guards what it writes. */
export interface FinishOptions {
  /** Statuses the write must leave as they are (default: `released`, unless it writes `released` itself). */
  mustNotOverwrite?: readonly IncidentStatus[];
  /** When the status was left as it was, still record the isolation time (if none is recorded). */
  keepIsolationTime?: boolean;
}

/**
 * Links a derived incident to the one it came from (the source's `derived` map, and for a
 * generation its `nextGeneration`). Idempotent. Returns false, writing nothing, when the source
 * incident is not in the ledger.
 */
export async function linkDerived(t: LedgerTable, sourceIncidentId: string, derivedIncidentId: string, link: DerivedLink): Promise<boolean> {
  const ensureMap = async () => {
    try {
      await t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: incidentKey(sourceIncidentId),
          UpdateExpression: 'SET #derived = if_not_exists(#derived, :empty)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#derived': 'derived' },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
      return true;
    } catch (error) {
      if (hasErrorCode(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  };
  if (!(await ensureMap())) return false;
  const names: Record<string, string> = { '#derived': 'derived', '#id': derivedIncidentId };
  const values: Record<string, unknown> = { ':link': link };
  let expr = 'SET #derived.#id = if_not_exists(#derived.#id, :link)';
  if (link.kind === 'generation') {
    names['#next'] = 'nextGeneration';
    values[':next'] = derivedIncidentId;
    expr += ', #next = if_not_exists(#next, :next)';
  }
  await t.db.send(new UpdateCommand({ TableName: t.table, Key: incidentKey(sourceIncidentId), UpdateExpression: expr, ExpressionAttributeNames: names, ExpressionAttributeValues: values }));
  return true;
}

/** Whether an incident is held because the deployment was paused (not by the blast-radius limit). */
export function heldByPause(record: Pick<IncidentRecord, 'status' | 'gates'>): boolean {
  return record.status === 'held' && (record.gates ?? []).some((g) => g.gate === 'not-paused' && !g.passed);
}

/** Whether `firebreak resume` already re-published the incident since it was last held. */
export function alreadyResumed(record: Pick<IncidentRecord, 'resumeRequest' | 'lastSeenAt'>): boolean {
  return record.resumeRequest !== undefined && record.resumeRequest.at >= record.lastSeenAt;
}

/**
 * Records that `firebreak resume` re-published the incident, if it is still held and was not
 * re-published since it was last held. Returns whether it recorded.
 */
export async function recordResumeRequest(t: LedgerTable, incidentId: string, request: { at: string; by: string; eventId: string }): Promise<boolean> {
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET #resume = :resume',
        ConditionExpression: '#status = :held AND (attribute_not_exists(#resume) OR #resume.#at < #lastSeenAt)',
        ExpressionAttributeNames: { '#resume': 'resumeRequest', '#status': 'status', '#at': 'at', '#lastSeenAt': 'lastSeenAt' },
        ExpressionAttributeValues: { ':resume': request, ':held': 'held' },
      }),
    );
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'ConditionalCheckFailedException')) return false;
    throw error;
  }
}
