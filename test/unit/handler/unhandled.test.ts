// The catch-all's `unhandled` function: every GuardDuty finding no enabled playbook takes is
// recorded in the ledger as skipped — unhandled (a type with no playbook, or a playbook not
// enabled) or sample — and people are told once about each unhandled one.
import { PublishCommand, SNSClient, type PublishCommandInput } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand, type PutCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/errors/index.ts';
import { createUnhandledHandler, loadUnhandledConfig, UNHANDLED_FUNCTION } from '../../../shared/handler/unhandled.ts';
import { ACCOUNT_ID, aDocumentClient, aLambdaContext, anSqsEvent, anSqsRecord, FIXED_NOW, fixtureBody, fixtureEvent, LEDGER_TABLE, manualEvent, REGION, RESPONDER, silentLogger } from '../helpers/factories.ts';

const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:firebreak-notifications`;
const dbMock = mockClient(DynamoDBDocumentClient);
const snsMock = mockClient(SNSClient);

beforeEach(() => {
  dbMock.on(PutCommand).resolves({});
  dbMock.on(UpdateCommand).resolves({});
  dbMock.on(UpdateCommand, { ReturnValues: 'UPDATED_NEW' }).resolves({ Attributes: { deliveries: 1 } });
  snsMock.on(PublishCommand).resolves({ MessageId: 'sns-1' });
});
afterEach(() => {
  dbMock.reset();
  snsMock.reset();
});

function aHandler(env: Record<string, string | undefined> = {}) {
  return createUnhandledHandler({
    env: { FIREBREAK_LEDGER_TABLE: LEDGER_TABLE, FIREBREAK_TOPIC_ARN: TOPIC_ARN, AWS_REGION: REGION, ...env },
    platform: { dynamo: aDocumentClient(), sns: new SNSClient({ region: REGION }) },
    logger: silentLogger(),
    now: () => FIXED_NOW,
  });
}

/** The ledger's record of each ignored finding (recordIgnored's update), by its values. */
const ignoredWrites = () =>
  dbMock
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input as UpdateCommandInput)
    .filter((i) => i.ReturnValues === 'UPDATED_NEW')
    .map((i) => ({ key: i.Key, values: Object.values(i.ExpressionAttributeValues ?? {}) }));
const rejections = () => dbMock.commandCalls(PutCommand).map((c) => (c.args[0].input as PutCommandInput).Item!);
const published = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input as PublishCommandInput);
const notificationWrites = () =>
  dbMock
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input as UpdateCommandInput)
    .filter((i) => i.ReturnValues !== 'UPDATED_NEW')
    .map((i) => ({ key: i.Key, notification: Object.values(i.ExpressionAttributeValues ?? {}).find((v) => typeof v === 'object' && v !== null && 'status' in v) }));

function withType(resourceType: string | undefined, fixture = 'ec2-c-cactivity-b.json') {
  const event = fixtureEvent(fixture);
  if (resourceType === undefined) delete event.detail.resource.resourceType;
  else event.detail.resource.resourceType = resourceType;
  return event;
}

describe('The catch-all records every finding no playbook takes', () => {
  it('records an EKS finding as skipped (unhandled) and tells people once, with the attributes filters match on', async () => {
    // Prepare
    const eks = withType('EKSCluster');
    const handler = aHandler();

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(JSON.stringify(eks), 'msg-eks')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ignoredWrites()).toHaveLength(1);
    expect(ignoredWrites()[0]!.key).toEqual({ pk: `ignored#${ACCOUNT_ID}#${eks.detail.id}`, sk: 'ignored' });
    expect(ignoredWrites()[0]!.values).toEqual(expect.arrayContaining(['unhandled', 'EKSCluster', UNHANDLED_FUNCTION, 'msg-eks', 'skipped', 'ignored']));
    expect(published()).toHaveLength(1);
    expect(published()[0]).toMatchObject({
      TopicArn: TOPIC_ARN,
      Subject: `Firebreak unhandled finding: EKSCluster in ${ACCOUNT_ID} ${REGION}`,
      MessageAttributes: { status: { DataType: 'String', StringValue: 'unhandled' }, resourceType: { DataType: 'String', StringValue: 'EKSCluster' }, playbook: { DataType: 'String', StringValue: 'unhandled' } },
    });
    expect(notificationWrites()).toEqual([
      { key: { pk: `ignored#${ACCOUNT_ID}#${eks.detail.id}`, sk: 'ignored' }, notification: { status: 'unhandled', at: FIXED_NOW.toISOString(), published: true, messageId: 'sns-1' } },
    ]);
  });

  it('records a finding whose playbook is not enabled (or not written yet) as unhandled, naming that playbook', async () => {
    // Prepare
    const handler = aHandler();

    // Act
    await handler(anSqsEvent(anSqsRecord(fixtureBody('s3-exfiltration-anomalousbehavior.json'), 'msg-s3')), aLambdaContext());

    // Assess
    expect(rejections()).toEqual([]);
    expect(ignoredWrites()).toHaveLength(1);
    const values = ignoredWrites()[0]!.values;
    expect(values).toEqual(expect.arrayContaining(['unhandled', 'S3Bucket', fixtureEvent('s3-exfiltration-anomalousbehavior.json').detail.type]));
    expect(values.find((v) => typeof v === 'string' && v.startsWith('the s3-bucket playbook would take it'))).toBeDefined();
    expect(published()).toHaveLength(1);
    expect(published()[0]!.Subject).toBe(`Firebreak unhandled finding: S3Bucket in ${ACCOUNT_ID} ${REGION}`);
  });

  it('records an EC2 finding as unhandled when it arrives here (the EC2 playbook disabled)', async () => {
    // Act
    await aHandler()(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-ec2')), aLambdaContext());

    // Assess
    expect(ignoredWrites()[0]!.values).toEqual(expect.arrayContaining(['unhandled', 'Instance']));
    expect(published()).toHaveLength(1);
  });

  it('tells nothing when GuardDuty publishes the same unhandled finding again', async () => {
    // Prepare
    dbMock.on(UpdateCommand, { ReturnValues: 'UPDATED_NEW' }).resolves({ Attributes: { deliveries: 2 } });

    // Act
    await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(withType('Lambda')), 'msg-again')), aLambdaContext());

    // Assess
    expect(ignoredWrites()).toHaveLength(1);
    expect(published()).toEqual([]);
  });

  it('records a sample finding of a type no playbook takes as a sample, and tells nobody', async () => {
    // Prepare
    const sample = withType('AttackSequence', 'edge-sample.json');

    // Act
    await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(sample), 'msg-sample')), aLambdaContext());

    // Assess
    expect(ignoredWrites()[0]!.values).toEqual(expect.arrayContaining(['sample', 'AttackSequence']));
    expect(published()).toEqual([]);
  });

  it('records a finding with no resource type as rejected, with the reason, and keeps nothing from anyone', async () => {
    // Act
    const response = await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(withType(undefined)), 'msg-no-type')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rejections()).toHaveLength(1);
    expect(rejections()[0]).toMatchObject({ kind: 'rejected', messageId: 'msg-no-type', playbook: UNHANDLED_FUNCTION });
    expect(rejections()[0]!.reasons.join(' ')).toMatch(/resource/);
    expect(published()).toEqual([]);
  });

  it('rejects a manual finding or a release: they have no place on the catch-all queue', async () => {
    // Prepare
    const manual = manualEvent({ resource: { resourceType: 'Instance', id: 'i-0a1b2c3d4e5f67890' }, ticket: 'SEC-1', requestedBy: RESPONDER });
    const release = manualEvent(
      { incidentId: 'inc-0123456789abcdef', resource: { resourceType: 'Instance', id: 'i-0a1b2c3d4e5f67890' }, reason: 'false positive', requestedBy: RESPONDER },
      { 'detail-type': 'Firebreak Manual Release', source: 'firebreak.manual' },
    );

    // Act
    await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(manual), 'msg-manual'), anSqsRecord(JSON.stringify(release), 'msg-release')), aLambdaContext());

    // Assess
    expect(rejections().map((r) => [r.messageId, r.reasons[0]])).toEqual([
      ['msg-manual', expect.stringMatching(/^a Firebreak Manual Finding on the catch-all queue/)],
      ['msg-release', expect.stringMatching(/^a Firebreak Manual Release on the catch-all queue/)],
    ]);
    expect(ignoredWrites()).toEqual([]);
  });

  it('keeps the message when the ledger cannot record it (retried, then the alarmed DLQ)', async () => {
    // Prepare
    dbMock.on(UpdateCommand, { ReturnValues: 'UPDATED_NEW' }).rejects(new Error('ProvisionedThroughputExceededException'));

    // Act
    const response = await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(withType('EKSCluster')), 'msg-held'), anSqsRecord(fixtureBody('edge-sample.json'), 'msg-ok')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-held' }, { itemIdentifier: 'msg-ok' }] });
    expect(published()).toEqual([]);
  });

  it('records the failed notification on the finding when SNS refuses it, and still deletes the message', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AuthorizationError' }));

    // Act
    const response = await aHandler()(anSqsEvent(anSqsRecord(JSON.stringify(withType('EKSCluster')), 'msg-eks')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(notificationWrites()[0]!.notification).toMatchObject({ status: 'unhandled', published: false, error: { code: 'AuthorizationError' } });
  });

  it('records without telling when no topic is configured', async () => {
    // Act
    await aHandler({ FIREBREAK_TOPIC_ARN: undefined })(anSqsEvent(anSqsRecord(JSON.stringify(withType('EKSCluster')), 'msg-eks')), aLambdaContext());

    // Assess
    expect(ignoredWrites()).toHaveLength(1);
    expect(published()).toEqual([]);
    expect(notificationWrites()).toEqual([]);
  });
});

describe('The catch-all configuration', () => {
  it('reads the ledger, the topic and the region only', () => {
    expect(loadUnhandledConfig({ FIREBREAK_LEDGER_TABLE: LEDGER_TABLE, FIREBREAK_TOPIC_ARN: TOPIC_ARN, AWS_REGION: 'eu-west-1' })).toEqual({
      ledgerTable: LEDGER_TABLE,
      notificationTopicArn: TOPIC_ARN,
      region: 'eu-west-1',
    });
  });

  it('fails at cold start, naming every problem, without a ledger or with a FIFO topic', () => {
    const build = () => loadUnhandledConfig({ FIREBREAK_TOPIC_ARN: `${TOPIC_ARN}.fifo` });
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/FIREBREAK_LEDGER_TABLE is required.*FIREBREAK_TOPIC_ARN must be the ARN of a standard SNS topic/);
  });
});
