import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, type IgnoredMessage } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, anIncident, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE, REGION } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
const INCIDENT_ID = anIncident().incidentId;
const AT = FIXED_NOW.toISOString();

describe('Class: Ledger — notifications', () => {
  describe('recordNotification', () => {
    it('keeps the latest notification on the incident it was about, only if the incident exists', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().recordNotification({ incidentId: INCIDENT_ID }, { status: 'contained', at: AT, published: true, messageId: 'sns-1' });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input).toMatchObject({
        TableName: LEDGER_TABLE,
        Key: { pk: `incident#${INCIDENT_ID}`, sk: 'incident' },
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':n': { status: 'contained', at: AT, published: true, messageId: 'sns-1' } },
      });
      expect(expressionProblems(input)).toEqual([]);
    });

    it('keeps why a notification could not be published, bounded, on the ignored finding it was about', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().recordNotification(
        { ignoredFinding: { accountId: ACCOUNT_ID, findingId: 'f-eks' } },
        { status: 'unhandled', at: AT, published: false, error: { code: 'AuthorizationError', message: `denied\n${'x'.repeat(1000)}` } },
      );

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.Key).toEqual({ pk: `ignored#${ACCOUNT_ID}#f-eks`, sk: 'ignored' });
      const kept = input.ExpressionAttributeValues![':n'] as { error: { code: string; message: string }; messageId?: string };
      expect(kept.error.code).toBe('AuthorizationError');
      expect(kept.error.message).toHaveLength(300);
      expect(kept.error.message.startsWith('denied x')).toBe(true);
      expect(kept).not.toHaveProperty('messageId');
    });

    it('creates no record when the one it was about does not exist', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

      // Act
      const recorded = newLedger().recordNotification({ incidentId: INCIDENT_ID }, { status: 'held', at: AT, published: true, messageId: 'sns-2' });

      // Assess
      await expect(recorded).resolves.toBeUndefined();
    });

    it('passes on any other failure, for the caller to log', async () => {
      // Prepare
      dbMock.on(UpdateCommand).rejects(awsError('ProvisionedThroughputExceededException'));

      // Act
      const recorded = newLedger().recordNotification({ incidentId: INCIDENT_ID }, { status: 'held', at: AT, published: true, messageId: 'sns-2' });

      // Assess
      await expect(recorded).rejects.toThrow('ProvisionedThroughputExceededException');
    });
  });

  describe('recordIgnored', () => {
    const unhandled: IgnoredMessage = {
      why: 'unhandled',
      reason: 'no playbook handles resource type EKSCluster',
      findingId: 'f-eks',
      findingType: 'PrivilegeEscalation:Kubernetes/PrivilegedContainer',
      resourceType: 'EKSCluster',
      accountId: ACCOUNT_ID,
      region: REGION,
      title: 'EKS',
      playbook: 'ec2-instance',
      messageId: 'msg-1',
      receivedAt: AT,
    };

    it('says how many deliveries of the finding it has counted, so the first one can be told', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolvesOnce({ Attributes: { deliveries: 1 } }).resolves({ Attributes: { deliveries: 2 } });

      // Act
      const counts = [await newLedger().recordIgnored(unhandled), await newLedger().recordIgnored(unhandled)];

      // Assess
      expect(counts).toEqual([1, 2]);
      expect(dbMock.commandCalls(UpdateCommand)[0]!.args[0].input.ReturnValues).toBe('UPDATED_NEW');
    });

    it('counts a delivery DynamoDB did not report as the first: telling twice beats never', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      const count = await newLedger().recordIgnored(unhandled);

      // Assess
      expect(count).toBe(1);
    });
  });
});
