import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../shared/ledger/index.ts';
import { aDocumentClient, awsError, expressionProblems, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
const KEY = 'guardduty-snapshot-retention#111122223333#us-east-1#6cc4a1f0';
const ITEM_KEY = { pk: `reliance#${KEY}`, sk: 'reliance' };
const conditionFailed = () => awsError('ConditionalCheckFailedException', { message: 'The conditional request failed' });
const updates = () => dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

describe('Class: Ledger — incidents relying on a shared setting', () => {
  it('rely adds the incident to the set and keeps the first value to restore (if_not_exists)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({ Attributes: { incidents: new Set(['inc-a', 'inc-b']), restoreTo: 'NO_RETENTION' } });

    // Act
    const state = await newLedger().rely(KEY, 'inc-b', 'NO_RETENTION');

    // Assess
    expect(state).toEqual({ incidents: ['inc-a', 'inc-b'], restoreTo: 'NO_RETENTION' });
    const [input] = updates();
    expect(input).toMatchObject({ Key: ITEM_KEY, UpdateExpression: expect.stringMatching(/^ADD incidents :me .*restoreTo = if_not_exists\(restoreTo, :restoreTo\)/), ReturnValues: 'ALL_NEW' });
    expect(input!.ExpressionAttributeValues![':me']).toEqual(new Set(['inc-b']));
    expect(expressionProblems(input!)).toEqual([]);
  });

  it('letGo removes the incident and, the last one out, claims the restore on the condition that nobody relies on it', async () => {
    // Prepare: DynamoDB removes an emptied set
    dbMock.on(UpdateCommand).resolvesOnce({ Attributes: { restoreTo: 'NO_RETENTION' } }).resolves({});

    // Act
    const left = await newLedger().letGo(KEY, 'inc-a');

    // Assess
    expect(left).toEqual({ incidents: [], restoreTo: 'NO_RETENTION', claimed: true });
    const [removal, claim] = updates();
    expect(removal).toMatchObject({ UpdateExpression: expect.stringMatching(/^DELETE incidents :me/) });
    expect(claim).toMatchObject({ Key: ITEM_KEY, UpdateExpression: 'SET restoreClaimedBy = :me', ConditionExpression: expect.stringContaining('attribute_not_exists(incidents)') });
    expect(claim!.ConditionExpression).toContain('restoreClaimedBy = :me');
    for (const u of updates()) expect(expressionProblems(u)).toEqual([]);
  });

  it('letGo claims nothing while others rely on it, nor when another incident came to rely on it before the claim', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolvesOnce({ Attributes: { incidents: new Set(['inc-b']), restoreTo: 'NO_RETENTION' } });
    const others = await newLedger().letGo(KEY, 'inc-a');
    dbMock.reset();
    dbMock.on(UpdateCommand).resolvesOnce({ Attributes: { restoreTo: 'NO_RETENTION' } }).rejects(conditionFailed());
    dbMock.on(GetCommand).resolves({ Item: { ...ITEM_KEY, incidents: new Set(['inc-c']), restoreTo: 'NO_RETENTION' } });

    // Act
    const raced = await newLedger().letGo(KEY, 'inc-a');

    // Assess
    expect(others).toEqual({ incidents: ['inc-b'], restoreTo: 'NO_RETENTION', claimed: false });
    expect(raced).toEqual({ incidents: ['inc-c'], restoreTo: 'NO_RETENTION', claimed: false });
    expect(dbMock.commandCalls(GetCommand)[0]!.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it('restored forgets the value when still nobody relies on it, and otherwise drops only the claim (the caller turns the setting back on)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({});
    const alone = await newLedger().restored(KEY, 'inc-a');
    dbMock.reset();
    dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});

    // Act
    const joined = await newLedger().restored(KEY, 'inc-a');

    // Assess
    expect(alone).toBe(true);
    expect(joined).toBe(false);
    const [forget, dropClaim] = updates();
    expect(forget).toMatchObject({ UpdateExpression: 'REMOVE restoreTo, restoreClaimedBy', ConditionExpression: 'attribute_not_exists(incidents) AND restoreClaimedBy = :me' });
    expect(dropClaim).toMatchObject({ UpdateExpression: 'REMOVE restoreClaimedBy', ConditionExpression: 'restoreClaimedBy = :me' });
  });

  it('rely without a value to restore only counts the incident (it relied on a setting it found already on)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({ Attributes: { incidents: new Set(['inc-a']) } });

    // Act
    const state = await newLedger().rely(KEY, 'inc-a');

    // Assess
    expect(state).toEqual({ incidents: ['inc-a'] });
    const [input] = updates();
    expect(input!.UpdateExpression).not.toContain('restoreTo');
    expect(input!.ExpressionAttributeValues).not.toHaveProperty(':restoreTo');
    expect(expressionProblems(input!)).toEqual([]);
  });

  it('letGo claims nothing when no value is to be restored (no incident changed the setting)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({ Attributes: {} });

    // Act
    const left = await newLedger().letGo(KEY, 'inc-a');

    // Assess
    expect(left).toEqual({ incidents: [], claimed: false });
    expect(updates()).toHaveLength(1);
  });

  it('passes on a ledger failure other than a lost condition, for the delivery to retry', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolvesOnce({ Attributes: { restoreTo: 'NO_RETENTION' } }).rejects(awsError('ProvisionedThroughputExceededException', { message: 'slow down' }));

    // Act
    const letGo = newLedger().letGo(KEY, 'inc-a');

    // Assess
    await expect(letGo).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    dbMock.reset();
    dbMock.on(UpdateCommand).rejects(awsError('InternalServerError', { message: 'try again' }));
    await expect(newLedger().restored(KEY, 'inc-a')).rejects.toMatchObject({ name: 'InternalServerError' });
  });

  it('restored drops the claim quietly when it is already gone, and passes on any other failure of that', async () => {
    // Prepare
    dbMock.on(UpdateCommand).rejects(conditionFailed());

    // Act
    const gone = await newLedger().restored(KEY, 'inc-a');

    // Assess
    expect(gone).toBe(false);
    dbMock.reset();
    dbMock.on(UpdateCommand).rejectsOnce(conditionFailed()).rejects(awsError('InternalServerError', { message: 'try again' }));
    await expect(newLedger().restored(KEY, 'inc-a')).rejects.toMatchObject({ name: 'InternalServerError' });
  });

  it('ignores a value to restore that is not text (an item written by hand)', async () => {
    // Prepare
    dbMock.on(UpdateCommand).resolves({ Attributes: { incidents: new Set(['inc-b', 'inc-a']), restoreTo: 42 } });

    // Act
    const state = await newLedger().rely(KEY, 'inc-a');

    // Assess
    expect(state).toEqual({ incidents: ['inc-a', 'inc-b'] });
  });
});
