import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { FOLLOW_UP_GRACE_SECONDS, Ledger } from '../../../shared/ledger/index.ts';
import { aDocumentClient, anIncident, awsError, expressionProblems, FIXED_NOW, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
const incident = anIncident();
const Key = { pk: `incident#${incident.incidentId}`, sk: 'incident' };
const due = new Date(FIXED_NOW.getTime() + 300_000);
const updates = () => dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

describe('Ledger: one follow-up per incident', () => {
  it('records the follow-up as scheduled when none is on its way (or it is the one being delivered, or presumed lost)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});

    // Act
    const send = await newLedger().reserveFollowUp(incident.incidentId, { id: 'fu-2', dueAt: due, now: FIXED_NOW, replacing: 'fu-1' });

    // Assess
    expect(send).toBe(true);
    const [input] = updates();
    expect(input).toMatchObject({
      TableName: LEDGER_TABLE,
      Key,
      UpdateExpression: 'SET #followUp = :marker',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#followUp) OR #followUp.#id IN (:replacing, :id) OR #followUp.#staleAt < :now)',
      ExpressionAttributeValues: {
        ':marker': { id: 'fu-2', dueAt: due.toISOString(), staleAt: due.getTime() + FOLLOW_UP_GRACE_SECONDS * 1000, scheduledAt: FIXED_NOW.toISOString() },
        ':replacing': 'fu-1',
        ':id': 'fu-2',
        ':now': FIXED_NOW.getTime(),
      },
    });
    expect(expressionProblems(input!)).toEqual([]);
  });

  it('says not to send one when another follow-up is already on its way', async () => {
    // Prepare
    dbMock.on(UpdateCommand).rejects(awsError('ConditionalCheckFailedException'));

    // Act
    const send = await newLedger().reserveFollowUp(incident.incidentId, { id: 'fu-3', dueAt: due, now: FIXED_NOW });

    // Assess
    expect(send).toBe(false);
    expect(updates()[0]!.ExpressionAttributeValues![':replacing']).toBe('');
  });

  it('lets other DynamoDB errors through', async () => {
    // Prepare
    dbMock.on(UpdateCommand).rejects(awsError('InternalServerError'));

    // Act + Assess
    await expect(newLedger().reserveFollowUp(incident.incidentId, { id: 'fu-3', dueAt: due, now: FIXED_NOW })).rejects.toMatchObject({ name: 'InternalServerError' });
    await expect(newLedger().releaseFollowUp(incident.incidentId, 'fu-3')).rejects.toMatchObject({ name: 'InternalServerError' });
  });

  it('forgets its own follow-up, never another delivery\'s', async () => {
    // Prepare
    dbMock.on(UpdateCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).resolves({});

    // Act
    await newLedger().releaseFollowUp(incident.incidentId, 'fu-1');
    await newLedger().releaseFollowUp(incident.incidentId, 'fu-1');

    // Assess
    const [input] = updates();
    expect(input).toEqual({
      TableName: LEDGER_TABLE,
      Key,
      UpdateExpression: 'REMOVE #followUp',
      ConditionExpression: '#followUp.#id = :id',
      ExpressionAttributeNames: { '#followUp': 'followUp', '#id': 'id' },
      ExpressionAttributeValues: { ':id': 'fu-1' },
    });
    expect(updates()).toHaveLength(2);
  });
});
