/**
 * Step claims: SQS delivers at least once, so one message can run in two invocations at
 * the same time, and GuardDuty's re-publications of a finding arrive together. A step runs
 * in one delivery at a time: the delivery that runs it first claims it on the incident
 * record (a conditional write), holds the claim until its invocation's deadline (a lease: a
 * holder that crashed stops blocking the step once Lambda has ended it for certain), and
 * records the step's outcome and drops the claim in one write.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { IncidentStatus, StepOutcome } from '../vocabulary/index.ts';
import { boundedOutcome, finishIncident } from './incidents.ts';
import { incidentKey } from './records.ts';
import type { LedgerTable } from './table.ts';

/** A delivery's hold on one step of an incident. */
export interface StepClaim {
  /** The delivery holding it (unique per delivery, not per message: one message can run twice). */
  holder: string;
  /** Epoch milliseconds after which the claim is void (the holder's invocation has ended). */
  until: number;
  /** When it was claimed (ISO). */
  at: string;
}

/**
 * Claimed, with the step's outcome as the ledger has it now (another delivery may have recorded
 * it since this one read the record: a pending snapshot's ids, say); or why not: it is finished
 * (its outcome), or another delivery holds it.
 */
export type ClaimOutcome = { claimed: true; current?: StepOutcome } | { claimed: false; done: StepOutcome } | { claimed: false; heldBy: StepClaim };

/**
 * The record attribute of a step's claim. A top-level attribute per step, not a map: a map
 * would have to exist before one of its keys is set, which no single update can guarantee.
 */
export const claimAttribute = (step: string) => `claim:${step}`;

/** Attempts at a claim whose holder let go between the failed write and the read that explains it. */
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Claims `step` of the incident for `holder` until `untilMs`, unless the step is done or
 * another delivery's claim on it is still live. A holder may renew its own claim.
 */
export async function claimStep(t: LedgerTable, incidentId: string, step: string, holder: string, nowMs: number, untilMs: number): Promise<ClaimOutcome> {
  const claim: StepClaim = { holder, until: untilMs, at: new Date(nowMs).toISOString() };
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await t.db.send(
        new UpdateCommand({
          TableName: t.table,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET #claim = :claim',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(#steps.#step) OR #steps.#step.#status <> :done) AND (attribute_not_exists(#claim) OR #claim.#until < :now OR #claim.#holder = :holder)',
          ExpressionAttributeNames: { '#claim': claimAttribute(step), '#steps': 'steps', '#step': step, '#status': 'status', '#until': 'until', '#holder': 'holder' },
          ExpressionAttributeValues: { ':claim': claim, ':done': 'done', ':now': nowMs, ':holder': holder },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const current = (out.Attributes?.steps as Record<string, StepOutcome> | undefined)?.[step];
      return { claimed: true, ...(current ? { current } : {}) };
    } catch (error) {
      if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
      const why = await whyNotClaimed(t, incidentId, step, nowMs);
      if (why) return why;
      // Nothing stands in the way any more (the holder let go in between): try again.
      if (attempt >= MAX_CLAIM_ATTEMPTS) throw error;
    }
  }
}

async function whyNotClaimed(t: LedgerTable, incidentId: string, step: string, nowMs: number): Promise<ClaimOutcome | undefined> {
  const out = await t.db.send(new GetCommand({ TableName: t.table, Key: incidentKey(incidentId), ConsistentRead: true }));
  const item = out.Item;
  if (!item) throw new Error(`cannot claim step ${step}: incident ${incidentId} is not in the ledger (it is opened before any step runs)`);
  const outcome = (item.steps as Record<string, StepOutcome> | undefined)?.[step];
  if (outcome?.status === 'done') return { claimed: false, done: outcome };
  const held = item[claimAttribute(step)] as StepClaim | undefined;
  if (held && held.until >= nowMs) return { claimed: false, heldBy: held };
  return undefined;
}

/**
 * Records the outcome of a claimed step and drops the claim in one write. If the claim is
 * no longer this holder's (its lease ran out — which a Lambda invocation cannot outlive), the
 * outcome is still recorded unless it would overwrite a finished one.
 */
export async function recordClaimedStep(t: LedgerTable, incidentId: string, step: string, holder: string, outcome: StepOutcome): Promise<void> {
  const names = { '#steps': 'steps', '#step': step };
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET #steps.#step = :outcome REMOVE #claim',
        ConditionExpression: '#claim.#holder = :holder',
        ExpressionAttributeNames: { ...names, '#claim': claimAttribute(step), '#holder': 'holder' },
        ExpressionAttributeValues: { ':outcome': boundedOutcome(outcome), ':holder': holder },
      }),
    );
    return;
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
  }
  try {
    await t.db.send(
      new UpdateCommand({
        TableName: t.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET #steps.#step = :outcome',
        ConditionExpression: 'attribute_not_exists(#steps.#step) OR #steps.#step.#status <> :done',
        ExpressionAttributeNames: { ...names, '#status': 'status' },
        ExpressionAttributeValues: { ':outcome': boundedOutcome(outcome), ':done': 'done' },
      }),
    );
  } catch (error) {
    if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
  }
}

/** Statuses a delivery that left steps to another delivery must not overwrite: it saw less than the one that wrote them. */
const SETTLED: readonly IncidentStatus[] = ['contained', 'failed', 'released'];

/**
 * Finishes a delivery that left some steps to other deliveries (they held them): its view of
 * the incident is partial, so it never overwrites a settled status (`contained`, `failed`,
 * `released`) with a lesser one. A settled status of its own is written as usual.
 */
export async function finishDeferringIncident(t: LedgerTable, incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
  // A settled status of its own is written as any delivery writes it.
  const options = SETTLED.includes(status) ? {} : { mustNotOverwrite: SETTLED, keepIsolationTime: true };
  return finishIncident(t, incidentId, status, reason, now, isolatedAt, options);
}
