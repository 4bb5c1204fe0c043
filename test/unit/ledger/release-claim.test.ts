import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { INCIDENT_RECORD_VERSION, Ledger, MAX_SUMMARY_CHARS, type BeginReleaseParams } from '../../../shared/ledger/index.ts';
import { aDocumentClient, anIncident, aStepOutcome, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE, RESPONDER } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

const incident = anIncident();
const incidentKey = { pk: `incident#${incident.incidentId}`, sk: 'incident' };

const claim: BeginReleaseParams = {
  incidentId: incident.incidentId,
  requestedBy: RESPONDER,
  reason: 'false positive',
  reattach: false,
  via: 'cli',
  claimId: 'claim-2',
  now: FIXED_NOW,
};
const attempt = { requestedBy: RESPONDER, reason: 'false positive', reattach: false, requestedAt: FIXED_NOW.toISOString(), via: 'cli' };

/** The incident item as DynamoDB returns it after the claim (ReturnValues ALL_NEW). */
const claimedItem = (release: Record<string, unknown>) => ({
  ...incidentKey,
  kind: 'incident',
  schemaVersion: INCIDENT_RECORD_VERSION,
  incidentId: incident.incidentId,
  playbook: 'ec2-instance',
  incident,
  status: 'contained',
  steps: {},
  release,
});

describe('Ledger: release claim', () => {
  describe('beginRelease', () => {
    it('claims a first release only if the incident exists, is not released and has no release yet', async () => {
      // Prepare
      const release = { ...attempt, status: 'releasing', claimId: 'claim-2', attempts: [attempt], steps: {} };
      dbMock.on(UpdateCommand).resolves({ Attributes: claimedItem(release) });

      // Act
      const outcome = await newLedger().beginRelease(claim);

      // Assess
      expect(outcome).toEqual({ claimed: true, record: claimedItem(release) });
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input).toEqual({
        TableName: LEDGER_TABLE,
        Key: incidentKey,
        UpdateExpression: 'SET #release = :release',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :released AND attribute_not_exists(#release)',
        ExpressionAttributeNames: { '#status': 'status', '#release': 'release' },
        ExpressionAttributeValues: { ':released': 'released', ':release': release },
        ReturnValues: 'ALL_NEW',
      });
      expect(expressionProblems(input)).toEqual([]);
    });

    it('claims a retry only over the release it read, when that is incomplete or idle for 15 minutes, keeping its steps', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({ Attributes: claimedItem({ status: 'releasing', claimId: 'claim-2', steps: { restoreSecurityGroups: aStepOutcome({ stage: 'release' }) } }) });

      // Act
      const outcome = await newLedger().beginRelease({ ...claim, seen: { claimId: 'claim-1' } });

      // Assess
      expect(outcome).toMatchObject({ claimed: true, record: { release: { claimId: 'claim-2', steps: { restoreSecurityGroups: { status: 'done' } } } } });
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
      expect(expressionProblems(input)).toEqual([]);
    });

    it('takes over an idle claim after the staleness asked for', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({ Attributes: claimedItem({ status: 'releasing' }) });

      // Act
      await newLedger().beginRelease({ ...claim, seen: { claimId: 'claim-1' }, staleAfterSeconds: 60 });

      // Assess
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.ExpressionAttributeValues![':stale']).toBe(new Date(FIXED_NOW.getTime() - 60_000).toISOString());
    });

    it('reports a claim someone else holds as not claimed', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

      // Act
      const outcome = await newLedger().beginRelease(claim);

      // Assess
      expect(outcome).toEqual({ claimed: false });
    });

    it('throws any other error', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ProvisionedThroughputExceededException'));

      // Act
      const begin = newLedger().beginRelease(claim);

      // Assess
      await expect(begin).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    });
  });

  describe('recordReleaseStep', () => {
    it('records a release step only while holding the claim', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = aStepOutcome({ stage: 'release', summary: 'restored' });

      // Act
      await newLedger().recordReleaseStep(incident.incidentId, 'claim-2', 'restoreSecurityGroups', outcome);

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input).toEqual({
        TableName: LEDGER_TABLE,
        Key: incidentKey,
        UpdateExpression: 'SET #release.#steps.#n = :o',
        ConditionExpression: '#release.#claim = :claim',
        ExpressionAttributeNames: { '#release': 'release', '#steps': 'steps', '#claim': 'claimId', '#n': 'restoreSecurityGroups' },
        ExpressionAttributeValues: { ':o': outcome, ':claim': 'claim-2' },
      });
      expect(expressionProblems(input)).toEqual([]);
    });

    it('cuts a release step summary like a containment step summary', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const outcome = aStepOutcome({ stage: 'release', summary: 'r'.repeat(MAX_SUMMARY_CHARS + 10) });

      // Act
      await newLedger().recordReleaseStep(incident.incidentId, 'claim-2', 'reregisterTargets', outcome);

      // Assess
      const recorded = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.ExpressionAttributeValues![':o'];
      expect(recorded.summary).toBe(`${'r'.repeat(MAX_SUMMARY_CHARS)}… (10 more characters)`);
    });

    it('lets the refusal through once another run took the release over', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

      // Act
      const record = newLedger().recordReleaseStep(incident.incidentId, 'claim-1', 'restoreSecurityGroups', aStepOutcome({ stage: 'release' }));

      // Assess
      await expect(record).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    });
  });

  describe('finishRelease', () => {
    it('finishes a release by marking the incident released, with who and when', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishRelease(incident.incidentId, 'claim-2', {
        status: 'released',
        now: FIXED_NOW,
        releasedBy: RESPONDER,
        summary: 'released by alice',
        failures: [],
        keptProtections: ['termination protection'],
      });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.Key).toEqual(incidentKey);
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
        ':r_releasedBy': RESPONDER,
        ':r_releasedAt': FIXED_NOW.toISOString(),
        ':released': 'released',
        ':reason': 'released by alice',
      });
      expect(expressionProblems(input)).toEqual([]);
    });

    it("finishes an incomplete release without changing the incident's status", async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().finishRelease(incident.incidentId, 'claim-2', {
        status: 'incomplete',
        now: FIXED_NOW,
        releasedBy: 'x',
        summary: 'incomplete',
        failures: ['reregisterTargets'],
        keptProtections: [],
      });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.UpdateExpression).not.toContain('#status');
      expect(input.UpdateExpression).not.toContain('releasedBy');
      expect(input.ExpressionAttributeNames).not.toHaveProperty('#status');
      expect(input.ExpressionAttributeValues).toMatchObject({ ':r_status': 'incomplete', ':r_failures': ['reregisterTargets'] });
      expect(expressionProblems(input)).toEqual([]);
    });
  });
});
