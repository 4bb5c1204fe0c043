import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { INCIDENT_RECORD_VERSION, Ledger, MAX_SUMMARY_CHARS, type BeginParams, type IncidentRecord } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, anIncident, aStepOutcome, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

const incident = anIncident({ ticket: 'SEC-1', findingArn: 'arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/f' });
const incidentKey = { pk: `incident#${incident.incidentId}`, sk: 'incident' };
const windowKey = { pk: `blast-radius#${ACCOUNT_ID}`, sk: 'window' };

/** A v2 incident item as `begin` writes it and DynamoDB returns it. */
const aRecord = (overrides: Partial<IncidentRecord> = {}): IncidentRecord => ({
  ...incidentKey,
  kind: 'incident',
  schemaVersion: INCIDENT_RECORD_VERSION,
  incidentId: incident.incidentId,
  playbook: 'ec2-instance',
  incident,
  mode: 'contain',
  status: 'contained',
  firstSeenAt: FIXED_NOW.toISOString(),
  lastSeenAt: FIXED_NOW.toISOString(),
  deliveries: 1,
  lastMessageId: 'msg-1',
  steps: {},
  ...overrides,
});

const params = (overrides: Partial<BeginParams> = {}): BeginParams => ({
  incident,
  mode: 'contain',
  messageId: 'msg-1',
  now: FIXED_NOW,
  gates: [{ gate: 'not-archived', passed: true, reason: 'the finding is active' }],
  ...overrides,
});

/** The attributes an update sets plainly (`#a_x = :a_x`), by name, with their values. */
const plainlySet = (input: UpdateCommandInput): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(input.ExpressionAttributeNames!).flatMap(([k, v]) => (k.startsWith('#a_') ? [[v, input.ExpressionAttributeValues![`:${k.slice(1)}`]]] : [])),
  );

