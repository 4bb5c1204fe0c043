import { BatchGetCommand, DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, type BeginParams, type WindowEntry } from '../../../shared/ledger/index.ts';
import { MAX_SLOT_ATTEMPTS } from '../../../shared/ledger/blast-radius.ts';
import { ACCOUNT_ID, aDocumentClient, anIncident, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

const incident = anIncident();
const incidentKey = { pk: `incident#${incident.incidentId}`, sk: 'incident' };
const windowKey = { pk: `blast-radius#${ACCOUNT_ID}`, sk: 'window' };
const minutesAgo = (n: number) => FIXED_NOW.getTime() - n * 60_000;

/** A containment asking for a slot in a one-hour window of `limit`, as read at `version`. */
const withSlot = (entries: WindowEntry[], version = 4, limit = 2): BeginParams => ({
  incident,
  mode: 'contain',
  messageId: 'msg-1',
  now: FIXED_NOW,
  gates: [],
  capture: { id: 'before' },
  blastRadius: { limit, windowSeconds: 3600, window: { version, entries } },
});

/** The window as a re-read (BatchGet) returns it. */
const rereadReturns = (version: number, entries: WindowEntry[]) =>
  dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [{ ...windowKey, kind: 'blast-radius-window', version, entries }] } });

describe('Ledger: blast radius', () => {
  it('takes a slot in one transaction whose window Put is conditioned on the version it read, dropping expired entries', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).resolves({});
    const live = { incidentId: 'inc-other', at: minutesAgo(10) };
    const expired = { incidentId: 'inc-old', at: minutesAgo(61) };

    // Act
    const outcome = await newLedger().begin(withSlot([live, expired]));

    // Assess
    expect(outcome).toBe('taken');
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(0);
    const items = dbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(items).toHaveLength(2);
    const update = items[0]!.Update!;
    expect(update.Key).toEqual(incidentKey);
    expect(update.UpdateExpression!.split(' REMOVE ')[0]).toMatch(/, blastRadiusSlotAt = if_not_exists\(blastRadiusSlotAt, :now\)$/);
    expect(expressionProblems(update)).toEqual([]);
    expect(items[1]!.Put).toEqual({
      TableName: LEDGER_TABLE,
      Item: { ...windowKey, kind: 'blast-radius-window', version: 5, entries: [live, { incidentId: incident.incidentId, at: FIXED_NOW.getTime() }] },
      ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
      ExpressionAttributeValues: { ':v': 4 },
    });
  });

  it('takes the first slot of an account that has no window yet', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).resolves({});

    // Act
    const outcome = await newLedger().begin(withSlot([], 0));

    // Assess
    expect(outcome).toBe('taken');
    const put = dbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems![1]!.Put!;
    expect(put.Item).toMatchObject({ version: 1, entries: [{ incidentId: incident.incidentId, at: FIXED_NOW.getTime() }] });
    expect(put.ExpressionAttributeValues).toEqual({ ':v': 0 });
  });

  it('does not take a second slot for an incident that already holds one, still recording the delivery', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await newLedger().begin(withSlot([{ incidentId: incident.incidentId, at: minutesAgo(5) }]));

    // Assess
    expect(outcome).toBe('already-held');
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual(incidentKey);
    expect(input.UpdateExpression).not.toContain('blastRadiusSlotAt');
  });

  it('reports the limit reached when the live window is full, still recording the delivery without a slot', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    const outcome = await newLedger().begin(
      withSlot([
        { incidentId: 'inc-a', at: minutesAgo(1) },
        { incidentId: 'inc-b', at: minutesAgo(2) },
      ]),
    );

    // Assess
    expect(outcome).toBe('limit-reached');
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.UpdateExpression).not.toContain('blastRadiusSlotAt');
  });

  it('re-reads the window and decides again when another containment took a slot first', async () => {
    // Prepare
    dbMock
      .on(TransactWriteCommand)
      .rejectsOnce(awsError('TransactionCanceledException', { message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]' }))
      .resolves({});
    rereadReturns(5, [{ incidentId: 'inc-a', at: minutesAgo(1) }]);

    // Act
    const outcome = await newLedger().begin(withSlot([], 4));

    // Assess
    expect(outcome).toBe('taken');
    const attempts = dbMock.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems![1]!.Put!);
    expect(attempts.map((p) => p.ExpressionAttributeValues![':v'])).toEqual([4, 5]);
    expect(attempts[1]!.Item!.entries).toEqual([
      { incidentId: 'inc-a', at: minutesAgo(1) },
      { incidentId: incident.incidentId, at: FIXED_NOW.getTime() },
    ]);
    expect(dbMock.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(dbMock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems![LEDGER_TABLE]!.Keys).toEqual([incidentKey, windowKey]);
  });

  it('retries a conditional check failure like a cancelled transaction', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).resolves({});
    rereadReturns(5, []);

    // Act
    const outcome = await newLedger().begin(withSlot([], 4));

    // Assess
    expect(outcome).toBe('taken');
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('reports the limit reached when the re-read window has filled up meanwhile', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).rejects(awsError('TransactionCanceledException'));
    dbMock.on(UpdateCommand).resolves({});
    rereadReturns(6, [
      { incidentId: 'inc-a', at: minutesAgo(1) },
      { incidentId: 'inc-b', at: minutesAgo(1) },
    ]);

    // Act
    const outcome = await newLedger().begin(withSlot([{ incidentId: 'inc-a', at: minutesAgo(1) }]));

    // Assess
    expect(outcome).toBe('limit-reached');
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('gives up after many conflicting attempts (a storm contends on the window: each round lets one through)', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).rejects(awsError('TransactionCanceledException'));
    dbMock.on(BatchGetCommand).resolves({});

    // Act
    const begin = newLedger().begin(withSlot([]));

    // Assess
    await expect(begin).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(MAX_SLOT_ATTEMPTS);
    expect(dbMock.commandCalls(BatchGetCommand)).toHaveLength(MAX_SLOT_ATTEMPTS - 1);
  });

  it('lets other errors through without retrying', async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).rejects(awsError('ResourceNotFoundException'));

    // Act
    const begin = newLedger().begin(withSlot([]));

    // Assess
    await expect(begin).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(dbMock.commandCalls(BatchGetCommand)).toHaveLength(0);
  });
});
