import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { claimAttribute, Ledger } from '../../../shared/ledger/index.ts';
import { aDocumentClient, anIncident, aStepOutcome, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
const incident = anIncident();
const Key = { pk: `incident#${incident.incidentId}`, sk: 'incident' };
const NOW = FIXED_NOW.getTime();
const UNTIL = NOW + 60_000;
const conditionFailed = () => awsError('ConditionalCheckFailedException');
const updates = () => dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

describe('Ledger: step claims', () => {
  describe('claimStep', () => {
    it('claims a step that is not done and not held by another live delivery, in one conditional write', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      const outcome = await newLedger().claimStep(incident.incidentId, 'snapshot-volumes', 'delivery-a', NOW, UNTIL);

      // Assess
      expect(outcome).toEqual({ claimed: true });
      const [input] = updates();
      expect(input).toMatchObject({
        TableName: LEDGER_TABLE,
        Key,
        UpdateExpression: 'SET #claim = :claim',
        ReturnValues: 'ALL_OLD',
        ExpressionAttributeNames: { '#claim': 'claim:snapshot-volumes', '#step': 'snapshot-volumes' },
        ExpressionAttributeValues: { ':claim': { holder: 'delivery-a', until: UNTIL, at: FIXED_NOW.toISOString() }, ':now': NOW, ':holder': 'delivery-a', ':done': 'done' },
      });
      expect(input!.ConditionExpression).toContain('#steps.#step.#status <> :done');
      expect(input!.ConditionExpression).toContain('#claim.#until < :now OR #claim.#holder = :holder');
      expect(expressionProblems(input!)).toEqual([]);
    });

    it('hands back the step outcome another delivery recorded since this one read the record', async () => {
      // Prepare
      const pending = aStepOutcome({ stage: 'evidence', status: 'pending', data: { snapshotIds: ['snap-1'] } });
      dbMock.on(UpdateCommand).resolves({ Attributes: { ...Key, steps: { 'snapshot-volumes': pending } } });

      // Act
      const outcome = await newLedger().claimStep(incident.incidentId, 'snapshot-volumes', 'delivery-a', NOW, UNTIL);

      // Assess
      expect(outcome).toEqual({ claimed: true, current: pending });
    });

    it('does not claim a step another delivery finished, and returns its outcome', async () => {
      // Prepare
      const done = aStepOutcome({ status: 'done', summary: 'isolated' });
      dbMock.on(UpdateCommand).rejects(conditionFailed());
      dbMock.on(GetCommand).resolves({ Item: { ...Key, steps: { isolate: done } } });

      // Act
      const outcome = await newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      expect(outcome).toEqual({ claimed: false, done });
      expect(dbMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: LEDGER_TABLE, Key, ConsistentRead: true });
    });

    it('does not claim a step another live delivery holds, and says which and until when', async () => {
      // Prepare
      const held = { holder: 'delivery-a', until: UNTIL, at: FIXED_NOW.toISOString() };
      dbMock.on(UpdateCommand).rejects(conditionFailed());
      dbMock.on(GetCommand).resolves({ Item: { ...Key, steps: {}, [claimAttribute('isolate')]: held } });

      // Act
      const outcome = await newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      expect(outcome).toEqual({ claimed: false, heldBy: held });
    });

    it('tries again when the holder let go between the refused write and the read', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});
      dbMock.on(GetCommand).resolves({ Item: { ...Key, steps: { isolate: aStepOutcome({ status: 'pending' }) } } });

      // Act
      const outcome = await newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      expect(outcome).toEqual({ claimed: true });
      expect(updates()).toHaveLength(2);
    });

    it('treats a claim whose lease ran out as free (the holder crashed), and gives up after three refusals it cannot explain', async () => {
      // Prepare
      const expired = { holder: 'delivery-a', until: NOW - 1, at: FIXED_NOW.toISOString() };
      dbMock.on(UpdateCommand).rejects(conditionFailed());
      dbMock.on(GetCommand).resolves({ Item: { ...Key, [claimAttribute('isolate')]: expired } });

      // Act
      const claim = newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      await expect(claim).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect(updates()).toHaveLength(3);
    });

    it('says so when the incident is not in the ledger (it is opened before any step runs)', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(conditionFailed());
      dbMock.on(GetCommand).resolves({});

      // Act
      const claim = newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      await expect(claim).rejects.toThrow(`incident ${incident.incidentId} is not in the ledger`);
    });

    it('lets other DynamoDB errors through', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ProvisionedThroughputExceededException'));

      // Act
      const claim = newLedger().claimStep(incident.incidentId, 'isolate', 'delivery-b', NOW, UNTIL);

      // Assess
      await expect(claim).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    });
  });

  describe('recordClaimedStep', () => {
    it('records the outcome and drops the claim in one write, only while the claim is this delivery\'s', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = aStepOutcome();

      // Act
      await newLedger().recordClaimedStep(incident.incidentId, 'isolate', 'delivery-a', outcome);

      // Assess
      const [input] = updates();
      expect(input).toEqual({
        TableName: LEDGER_TABLE,
        Key,
        UpdateExpression: 'SET #steps.#step = :outcome REMOVE #claim',
        ConditionExpression: '#claim.#holder = :holder',
        ExpressionAttributeNames: { '#steps': 'steps', '#step': 'isolate', '#claim': 'claim:isolate', '#holder': 'holder' },
        ExpressionAttributeValues: { ':outcome': outcome, ':holder': 'delivery-a' },
      });
      expect(updates()).toHaveLength(1);
    });

    it('still records an outcome whose claim was lost, unless that would overwrite a finished step', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});
      const outcome = aStepOutcome({ status: 'pending' });

      // Act
      await newLedger().recordClaimedStep(incident.incidentId, 'isolate', 'delivery-a', outcome);

      // Assess
      const [, fallback] = updates();
      expect(fallback).toMatchObject({ UpdateExpression: 'SET #steps.#step = :outcome', ConditionExpression: 'attribute_not_exists(#steps.#step) OR #steps.#step.#status <> :done' });
      expect(expressionProblems(fallback!)).toEqual([]);
    });

    it('leaves a finished outcome alone', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(conditionFailed());

      // Act
      const write = newLedger().recordClaimedStep(incident.incidentId, 'isolate', 'delivery-a', aStepOutcome({ status: 'failed' }));

      // Assess
      await expect(write).resolves.toBeUndefined();
      expect(updates()).toHaveLength(2);
    });

    it('lets other DynamoDB errors through, from either write', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(awsError('InternalServerError'));
      // Act + Assess
      await expect(newLedger().recordClaimedStep(incident.incidentId, 'isolate', 'a', aStepOutcome())).rejects.toMatchObject({ name: 'InternalServerError' });

      dbMock.reset();
      dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).rejectsOnce(awsError('InternalServerError'));
      await expect(newLedger().recordClaimedStep(incident.incidentId, 'isolate', 'a', aStepOutcome())).rejects.toMatchObject({ name: 'InternalServerError' });
    });
  });

  describe('finishDeferring', () => {
    it('writes a settled status as any delivery does', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishDeferring(incident.incidentId, 'contained', 'contained', FIXED_NOW, '2025-06-19T15:00:01.000Z');

      // Assess
      expect(updates()[0]).toMatchObject({ ConditionExpression: 'attribute_not_exists(#status) OR #status <> :released' });
    });

    it('never overwrites contained, failed or released with the lesser status of a partial view', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishDeferring(incident.incidentId, 'containing', 'containing: isolate not finished yet', FIXED_NOW);

      // Assess
      const [input] = updates();
      expect(input).toMatchObject({
        UpdateExpression: 'SET #status = :s, statusReason = :r, finishedAt = :f',
        ConditionExpression: 'attribute_not_exists(#status) OR NOT (#status IN (:contained, :failed, :released))',
      });
      expect(expressionProblems(input!)).toEqual([]);
    });

    it('keeps the isolation time even when the status was settled by another delivery', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});

      // Act
      await newLedger().finishDeferring(incident.incidentId, 'containing', 'containing', FIXED_NOW, '2025-06-19T15:00:01.000Z');

      // Assess
      const [first, second] = updates();
      expect(first!.UpdateExpression).toContain('isolatedAt = if_not_exists(isolatedAt, :i)');
      expect(expressionProblems(first!)).toEqual([]);
      expect(second).toMatchObject({ UpdateExpression: 'SET isolatedAt = if_not_exists(isolatedAt, :i)', ExpressionAttributeValues: { ':i': '2025-06-19T15:00:01.000Z' } });
    });

    it('writes nothing more when settled and there is no isolation time; lets other errors through', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejectsOnce(conditionFailed());

      // Act
      await newLedger().finishDeferring(incident.incidentId, 'retrying', 'retrying', FIXED_NOW);

      // Assess
      expect(updates()).toHaveLength(1);
      dbMock.reset();
      dbMock.on(UpdateCommand).rejects(awsError('InternalServerError'));
      await expect(newLedger().finishDeferring(incident.incidentId, 'containing', 'x', FIXED_NOW)).rejects.toMatchObject({ name: 'InternalServerError' });
    });
  });
});