/** The attribute names an update sets (`SET a = …, #b = …`), names resolved. */
const setPaths = (input: UpdateCommandInput): string[] =>
  [...input.UpdateExpression!.split(' REMOVE ')[0]!.matchAll(/(?:^SET |, )([#\w.]+) = /g)].map((m) => input.ExpressionAttributeNames![m[1]!] ?? m[1]!);

/** The attribute names an update removes. */
const removed = (input: UpdateCommandInput): string[] =>
  (input.UpdateExpression!.split(' REMOVE ')[1] ?? '').split(', ').map((n) => input.ExpressionAttributeNames![n.trim()] ?? n.trim());

describe('Ledger: incidents', () => {
  describe('load', () => {
    it('reads the incident and the blast-radius window consistently in one call', async () => {
      // Prepare
      const record = aRecord();
      dbMock.on(BatchGetCommand).resolves({
        Responses: { [LEDGER_TABLE]: [record, { ...windowKey, kind: 'blast-radius-window', version: 3, entries: [{ incidentId: 'inc-x', at: 1 }] }] },
        UnprocessedKeys: {},
      });

      // Act
      const state = await newLedger().load(incident.incidentId, ACCOUNT_ID);

      // Assess
      expect(dbMock.commandCalls(BatchGetCommand)[0]!.args[0].input).toEqual({
        RequestItems: { [LEDGER_TABLE]: { Keys: [incidentKey, windowKey], ConsistentRead: true } },
      });
      expect(state.record).toEqual(record);
      expect(state.window).toEqual({ version: 3, entries: [{ incidentId: 'inc-x', at: 1 }] });
    });

    it('starts from an empty window and no record for a first delivery', async () => {
      // Prepare
      dbMock.on(BatchGetCommand).resolves({});

      // Act
      const state = await newLedger().load(incident.incidentId, ACCOUNT_ID);

      // Assess
      expect(state).toEqual({ window: { version: 0, entries: [] } });
    });

    it('reads the items one by one when DynamoDB leaves keys unprocessed', async () => {
      // Prepare
      dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [] }, UnprocessedKeys: { [LEDGER_TABLE]: { Keys: [incidentKey] } } });
      dbMock.on(GetCommand, { Key: incidentKey }).resolves({ Item: aRecord({ status: 'held' }) }).on(GetCommand, { Key: windowKey }).resolves({});

      // Act
      const state = await newLedger().load(incident.incidentId, ACCOUNT_ID);

      // Assess
      expect(dbMock.commandCalls(GetCommand)).toHaveLength(2);
      expect(dbMock.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
      expect(state.record).toMatchObject({ status: 'held', incident });
      expect(state.window).toEqual({ version: 0, entries: [] });
    });
  });

  describe('get', () => {
    it('gets one incident record by its id, consistently', async () => {
      // Prepare
      const record = aRecord();
      dbMock.on(GetCommand).resolves({ Item: record });

      // Act
      const got = await newLedger().get(incident.incidentId);

      // Assess
      expect(got).toEqual(record);
      expect(dbMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: LEDGER_TABLE, Key: incidentKey, ConsistentRead: true });
    });

    it('returns nothing for an incident the ledger does not know', async () => {
      // Prepare
      dbMock.on(GetCommand).resolves({});

      // Act
      const got = await newLedger().get(incident.incidentId);

      // Assess
      expect(got).toBeUndefined();
    });
  });

  describe('begin', () => {
    it('opens a v2 record with the incident nested, keeping the first capture and counting deliveries', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      const outcome = await newLedger().begin(params({ capture: { id: 'before' } }));

      // Assess
      expect(outcome).toBe('not-needed');
      expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.TableName).toBe(LEDGER_TABLE);
      expect(input.Key).toEqual(incidentKey);
      expect(input.UpdateExpression).toContain('firstSeenAt = if_not_exists(firstSeenAt, :now)');
      expect(input.UpdateExpression).toContain('steps = if_not_exists(steps, :empty)');
      expect(input.UpdateExpression).toContain('capture = if_not_exists(capture, :capture)');
      expect(input.UpdateExpression).toContain('deliveries = if_not_exists(deliveries, :zero) + :one');
      expect(input.UpdateExpression).toContain('#status = if_not_exists(#status, :received)');
      expect(input.ExpressionAttributeValues![':capture']).toEqual({ id: 'before' });
      // Every attribute set is named and valued; free text never goes into the expression itself.
      expect(plainlySet(input)).toEqual({
        kind: 'incident',
        schemaVersion: 2,
        incidentId: incident.incidentId,
        playbook: 'ec2-instance',
        incident,
        mode: 'contain',
        gates: params().gates,
        lastSeenAt: FIXED_NOW.toISOString(),
        lastMessageId: 'msg-1',
      });
      expect(input.UpdateExpression).not.toContain(incident.title);
      expect(expressionProblems(input)).toEqual([]);
    });

    it('removes the attributes a v1 record kept flattened, and sets none of them', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().begin(params());

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(removed(input)).toEqual([
        'origin',
        'findingId',
        'findingArn',
        'findingType',
        'title',
        'severity',
        'accountId',
        'region',
        'resourceType',
        'resourceId',
        'ticket',
        'requestedBy',
        'remoteIps',
        'eventTime',
        'findingUpdatedAt',
        'findingCount',
      ]);
      // DynamoDB refuses an update whose SET and REMOVE paths overlap.
      expect(setPaths(input).filter((n) => removed(input).includes(n))).toEqual([]);
    });

    it('does not overwrite a capture when none is given', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().begin(params());

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).not.toContain('capture');
      expect(input.ExpressionAttributeValues).not.toHaveProperty(':capture');
      expect(expressionProblems(input)).toEqual([]);
    });
  });

  describe('recordStep', () => {
    it("writes the step's outcome under its own key", async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = aStepOutcome({ summary: 'isolated' });

      // Act
      await newLedger().recordStep(incident.incidentId, 'isolateNetworkInterfaces', outcome);

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Key: incidentKey,
        UpdateExpression: 'SET steps.#n = :o',
        ExpressionAttributeNames: { '#n': 'isolateNetworkInterfaces' },
        ExpressionAttributeValues: { ':o': outcome },
      });
    });

    it('cuts a 1 MB summary to MAX_SUMMARY_CHARS and says how much was cut, keeping the rest of the outcome', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const summary = Array.from({ length: 50_000 }, (_, n) => `eni-${n.toString(16).padStart(17, '0')}`).join(', ').slice(0, 1024 * 1024);
      const outcome = aStepOutcome({ summary, data: { interfaces: 2 }, startedAt: FIXED_NOW.toISOString() });

      // Act
      await newLedger().recordStep(incident.incidentId, 'isolateNetworkInterfaces', outcome);

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      const recorded = input.ExpressionAttributeValues![':o'];
      expect(summary).toHaveLength(1024 * 1024);
      expect(recorded.summary.startsWith(summary.slice(0, MAX_SUMMARY_CHARS))).toBe(true);
      expect(recorded.summary.slice(MAX_SUMMARY_CHARS)).toBe(`… (${1024 * 1024 - MAX_SUMMARY_CHARS} more characters)`);
      expect({ ...recorded, summary: undefined }).toEqual({ ...outcome, summary: undefined });
      expect(JSON.stringify(input).length).toBeLessThan(16 * 1024);
    });

    it('keeps a summary of exactly MAX_SUMMARY_CHARS as it is', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = aStepOutcome({ summary: 'x'.repeat(MAX_SUMMARY_CHARS) });

      // Act
      await newLedger().recordStep(incident.incidentId, 'tagInstance', outcome);

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.ExpressionAttributeValues![':o']).toEqual(outcome);
    });
  });

  describe('finish', () => {
    it('sets the status and keeps the first isolation time', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finish(incident.incidentId, 'contained', 'contained; evidence complete', FIXED_NOW, '2025-06-19T14:59:00.000Z');
      await newLedger().finish(incident.incidentId, 'held', 'limit', FIXED_NOW);

      // Assess
      const [withIsolation, without] = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
      expect(withIsolation).toMatchObject({
        Key: incidentKey,
        UpdateExpression: 'SET #status = :s, statusReason = :r, finishedAt = :f, isolatedAt = if_not_exists(isolatedAt, :i)',
        ExpressionAttributeValues: { ':s': 'contained', ':r': 'contained; evidence complete', ':f': FIXED_NOW.toISOString(), ':i': '2025-06-19T14:59:00.000Z' },
      });
      expect(without!.UpdateExpression).toBe('SET #status = :s, statusReason = :r, finishedAt = :f');
      expect(without!.ExpressionAttributeValues).not.toHaveProperty(':i');
      expect(without!.ConditionExpression).toBe('attribute_not_exists(#status) OR #status <> :released');
      expect([withIsolation!, without!].flatMap(expressionProblems)).toEqual([]);
    });

    it('never writes over a release that happened while the delivery ran', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

      // Act
      const finish = newLedger().finish(incident.incidentId, 'contained', 'contained', FIXED_NOW);

      // Assess: the conditional failure is the release winning — nothing to do
      await expect(finish).resolves.toBeUndefined();
    });

    it('records the released status itself without the guard', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finish(incident.incidentId, 'released', 'released by alice', FIXED_NOW);

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.ConditionExpression).toBeUndefined();
      expect(input.ExpressionAttributeValues).not.toHaveProperty(':released');
      expect(expressionProblems(input)).toEqual([]);
    });

    it('fails loudly on any other error', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(new Error('network down'));

      // Act
      const finish = newLedger().finish(incident.incidentId, 'contained', 'contained', FIXED_NOW);

      // Assess
      await expect(finish).rejects.toThrow('network down');
    });
  });
});

