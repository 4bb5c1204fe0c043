import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { alreadyResumed, heldByPause, Ledger, windowKey, type BeginParams } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, anIncident, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE, RESPONDER } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
const window = { limit: 5, windowSeconds: 3600, window: { version: 0, entries: [] } };
const params = (overrides: Partial<BeginParams> = {}): BeginParams => ({ incident: anIncident(), mode: 'contain', messageId: 'msg-1', now: FIXED_NOW, gates: [], ...overrides });
const conditionFailed = () => awsError('ConditionalCheckFailedException', { message: 'The conditional request failed' });

describe('Ledger: origins and budgets', () => {
  it('keeps a window per origin that starts incidents: GuardDuty\'s key as it always was, #manual and #handoff', () => {
    expect(windowKey(ACCOUNT_ID)).toEqual({ pk: `blast-radius#${ACCOUNT_ID}`, sk: 'window' });
    expect(windowKey(ACCOUNT_ID, 'manual').pk).toBe(`blast-radius#${ACCOUNT_ID}#manual`);
    expect(windowKey(ACCOUNT_ID, 'handoff').pk).toBe(`blast-radius#${ACCOUNT_ID}#handoff`);
  });

  it.each([
    ['a hand-off', anIncident({ origin: 'handoff', derivedFrom: { kind: 'handoff', incidentId: 'inc-0123456789abcdef', playbook: 'container' } }), 'handoff'],
    ['a redrive of a GuardDuty finding', anIncident({ origin: 'redrive', redelivery: { origin: 'redrive', of: 'guardduty', requestedBy: RESPONDER } }), 'guardduty'],
    ['a resume of a manual finding', anIncident({ origin: 'resume', redelivery: { origin: 'resume', of: 'manual', requestedBy: RESPONDER } }), 'manual'],
  ] as const)('takes the slot of %s in the budget of the origin it counts against', async (_what, incident, budget) => {
    // Prepare
    dbMock.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await newLedger().begin(params({ incident, blastRadius: window }));

    // Assess
    expect(outcome).toBe('taken');
    const items = dbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(items[1]!.Put!.Item).toMatchObject(windowKey(ACCOUNT_ID, budget));
    const update = items[0]!.Update as never as Parameters<typeof expressionProblems>[0];
    expect(expressionProblems(update)).toEqual([]);
    expect(update.ExpressionAttributeValues![':openedBy']).toBe(budget);
  });

  it('records what a derived incident came from and each re-delivery, once opened', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});
    const incident = anIncident({ origin: 'redrive', redelivery: { origin: 'redrive', of: 'guardduty', requestedBy: RESPONDER }, derivedFrom: { kind: 'generation', incidentId: 'inc-0123456789abcdef' } });

    // Act
    await newLedger().begin(params({ incident, messageId: 'msg-9' }));

    // Assess
    const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(expressionProblems(input)).toEqual([]);
    expect(input.UpdateExpression).toContain('#openedBy = if_not_exists(#openedBy, :openedBy)');
    expect(input.UpdateExpression).toContain('#derivedFrom = if_not_exists(#derivedFrom, :derivedFrom)');
    expect(input.UpdateExpression).toContain('#redeliveries = list_append(if_not_exists(#redeliveries, :noRedeliveries), :redelivery)');
    expect(input.ExpressionAttributeValues![':redelivery']).toEqual([{ origin: 'redrive', requestedBy: RESPONDER, at: FIXED_NOW.toISOString(), messageId: 'msg-9' }]);
  });
});

describe('Ledger: links between incidents', () => {
  it('links a hand-off to its source incident: the derived map, created when absent', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    const linked = await newLedger().linkDerived('inc-0123456789abcdef', 'inc-fedcba9876543210', { kind: 'handoff', at: FIXED_NOW.toISOString(), playbook: 'ec2-instance' });

    // Assess
    expect(linked).toBe(true);
    const [ensure, link] = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(ensure!.ConditionExpression).toBe('attribute_exists(pk)');
    expect(expressionProblems(ensure!)).toEqual([]);
    expect(link!.UpdateExpression).toBe('SET #derived.#id = if_not_exists(#derived.#id, :link)');
    expect(expressionProblems(link!)).toEqual([]);
  });

  it('links a generation both as derived and as the next generation', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    await newLedger().linkDerived('inc-0123456789abcdef', 'inc-0123456789abcdef-g2', { kind: 'generation', at: FIXED_NOW.toISOString() });

    // Assess
    const link = dbMock.commandCalls(UpdateCommand)[1]!.args[0].input;
    expect(link.UpdateExpression).toContain('#next = if_not_exists(#next, :next)');
    expect(link.ExpressionAttributeValues![':next']).toBe('inc-0123456789abcdef-g2');
    expect(expressionProblems(link)).toEqual([]);
  });

  it('writes nothing and says so when the source incident is not in the ledger; other errors are thrown', async () => {
    dbMock.on(UpdateCommand).rejectsOnce(conditionFailed());
    expect(await newLedger().linkDerived('inc-0123456789abcdef', 'inc-fedcba9876543210', { kind: 'handoff', at: 'x' })).toBe(false);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);

    dbMock.reset();
    dbMock.on(UpdateCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    await expect(newLedger().linkDerived('inc-0123456789abcdef', 'inc-fedcba9876543210', { kind: 'handoff', at: 'x' })).rejects.toThrow();
  });
});

describe('Ledger: resume', () => {
  const gates = (passed: boolean) => [{ gate: 'not-paused', passed, reason: 'x' }];

  it('tells an incident held by a pause from one held by the blast-radius limit', () => {
    expect(heldByPause({ status: 'held', gates: gates(false) })).toBe(true);
    expect(heldByPause({ status: 'held', gates: [] })).toBe(false);
    expect(heldByPause({ status: 'held' })).toBe(false);
    expect(heldByPause({ status: 'contained', gates: gates(false) })).toBe(false);
  });

  it('knows whether a resume re-published the incident since it was last held', () => {
    expect(alreadyResumed({ lastSeenAt: '2025-06-19T15:00:00.000Z' })).toBe(false);
    expect(alreadyResumed({ lastSeenAt: '2025-06-19T15:00:00.000Z', resumeRequest: { at: '2025-06-19T15:01:00.000Z', by: RESPONDER, eventId: 'e' } })).toBe(true);
    expect(alreadyResumed({ lastSeenAt: '2025-06-19T15:02:00.000Z', resumeRequest: { at: '2025-06-19T15:01:00.000Z', by: RESPONDER, eventId: 'e' } })).toBe(false);
  });

  it('records a resume only on an incident still held and not re-published since', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed()).rejectsOnce(awsError('InternalServerError'));
    const request = { at: FIXED_NOW.toISOString(), by: RESPONDER, eventId: 'evt-1' };

    // Act + Assess
    expect(await newLedger().recordResumeRequest('inc-0123456789abcdef', request)).toBe(true);
    const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('#status = :held AND (attribute_not_exists(#resume) OR #resume.#at < #lastSeenAt)');
    expect(expressionProblems(input)).toEqual([]);
    expect(await newLedger().recordResumeRequest('inc-0123456789abcdef', request)).toBe(false);
    await expect(newLedger().recordResumeRequest('inc-0123456789abcdef', request)).rejects.toThrow();
  });
});
