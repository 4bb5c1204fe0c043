import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, type BeginParams } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, anIncident, awsError, FIXED_NOW, LEDGER_TABLE, REGION } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } })), LEDGER_TABLE);

const incident = anIncident({ ticket: 'SEC-1', findingArn: 'arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/f' });
const incidentPk = `incident#${incident.incidentId}`;
const windowPk = `blast-radius#${ACCOUNT_ID}`;
const minutesAgo = (n: number) => FIXED_NOW.getTime() - n * 60_000;

const params = (overrides: Partial<BeginParams> = {}): BeginParams => ({
  incident,
  mode: 'contain',
  messageId: 'msg-1',
  now: FIXED_NOW,
  gates: [{ gate: 'not-archived', passed: true, reason: 'the finding is active' }],
  ...overrides,
});

const withSlot = (entries: Array<{ incidentId: string; at: number }>, version = 4, limit = 2): BeginParams =>
  params({ capture: { id: 'before' }, blastRadius: { limit, windowSeconds: 3600, window: { version, entries } } });

describe('Class: Ledger', () => {
  describe('Method: load', () => {
    it('reads the incident and the blast-radius window consistently in one call', async () => {
      // Prepare
      dbMock.on(BatchGetCommand).resolves({
        Responses: {
          [LEDGER_TABLE]: [
            { pk: incidentPk, sk: 'incident', status: 'contained', steps: {} },
            { pk: windowPk, sk: 'window', version: 3, entries: [{ incidentId: 'inc-x', at: 1 }] },
          ],
        },
      });

      // Act
      const state = await newLedger().load(incident.incidentId, ACCOUNT_ID);

      // Assess
      expect(dbMock.commandCalls(BatchGetCommand)[0]!.args[0].input).toEqual({
        RequestItems: {
          [LEDGER_TABLE]: {
            Keys: [
              { pk: incidentPk, sk: 'incident' },
              { pk: windowPk, sk: 'window' },
            ],
            ConsistentRead: true,
          },
        },
      });
      expect(state.record).toMatchObject({ status: 'contained' });
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
      dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [] }, UnprocessedKeys: { [LEDGER_TABLE]: { Keys: [{ pk: incidentPk, sk: 'incident' }] } } });
      dbMock
        .on(GetCommand, { Key: { pk: incidentPk, sk: 'incident' } })
        .resolves({ Item: { pk: incidentPk, status: 'held' } })
        .on(GetCommand, { Key: { pk: windowPk, sk: 'window' } })
        .resolves({});

      // Act
      const state = await newLedger().load(incident.incidentId, ACCOUNT_ID);

      // Assess
      expect(dbMock.commandCalls(GetCommand)).toHaveLength(2);
      expect(dbMock.commandCalls(GetCommand).every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
      expect(state.record).toMatchObject({ status: 'held' });
    });
  });

  describe('Method: begin', () => {
    it('opens the record without a slot when none is asked for, keeping the first capture and counting deliveries', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      const outcome = await newLedger().begin(params({ capture: { id: 'before' } }));

      // Assess
      expect(outcome).toBe('not-needed');
      expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.TableName).toBe(LEDGER_TABLE);
      expect(input.Key).toEqual({ pk: incidentPk, sk: 'incident' });
      expect(input.UpdateExpression).toContain('firstSeenAt = if_not_exists(firstSeenAt, :now)');
      expect(input.UpdateExpression).toContain('capture = if_not_exists(capture, :capture)');
      expect(input.UpdateExpression).toContain('deliveries = if_not_exists(deliveries, :zero) + :one');
      expect(input.UpdateExpression).toContain('#status = if_not_exists(#status, :received)');
      expect(input.ExpressionAttributeValues![':capture']).toEqual({ id: 'before' });
      // Every attribute set is named and valued; free text never goes into the expression itself.
      const named = Object.fromEntries(
        Object.entries(input.ExpressionAttributeNames!).flatMap(([k, v]) => (k.startsWith('#a') ? [[v, input.ExpressionAttributeValues![`:${k.slice(1)}`]]] : [])),
      );
      expect(named).toMatchObject({
        incidentId: incident.incidentId,
        findingId: incident.findingId,
        findingArn: incident.findingArn,
        ticket: 'SEC-1',
        resourceId: incident.resource.id,
        mode: 'contain',
        lastMessageId: 'msg-1',
        findingCount: 1,
        lastSeenAt: FIXED_NOW.toISOString(),
      });
      expect(input.UpdateExpression).not.toContain(incident.title);
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
    });

    it('takes a slot in one transaction whose window Put is conditioned on the version it read', async () => {
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
      expect(items[0]!.Update!.Key).toEqual({ pk: incidentPk, sk: 'incident' });
      expect(items[0]!.Update!.UpdateExpression).toMatch(/, blastRadiusSlotAt = if_not_exists\(blastRadiusSlotAt, :now\)$/);
      expect(items[1]!.Put).toEqual({
        TableName: LEDGER_TABLE,
        Item: {
          pk: windowPk,
          sk: 'window',
          kind: 'blast-radius-window',
          version: 5,
          entries: [live, { incidentId: incident.incidentId, at: FIXED_NOW.getTime() }],
        },
        ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
        ExpressionAttributeValues: { ':v': 4 },
      });
    });

    it('does not take a second slot for an incident that already holds one', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      const outcome = await newLedger().begin(withSlot([{ incidentId: incident.incidentId, at: minutesAgo(5) }]));

      // Assess
      expect(outcome).toBe('already-held');
      expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
      expect(dbMock.commandCalls(UpdateCommand)).toHaveLength(1);
    });

    it('reports the limit reached when the live window is full, still recording the delivery', async () => {
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
    });

    it('re-reads the window and decides again when another containment took a slot first', async () => {
      // Prepare
      dbMock
        .on(TransactWriteCommand)
        .rejectsOnce(awsError('TransactionCanceledException', { message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]' }))
        .resolves({});
      dbMock.on(BatchGetCommand).resolves({
        Responses: { [LEDGER_TABLE]: [{ pk: windowPk, sk: 'window', version: 5, entries: [{ incidentId: 'inc-a', at: minutesAgo(1) }] }] },
      });

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
    });

    it('reports the limit reached when the re-read window has filled up meanwhile', async () => {
      // Prepare
      dbMock.on(TransactWriteCommand).rejects(awsError('TransactionCanceledException'));
      dbMock.on(UpdateCommand).resolves({});
      dbMock.on(BatchGetCommand).resolves({
        Responses: {
          [LEDGER_TABLE]: [{ pk: windowPk, version: 6, entries: [{ incidentId: 'inc-a', at: minutesAgo(1) }, { incidentId: 'inc-b', at: minutesAgo(1) }] }],
        },
      });

      // Act
      const outcome = await newLedger().begin(withSlot([{ incidentId: 'inc-a', at: minutesAgo(1) }]));

      // Assess
      expect(outcome).toBe('limit-reached');
      expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it('gives up after six conflicting attempts', async () => {
      // Prepare
      dbMock.on(TransactWriteCommand).rejects(awsError('TransactionCanceledException'));
      dbMock.on(BatchGetCommand).resolves({});

      // Act
      const begin = newLedger().begin(withSlot([]));

      // Assess
      await expect(begin).rejects.toMatchObject({ name: 'TransactionCanceledException' });
      expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(6);
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

  describe('Method: recordStep', () => {
    it("writes the step's outcome under its own key", async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = { stage: 'contain' as const, status: 'done' as const, summary: 'isolated', attempts: 1 };

      // Act
      await newLedger().recordStep(incident.incidentId, 'isolateNetworkInterfaces', outcome);

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Key: { pk: incidentPk, sk: 'incident' },
        UpdateExpression: 'SET steps.#n = :o',
        ExpressionAttributeNames: { '#n': 'isolateNetworkInterfaces' },
        ExpressionAttributeValues: { ':o': outcome },
      });
    });
  });

  describe('Method: finish', () => {
    it('sets the status and keeps the first isolation time', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finish(incident.incidentId, 'contained', 'contained; evidence complete', FIXED_NOW, '2025-06-19T14:59:00.000Z');
      await newLedger().finish(incident.incidentId, 'held', 'limit', FIXED_NOW);

      // Assess
      const [withIsolation, without] = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
      expect(withIsolation).toMatchObject({
        UpdateExpression: 'SET #status = :s, statusReason = :r, finishedAt = :f, isolatedAt = if_not_exists(isolatedAt, :i)',
        ExpressionAttributeValues: { ':s': 'contained', ':r': 'contained; evidence complete', ':f': FIXED_NOW.toISOString(), ':i': '2025-06-19T14:59:00.000Z' },
      });
      expect(without!.UpdateExpression).toBe('SET #status = :s, statusReason = :r, finishedAt = :f');
      expect(without!.ExpressionAttributeValues).not.toHaveProperty(':i');
      expect(without!.ConditionExpression).toBe('attribute_not_exists(#status) OR #status <> :released');
    });

    it('never writes over a release that happened while the delivery ran, and fails loudly on anything else', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

      // Act / Assess: the conditional failure is the release winning — nothing to do
      await expect(newLedger().finish(incident.incidentId, 'contained', 'contained', FIXED_NOW)).resolves.toBeUndefined();
      // Recording the released status itself is not guarded
      dbMock.on(UpdateCommand).resolves({});
      await newLedger().finish(incident.incidentId, 'released', 'released by …', FIXED_NOW);
      expect(dbMock.commandCalls(UpdateCommand).at(-1)!.args[0].input.ConditionExpression).toBeUndefined();
      dbMock.on(UpdateCommand).rejects(new Error('network down'));
      await expect(newLedger().finish(incident.incidentId, 'contained', 'contained', FIXED_NOW)).rejects.toThrow('network down');
    });
  });

  describe('Method: recordRejected', () => {
    it('keeps a rejected message under its message id for 400 days', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});

      // Act
      await newLedger().recordRejected({
        messageId: 'msg-bad',
        playbook: 'ec2-instance',
        reasons: ['message body is not JSON'],
        bodySha256: 'abc',
        bodyPreview: '{',
        receivedAt: '2025-06-19T15:00:00.000Z',
      });

      // Assess
      expect(dbMock.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Item: {
          pk: 'rejected#msg-bad',
          sk: 'rejected',
          kind: 'rejected',
          messageId: 'msg-bad',
          playbook: 'ec2-instance',
          reasons: ['message body is not JSON'],
          bodySha256: 'abc',
          bodyPreview: '{',
          receivedAt: '2025-06-19T15:00:00.000Z',
          expiresAt: Date.parse('2025-06-19T15:00:00.000Z') / 1000 + 400 * 24 * 3600,
        },
      });
    });
  });

  describe('Methods: get and list', () => {
    it('gets one incident and lists incidents and rejected messages across pages', async () => {
      // Prepare
      dbMock.on(GetCommand).resolves({ Item: { pk: incidentPk, kind: 'incident' } });
      dbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [{ pk: 'a', kind: 'incident' }, { pk: windowPk, kind: 'blast-radius-window' }], LastEvaluatedKey: { pk: 'a' } })
        .resolvesOnce({ Items: [{ pk: 'b', kind: 'rejected' }] });
      const ledger = newLedger();

      // Act
      const one = await ledger.get(incident.incidentId);
      const all = await ledger.list();

      // Assess
      expect(one).toEqual({ pk: incidentPk, kind: 'incident' });
      expect(dbMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: LEDGER_TABLE, Key: { pk: incidentPk, sk: 'incident' }, ConsistentRead: true });
      expect(all.map((i) => i.pk)).toEqual(['a', 'b']);
      expect(dbMock.commandCalls(ScanCommand).map((c) => c.args[0].input.ExclusiveStartKey)).toEqual([undefined, { pk: 'a' }]);
    });
  });

  describe('Methods: beginRelease, recordReleaseStep, finishRelease', () => {
    const claim = {
      incidentId: incident.incidentId,
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/Responder/alice',
      reason: 'false positive',
      reattach: false,
      via: 'cli',
      claimId: 'claim-2',
      now: FIXED_NOW,
    };
    const attempt = { requestedBy: claim.requestedBy, reason: 'false positive', reattach: false, requestedAt: FIXED_NOW.toISOString(), via: 'cli' };

    it('claims a first release only if the incident exists, is not released and has no release yet', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({ Attributes: { pk: incidentPk, status: 'contained', release: { status: 'releasing' } } });

      // Act
      const outcome = await newLedger().beginRelease(claim);

      // Assess
      expect(outcome).toEqual({ claimed: true, record: { pk: incidentPk, status: 'contained', release: { status: 'releasing' } } });
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Key: { pk: incidentPk, sk: 'incident' },
        UpdateExpression: 'SET #release = :release',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :released AND attribute_not_exists(#release)',
        ExpressionAttributeNames: { '#status': 'status', '#release': 'release' },
        ExpressionAttributeValues: {
          ':released': 'released',
          ':release': { ...attempt, status: 'releasing', claimId: 'claim-2', attempts: [attempt], steps: {} },
        },
        ReturnValues: 'ALL_NEW',
      });
    });

    it('claims a retry only over the release it read, when that is incomplete or idle for 15 minutes, keeping its steps', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({ Attributes: { pk: incidentPk } });

      // Act
      await newLedger().beginRelease({ ...claim, seen: { claimId: 'claim-1' } });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).toBe(
        'SET #release.#r_requestedBy = :r_requestedBy, #release.#r_reason = :r_reason, #release.#r_reattach = :r_reattach, #release.#r_requestedAt = :r_requestedAt, ' +
          '#release.#r_via = :r_via, #release.#r_status = :r_status, #release.#r_claimId = :r_claimId, ' +
          '#release.#attempts = list_append(if_not_exists(#release.#attempts, :none), :attempt) REMOVE #release.#failures',
      );
      expect(input.ConditionExpression).toBe(
        'attribute_exists(pk) AND #status <> :released AND #release.#r_claimId = :seen AND (#release.#r_status = :incomplete OR (#release.#r_status = :releasing AND #release.#r_requestedAt < :stale))',
      );
      expect(input.ExpressionAttributeValues).toMatchObject({
        ':seen': 'claim-1',
        ':r_claimId': 'claim-2',
        ':r_status': 'releasing',
        ':attempt': [attempt],
        ':stale': new Date(FIXED_NOW.getTime() - 15 * 60_000).toISOString(),
      });
      // Every name and value used, none left over (DynamoDB refuses unused ones).
      const expr = `${input.UpdateExpression} ${input.ConditionExpression}`;
      expect(Object.keys(input.ExpressionAttributeNames!).filter((n) => !expr.includes(n))).toEqual([]);
      expect(Object.keys(input.ExpressionAttributeValues!).filter((v) => !new RegExp(`${v}(?![A-Za-z_])`).test(expr))).toEqual([]);
    });

    it('takes over an idle claim after the staleness asked for', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({ Attributes: { pk: incidentPk } });

      // Act
      await newLedger().beginRelease({ ...claim, seen: { claimId: 'claim-1' }, staleAfterSeconds: 60 });

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.ExpressionAttributeValues![':stale']).toBe(new Date(FIXED_NOW.getTime() - 60_000).toISOString());
    });

    it('reports a claim someone else holds as not claimed, and throws anything else', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).rejectsOnce(awsError('ProvisionedThroughputExceededException'));
      const ledger = newLedger();

      // Act
      const lost = await ledger.beginRelease(claim);
      const failed = ledger.beginRelease(claim);

      // Assess
      expect(lost).toEqual({ claimed: false });
      await expect(failed).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    });

    it('records a release step only while holding the claim', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = { stage: 'release' as const, status: 'done' as const, summary: 'restored', attempts: 1 };

      // Act
      await newLedger().recordReleaseStep(incident.incidentId, 'claim-2', 'restoreSecurityGroups', outcome);

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Key: { pk: incidentPk, sk: 'incident' },
        UpdateExpression: 'SET #release.#steps.#n = :o',
        ConditionExpression: '#release.#claim = :claim',
        ExpressionAttributeNames: { '#release': 'release', '#steps': 'steps', '#claim': 'claimId', '#n': 'restoreSecurityGroups' },
        ExpressionAttributeValues: { ':o': outcome, ':claim': 'claim-2' },
      });
    });

    it('finishes a release by marking the incident released, with who and when', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishRelease(incident.incidentId, 'claim-2', {
        status: 'released',
        now: FIXED_NOW,
        releasedBy: claim.requestedBy,
        summary: 'released by alice',
        failures: [],
        keptProtections: ['termination protection'],
      });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).toBe(
        'SET #release.#r_status = :r_status, #release.#r_finishedAt = :r_finishedAt, #release.#r_summary = :r_summary, #release.#r_keptProtections = :r_keptProtections, ' +
          '#release.#r_failures = :r_failures, #release.#r_releasedBy = :r_releasedBy, #release.#r_releasedAt = :r_releasedAt, #status = :released, statusReason = :reason',
      );
      expect(input.ConditionExpression).toBe('#release.#claim = :claim');
      expect(input.ExpressionAttributeValues).toEqual({
        ':claim': 'claim-2',
        ':r_status': 'released',
        ':r_finishedAt': FIXED_NOW.toISOString(),
        ':r_summary': 'released by alice',
        ':r_keptProtections': ['termination protection'],
        ':r_failures': [],
        ':r_releasedBy': claim.requestedBy,
        ':r_releasedAt': FIXED_NOW.toISOString(),
        ':released': 'released',
        ':reason': 'released by alice',
      });
    });

    it("finishes an incomplete release without changing the incident's status", async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishRelease(incident.incidentId, 'claim-2', { status: 'incomplete', now: FIXED_NOW, releasedBy: 'x', summary: 'incomplete', failures: ['reregisterTargets'], keptProtections: [] });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).not.toContain('#status');
      expect(input.UpdateExpression).not.toContain('releasedBy');
      expect(input.ExpressionAttributeNames).not.toHaveProperty('#status');
      expect(input.ExpressionAttributeValues).toMatchObject({ ':r_status': 'incomplete', ':r_failures': ['reregisterTargets'] });
    });
  });
});