describe('Ledger: trusted triggers', () => {
  it("reads a manual finding's blast-radius window from its own budget, so manual findings cannot use up GuardDuty's", async () => {
    // Prepare
    dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [{ pk: `blast-radius#${ACCOUNT_ID}#manual`, sk: 'window', version: 3, entries: [] }] } });

    // Act
    const loaded = await newLedger().load(incident.incidentId, ACCOUNT_ID, 'manual');

    // Assess
    expect(dbMock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems![LEDGER_TABLE]!.Keys).toEqual([incidentKey, { pk: `blast-radius#${ACCOUNT_ID}#manual`, sk: 'window' }]);
    expect(loaded.window.version).toBe(3);
  });

  it("takes a manual finding's slot in the manual budget's window", async () => {
    // Prepare
    dbMock.on(TransactWriteCommand).resolves({});
    const manual = anIncident({ origin: 'manual', ticket: 'SEC-9' });

    // Act
    const outcome = await newLedger().begin(params({ incident: manual, blastRadius: { limit: 1, windowSeconds: 3600, window: { version: 0, entries: [] } } }));

    // Assess
    expect(outcome).toBe('taken');
    expect(dbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems![1]!.Put!.Item).toMatchObject({ pk: `blast-radius#${ACCOUNT_ID}#manual`, version: 1 });
  });

  it('records who put the message on the queue (its SQS SenderId)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    await newLedger().begin(params({ senderId: 'AROAFUNCTIONROLE:firebreak-ec2-instance' }));

    // Assess
    expect(plainlySet(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input)).toMatchObject({ lastSenderId: 'AROAFUNCTIONROLE:firebreak-ec2-instance' });
  });
});
