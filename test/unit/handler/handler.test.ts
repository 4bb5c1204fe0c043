import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ClientFactory } from '../../../shared/aws/index.ts';
import { definePlaybook, defineStep, type AnyStep, type Patience, type Playbook, type ReleaseResult, type StepContext, type StepResult, type UndoContext } from '../../../shared/engine/index.ts';
import { ConfigurationError } from '../../../shared/errors/index.ts';
import { parseMessage, type PlaybookName } from '../../../shared/findings/index.ts';
import { createFindingHandler } from '../../../shared/handler/index.ts';
import { INCIDENT_RECORD_VERSION, Ledger, type IncidentRecord } from '../../../shared/ledger/index.ts';
import type { StepOutcome } from '../../../shared/vocabulary/index.ts';
import {
  ACCOUNT_ID,
  aLambdaContext,
  anIncident,
  anS3Client,
  anSqsEvent,
  anSqsRecord,
  awsError,
  FIXED_NOW,
  fixtureBody,
  fixtureEvent,
  INSTANCE_ID,
  LEDGER_TABLE,
  manualEvent,
  REGION,
  RESPONDER,
  silentLogger,
  someClients,
  validEnv,
} from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const ssmMock = mockClient(SSMClient);
beforeEach(() => {
  dbMock.on(BatchGetCommand).resolves({});
  dbMock.on(UpdateCommand).resolves({});
  dbMock.on(TransactWriteCommand).resolves({});
  dbMock.on(PutCommand).resolves({});
});
afterEach(() => {
  dbMock.reset();
  sqsMock.reset();
  ssmMock.reset();
  vi.restoreAllMocks();
});

const THROTTLED_INSTANCE = 'i-0d4c3b2a1f0e98765';

/** The options of the fake playbook: Terraform's snake_case keys, validated by the playbook's own schema at cold start. */
const FakeOptionsSchema = z
  .object({
    online_capture: z
      .object({ wait_seconds: z.number().int().min(0).max(30).default(10) })
      .strict()
      .default({ wait_seconds: 10 }),
    label: z.string().min(1).default('fake'),
  })
  .strict();

/** The types of a playbook for one instance-like resource. */
interface Fake {
  resource: { id: string };
  capture: { id: string };
  options: z.infer<typeof FakeOptionsSchema>;
}

const step = defineStep<Fake>();

/**
 * A playbook with one containment step, `isolate` (throttled for `throttled`), whose undo
 * `restore` fails with `releaseFailure` when given; `extraSteps` run after it.
 */
function fakePlaybook(options: { throttled?: string; throttledTimes?: number; releaseFailure?: Error; name?: PlaybookName; extraSteps?: AnyStep<Fake>[] } = {}) {
  let throttles = 0;
  const restore = {
    name: 'restore',
    description: 'Restore',
    iamActions: [],
    run: vi.fn(async (_ctx: UndoContext<Fake, undefined>): Promise<ReleaseResult> => {
      if (options.releaseFailure) throw options.releaseFailure;
      return { status: 'done', summary: 'restored' };
    }),
  };
  const isolate = step({
    name: 'isolate',
    stage: 'contain',
    description: 'Isolate',
    iamActions: [],
    run: vi.fn(async ({ resource }: StepContext<Fake, undefined>): Promise<StepResult<undefined>> => {
      if (resource.id === options.throttled && (options.throttledTimes === undefined || throttles++ < options.throttledTimes)) throw awsError('RequestLimitExceeded', { httpStatusCode: 503 });
      return { status: 'done', summary: `isolated ${resource.id}` };
    }),
    undo: restore,
  });
  const playbook: Playbook<Fake> = definePlaybook<Fake>({
    name: options.name ?? 'ec2-instance',
    options: FakeOptionsSchema,
    describe: async ({ incident }) => ({ id: incident.resource.id }),
    capture: { schema: z.object({ id: z.string() }), of: (r) => ({ id: r.id }) },
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: [],
    isolationStep: isolate,
    steps: [isolate, ...(options.extraSteps ?? [])],
    release: [isolate],
  });
  return { playbook, isolate, restore };
}

/** Waits in-place retries ask for, without waiting: the tests see how many there were. */
const waits: number[] = [];
const instantPatience = { sleep: async (ms: number) => void waits.push(ms) };

function handlerFor(playbook: Playbook<Fake>, env = validEnv(), clientsFor: ClientFactory = () => someClients(), patience: Patience = instantPatience) {
  const platform = {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } })),
    s3: anS3Client(),
    sqs: new SQSClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    sns: new SNSClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    ssm: new SSMClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    events: new EventBridgeClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
  };
  return createFindingHandler(playbook, { env, platform, clientsFor, logger: silentLogger(), now: () => FIXED_NOW, patience });
}

const rejectedPuts = () => dbMock.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);
/** The ignored-finding writes, as the items they set (attribute names resolved). */
const ignoredWrites = () =>
  dbMock
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input)
    .filter((i) => String(i.Key?.pk).startsWith('ignored#'))
    .map((i) => ({
      key: i.Key,
      item: Object.fromEntries(
        Object.entries(i.ExpressionAttributeNames ?? {}).flatMap(([name, attribute]) => {
          const value = i.ExpressionAttributeValues?.[`:${name.slice(1)}`];
          return value === undefined ? [] : [[attribute, value]];
        }),
      ),
    }));

describe('Function: createFindingHandler', () => {
  it('records a malformed message as rejected without failing it, and contains the valid findings of the batch', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);
    const malformed = '{"source":"aws.guardduty", oops';
    const event = anSqsEvent(
      anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1'),
      anSqsRecord(malformed, 'msg-2'),
      anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'msg-3'),
    );

    // Act
    const response = await handler(event, aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(vi.mocked(isolate.run).mock.calls.map(([ctx]) => ctx.resource.id).sort()).toEqual(['i-0a1b2c3d4e5f67890', 'i-0d4c3b2a1f0e98765']);
    expect(rejectedPuts()).toEqual([
      {
        pk: 'rejected#msg-2',
        sk: 'rejected',
        kind: 'rejected',
        messageId: 'msg-2',
        playbook: 'ec2-instance',
        reasons: ['message body is not JSON'],
        reasonCount: 1,
        bodySha256: createHash('sha256').update(malformed).digest('hex'),
        bodyPreview: malformed,
        receivedAt: FIXED_NOW.toISOString(),
        // Who put it on the queue: recorded for every message (anSqsRecord's SenderId)
        senderId: 'AIDAEXAMPLE',
        expiresAt: FIXED_NOW.getTime() / 1000 + 400 * 24 * 3600,
      },
    ]);
    // Both valid findings took a blast-radius slot and were finished as contained.
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
    const finishes = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.startsWith('SET #status = :s'));
    expect(finishes.map((i) => i.ExpressionAttributeValues![':s'])).toEqual(['contained', 'contained']);
  });

  it('hands the steps the options validated at cold start, defaults applied', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_OPTIONS: JSON.stringify({ online_capture: { wait_seconds: 3 }, label: null }) }));

    // Act
    await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1')), aLambdaContext());

    // Assess
    expect(vi.mocked(isolate.run).mock.calls[0]![0].options).toEqual({ online_capture: { wait_seconds: 3 }, label: 'fake' });
  });

  it('keeps the whole body of a rejected message out of the ledger: a bounded, cleaned preview and the hash of all of it', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook);
    const huge = `{"oops":"\u001b[2J${'x'.repeat(100_000)}`;

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(huge, 'msg-huge')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [put] = rejectedPuts();
    expect(put!.bodySha256).toBe(createHash('sha256').update(huge).digest('hex'));
    expect(put!.bodyPreview).toHaveLength(2048);
    expect(put!.bodyPreview.startsWith('{"oops":" [2Jxxx')).toBe(true);
  });

  it('reports only the message whose containment must be retried as a batch-item failure', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ throttled: THROTTLED_INSTANCE });
    const handler = handlerFor(playbook);
    const event = anSqsEvent(
      anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-ok'),
      anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'msg-throttled'),
      anSqsRecord('not json', 'msg-bad'),
    );

    // Act
    const response = await handler(event, aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-throttled' }] });
    expect(rejectedPuts().map((i) => i.messageId)).toEqual(['msg-bad']);
  });

  it('retries a throttled isolation in place, with growing waits, and contains without handing the message back', async () => {
    // Prepare
    waits.length = 0;
    const { playbook, isolate } = fakePlaybook({ throttled: THROTTLED_INSTANCE, throttledTimes: 2 });
    const handler = handlerFor(playbook, validEnv(), () => someClients(), { ...instantPatience, random: () => 0.99 });

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'm1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).toHaveBeenCalledTimes(3);
    expect(waits).toEqual([247, 495]);
  });

  it('hands a throttled isolation back to the queue when the invocation has no time left to wait', async () => {
    // Prepare
    waits.length = 0;
    const { playbook, isolate } = fakePlaybook({ throttled: THROTTLED_INSTANCE, throttledTimes: 1 });
    const handler = handlerFor(playbook);

    // Act: 5 s left, less than the reserve kept for evidence and the ledger.
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'm1')), { ...aLambdaContext(), getRemainingTimeInMillis: () => 5000 });

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(isolate.run).toHaveBeenCalledTimes(1);
    expect(waits).toEqual([]);
  });

  it('returns every message as a failure, rather than throwing, when the whole batch must be retried', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ throttled: THROTTLED_INSTANCE });
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'm1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
  });

  it('keeps the message when the ledger cannot record a rejection', async () => {
    // Prepare
    dbMock.on(PutCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord('not json', 'msg-bad')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-bad' }] });
  });

  it('rejects a finding meant for another playbook (an S3 finding on the EC2 queue) without retrying it', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('s3-exfiltration-anomalousbehavior.json'), 'msg-s3')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).not.toHaveBeenCalled();
    expect(rejectedPuts()).toEqual([
      expect.objectContaining({
        pk: 'rejected#msg-s3',
        reasons: ['finding is for the s3-bucket playbook, but this function runs ec2-instance: check the EventBridge rule'],
      }),
    ]);
  });

  it('re-queues the same message, delayed, when a step waits on AWS, and acknowledges this delivery', async () => {
    // Prepare
    const waiting = step({
      name: 'forensicVolumes',
      stage: 'investigate',
      description: 'Create forensic volumes',
      iamActions: [],
      run: async () => ({ status: 'pending', summary: 'snapshot 20% done', retryAfterSeconds: 60 }),
    });
    const { playbook } = fakePlaybook({ extraSteps: [waiting] });
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/111122223333/firebreak-ec2-instance';
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'follow-up-1' });
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_QUEUE_URL: queueUrl }));
    const body = fixtureBody('ec2-c-cactivity-b.json');

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([{ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: 60, MessageAttributes: { 'firebreak-follow-up': { DataType: 'String', StringValue: expect.any(String) } } }]);
    // The incident records the follow-up it has on its way, so that copies of the finding add none.
    const reserved = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression === 'SET #followUp = :marker');
    expect(reserved).toHaveLength(1);
    expect(reserved[0]!.ExpressionAttributeValues![':marker']).toMatchObject({ id: sent[0]!.MessageAttributes!['firebreak-follow-up']!.StringValue });
  });

  it('still acknowledges the delivery when the follow-up cannot be queued, or no queue is configured', async () => {
    // Prepare
    const waiting = step({ name: 'stop', stage: 'investigate', description: 'Stop', iamActions: [], run: async () => ({ status: 'pending', summary: 'stopping' }) });
    const { playbook } = fakePlaybook({ extraSteps: [waiting] });
    sqsMock.on(SendMessageCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    const withQueue = handlerFor(playbook, validEnv({ FIREBREAK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/q' }));
    const withoutQueue = handlerFor(playbook);

    // Act
    const responses = [
      await withQueue(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1')), aLambdaContext()),
      await withoutQueue(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-2')), aLambdaContext()),
    ];

    // Assess
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input.DelaySeconds)).toEqual([300]);
  });

  it('refuses to start with an invalid configuration, naming the variable', () => {
    // Prepare
    const { playbook } = fakePlaybook();

    // Act
    const build = () => handlerFor(playbook, validEnv({ FIREBREAK_MODE: 'destroy' }));

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/FIREBREAK_MODE/);
  });

  it("refuses to start with options the playbook's schema refuses, naming each by its path", () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const env = validEnv({ FIREBREAK_OPTIONS: JSON.stringify({ online_capture: { wait_seconds: 31 }, lable: 'typo' }) });

    // Act
    let error: unknown;
    try {
      handlerFor(playbook, env);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).issues).toEqual([
      'FIREBREAK_OPTIONS.online_capture.wait_seconds: Too big: expected number to be <=30',
      'FIREBREAK_OPTIONS: Unrecognized key: "lable"',
    ]);
    expect(dbMock.calls()).toHaveLength(0);
  });

  it('refuses to start when the configured playbook is not the one bundled', () => {
    // Prepare
    const { playbook } = fakePlaybook();

    // Act
    const build = () => handlerFor(playbook, validEnv({ FIREBREAK_PLAYBOOK: 's3-bucket' }));

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow('FIREBREAK_PLAYBOOK is s3-bucket but this bundle runs ec2-instance');
  });

  it('builds its own platform clients, client factory and logger when none are injected', () => {
    // Prepare
    const { playbook } = fakePlaybook();

    // Act
    const handler = createFindingHandler(playbook, { env: validEnv() });

    // Assess
    expect(typeof handler).toBe('function');
  });
});

describe('Function: createFindingHandler — findings no playbook acts on', () => {
  /** A fixture's body with `mutate` applied to a copy of its event. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const variantOf = (file: string, mutate: (e: any) => void): string => {
    const event = fixtureEvent(file);
    mutate(event);
    return JSON.stringify(event);
  };
  const SAMPLE_ID = 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1';

  it.each([
    ['a GuardDuty sample', fixtureBody('edge-sample.json'), 'sample', SAMPLE_ID, 'Instance'],
    [
      'a sample whose resource is all placeholders',
      variantOf('edge-sample.json', (e) => {
        const details = e.detail.resource.instanceDetails;
        details.instanceId = 'i-99999999';
        details.networkInterfaces[0].vpcId = 'GeneratedFindingVPCId';
        details.networkInterfaces[0].subnetId = 'GeneratedFindingSubnetId';
      }),
      'sample',
      SAMPLE_ID,
      'Instance',
    ],
    [
      'a resource type no playbook handles',
      variantOf('ec2-c-cactivity-b.json', (e) => (e.detail.resource.resourceType = 'EKSCluster')),
      'unhandled',
      'c6e8a0b2d4f6b8c0e2a4d6f8a0c2e4b6',
      'EKSCluster',
    ],
    [
      'an access key of a user type no playbook handles',
      variantOf('iam-user-consoleloginsuccess-b.json', (e) => (e.detail.resource.accessKeyDetails.userType = 'AWSService')),
      'unhandled',
      'f2b4d6e8a0c2f4b6d8e0a2c4f6b8d0e2',
      'AccessKey',
    ],
  ])('records %s as ignored, reads nothing from AWS, and acknowledges the message', async (_what, body, why, findingId, resourceType) => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const clientsFor = vi.fn(() => someClients());
    const recordIgnored = vi.spyOn(Ledger.prototype, 'recordIgnored');
    const recordRejected = vi.spyOn(Ledger.prototype, 'recordRejected');
    const handler = handlerFor(playbook, validEnv(), clientsFor);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-ignored')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(recordIgnored).toHaveBeenCalledTimes(1);
    expect(recordIgnored.mock.calls[0]![0]).toMatchObject({ why, findingId, resourceType, accountId: ACCOUNT_ID, region: REGION, playbook: 'ec2-instance', messageId: 'msg-ignored', receivedAt: FIXED_NOW.toISOString() });
    expect(recordRejected).not.toHaveBeenCalled();
    expect(clientsFor).not.toHaveBeenCalled();
    expect(isolate.run).not.toHaveBeenCalled();
    expect(dbMock.commandCalls(BatchGetCommand)).toHaveLength(0);
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(rejectedPuts()).toEqual([]);
    expect(ignoredWrites()).toEqual([
      {
        key: { pk: `ignored#${ACCOUNT_ID}#${findingId}`, sk: 'ignored' },
        item: expect.objectContaining({ kind: 'ignored', status: 'skipped', why, findingId, resourceType, messageId: 'msg-ignored' }),
      },
    ]);
  });

  it('keeps the message when the ledger cannot record an ignored finding', async () => {
    // Prepare
    dbMock.on(UpdateCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('edge-sample.json'), 'msg-sample')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-sample' }] });
    expect(rejectedPuts()).toEqual([]);
  });

  it('contains the findings of a batch and ignores its sample, each on its own', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);
    const event = anSqsEvent(anSqsRecord(fixtureBody('edge-sample.json'), 'msg-sample'), anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'msg-real'));

    // Act
    const response = await handler(event, aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(vi.mocked(isolate.run).mock.calls.map(([ctx]) => ctx.resource.id)).toEqual([THROTTLED_INSTANCE]);
    expect(ignoredWrites().map((w) => w.item.messageId)).toEqual(['msg-sample']);
  });
});

describe('Function: createFindingHandler — Firebreak Manual Release', () => {
  const incident = anIncident();
  const INCIDENT_ID = incident.incidentId;
  const containedOutcome: StepOutcome = { stage: 'contain', status: 'done', summary: 'isolated', attempts: 1, finishedAt: '2025-06-19T14:40:12.000Z' };
  /** The ledger's record of the contained incident (v2: the incident nested as parsed). */
  const record = (overrides: Partial<IncidentRecord> = {}): IncidentRecord => ({
    pk: `incident#${INCIDENT_ID}`,
    sk: 'incident',
    kind: 'incident',
    schemaVersion: INCIDENT_RECORD_VERSION,
    incidentId: INCIDENT_ID,
    playbook: 'ec2-instance',
    incident,
    mode: 'contain',
    status: 'contained',
    firstSeenAt: '2025-06-19T14:40:10.000Z',
    lastSeenAt: '2025-06-19T14:40:10.000Z',
    deliveries: 1,
    lastMessageId: 'msg-1',
    capture: { id: INSTANCE_ID, capturedAt: '2025-06-19T14:40:10.000Z' },
    steps: { isolate: containedOutcome },
    ...overrides,
  });
  const claimed = () =>
    record({ release: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, requestedAt: FIXED_NOW.toISOString(), via: 'event', status: 'releasing', claimId: 'c', steps: {} } });
  const releaseBody = (detail: Record<string, unknown> = {}) =>
    JSON.stringify(
      manualEvent(
        { incidentId: INCIDENT_ID, resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'false positive', requestedBy: RESPONDER, ...detail },
        { 'detail-type': 'Firebreak Manual Release', source: 'firebreak.manual' },
      ),
    );
  const releaseWrites = () => dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

  beforeEach(() => {
    dbMock.on(GetCommand).resolves({ Item: record() });
    dbMock.on(UpdateCommand, { ReturnValues: 'ALL_NEW' }).resolves({ Attributes: claimed() });
  });

  it('runs the release of the incident the event names, on the function of its resource type', async () => {
    // Prepare
    const { playbook, restore, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody({ reattach: true }), 'msg-release')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).not.toHaveBeenCalled();
    expect(restore.run).toHaveBeenCalledTimes(1);
    expect(vi.mocked(restore.run).mock.calls[0]![0].request).toEqual({ via: 'event', reattach: true, requestedBy: RESPONDER, reason: 'false positive' });
    expect(vi.mocked(restore.run).mock.calls[0]![0].capture).toEqual({ id: INSTANCE_ID });
    const writes = releaseWrites();
    expect(writes[0]!.ExpressionAttributeValues![':release']).toMatchObject({ via: 'event', requestedBy: RESPONDER, reattach: true, status: 'releasing' });
    expect(writes.at(-1)!.ExpressionAttributeValues).toMatchObject({ ':r_status': 'released', ':released': 'released' });
    expect(rejectedPuts()).toEqual([]);
  });

  it('rejects, and never acts on, a release whose incident is about another resource', async () => {
    // Prepare
    const { playbook, restore } = fakePlaybook();
    const handler = handlerFor(playbook);
    const other = 'i-0fffffffffffffff0';

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody({ resource: { resourceType: 'Instance', id: other } }), 'msg-mismatch')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(releaseWrites()).toEqual([]);
    expect(rejectedPuts()).toEqual([
      expect.objectContaining({
        pk: 'rejected#msg-mismatch',
        reasons: [`Release of ${INCIDENT_ID} refused: the request names resource "${other}" but ${INCIDENT_ID} is about ${INSTANCE_ID}; nothing was changed`],
      }),
    ]);
  });

  it("rejects a release whose incident the ledger keeps under another playbook, without changing anything", async () => {
    // Prepare
    dbMock.on(GetCommand).resolves({ Item: record({ playbook: 's3-bucket' }) });
    const { playbook, restore } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-other-playbook')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(releaseWrites()).toEqual([]);
    expect(rejectedPuts()[0]!.reasons).toEqual([`Release of ${INCIDENT_ID} refused: the request names playbook "ec2-instance" but ${INCIDENT_ID} is about s3-bucket; nothing was changed`]);
  });

  it('rejects a release of an unknown incident without retrying it', async () => {
    // Prepare
    dbMock.on(GetCommand).resolves({});
    const { playbook, restore } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-unknown')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(rejectedPuts().map((p) => p.reasons[0])).toEqual([expect.stringMatching(/^Release of inc-[0-9a-f]{16} refused: no incident/)]);
  });

  it('rejects a release meant for another playbook', async () => {
    // Prepare
    const { playbook, restore } = fakePlaybook({ name: 's3-bucket' });
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_PLAYBOOK: 's3-bucket' }));

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-s3')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(rejectedPuts()[0]!.reasons).toEqual(['release is for the ec2-instance playbook, but this function runs s3-bucket: check the EventBridge rule']);
  });

  it('keeps the message when a release step failed with a retryable error', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ releaseFailure: awsError('RequestLimitExceeded', { httpStatusCode: 503 }) });
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-throttled')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-throttled' }] });
    expect(releaseWrites().at(-1)!.ExpressionAttributeValues).toMatchObject({ ':r_status': 'incomplete', ':r_failures': ['restore'] });
    expect(rejectedPuts()).toEqual([]);
  });

  it('deletes the message when a release step failed permanently, leaving the failure in the ledger', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ releaseFailure: awsError('AccessDenied', { httpStatusCode: 403 }) });
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-denied')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(releaseWrites().at(-1)!.ExpressionAttributeValues).toMatchObject({ ':r_status': 'incomplete', ':r_failures': ['restore'] });
  });

  it('keeps the message while another release of the incident is running', async () => {
    // Prepare
    dbMock.on(GetCommand).resolves({ Item: claimed() });
    const { playbook, restore } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-busy')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-busy' }] });
    expect(restore.run).not.toHaveBeenCalled();
  });

  it('rejects a release event with a hostile reason-less body like any invalid message', async () => {
    // Prepare
    const { playbook, restore } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody({ reason: '\u0000' }), 'msg-bad')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(rejectedPuts()[0]!.reasons).toEqual(['detail.reason: reason must not be empty']);
  });
});

describe('Function: createFindingHandler — people told', () => {
  const snsMock = mockClient(SNSClient);
  afterEach(() => snsMock.reset());

  const TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:firebreak-notifications';
  const withTopic = () => validEnv({ FIREBREAK_TOPIC_ARN: TOPIC_ARN });
  const body = fixtureBody('ec2-c-cactivity-b.json');
  const parsed = parseMessage(body);
  const incident = parsed.kind === 'findings' ? parsed.incidents[0]! : anIncident();
  const published = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
  const notificationWrites = () =>
    dbMock
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .filter((i) => i.UpdateExpression === 'SET #notification = :n')
      .map((i) => ({ key: i.Key, notification: i.ExpressionAttributeValues![':n'] }));
  /** The ledger's record of the incident as the first delivery left it: contained. */
  const containedRecord = (): IncidentRecord => ({
    pk: `incident#${incident.incidentId}`,
    sk: 'incident',
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
    capture: { id: incident.resource.id, capturedAt: FIXED_NOW.toISOString() },
    steps: { isolate: { stage: 'contain', status: 'done', summary: `isolated ${incident.resource.id}`, attempts: 1 } },
    blastRadiusSlotAt: FIXED_NOW.toISOString(),
  });

  it('publishes on a status change, not on a redelivery that changes nothing', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook, withTopic());

    // Act
    const first = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());
    dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [containedRecord()] } });
    const again = await handler(anSqsEvent(anSqsRecord(body, 'msg-2')), aLambdaContext());

    // Assess
    expect([first, again]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(published()).toHaveLength(1);
    const [message] = published();
    expect(message).toMatchObject({ TopicArn: TOPIC_ARN, Subject: `Firebreak contained: Instance ${incident.resource.id} in ${ACCOUNT_ID} ${REGION}` });
    expect(message!.MessageAttributes).toMatchObject({
      status: { DataType: 'String', StringValue: 'contained' },
      playbook: { DataType: 'String', StringValue: 'ec2-instance' },
      severity: { DataType: 'Number', StringValue: String(incident.severity) },
      accountId: { DataType: 'String', StringValue: ACCOUNT_ID },
      incidentId: { DataType: 'String', StringValue: incident.incidentId },
    });
    expect(message!.Message).toContain('Status:       contained (before: new incident)');
    expect(notificationWrites()).toEqual([
      { key: { pk: `incident#${incident.incidentId}`, sk: 'incident' }, notification: { status: 'contained', at: FIXED_NOW.toISOString(), published: true, messageId: 'sns-1' } },
    ]);
  });

  it('a publish failure never fails the message: it is recorded on the incident instead', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(awsError('AuthorizationError', { httpStatusCode: 403, message: 'not authorized to perform SNS:Publish' }));
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook, withTopic());

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).toHaveBeenCalledOnce();
    expect(notificationWrites()).toEqual([
      {
        key: { pk: `incident#${incident.incidentId}`, sk: 'incident' },
        notification: { status: 'contained', at: FIXED_NOW.toISOString(), published: false, error: { code: 'AuthorizationError', message: 'not authorized to perform SNS:Publish' } },
      },
    ]);
  });

  it('a publish failure the ledger cannot record either still never fails the message', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(awsError('InternalError', { httpStatusCode: 500 }));
    dbMock.on(UpdateCommand, { UpdateExpression: 'SET #notification = :n' }).rejects(awsError('ProvisionedThroughputExceededException'));
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook, withTopic());

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published()).toHaveLength(1);
  });

  it('no topic configured: nothing published, nothing recorded about notifications', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).toHaveBeenCalledOnce();
    expect(snsMock.calls()).toHaveLength(0);
    expect(notificationWrites()).toEqual([]);
  });

  it.each([
    ['a FIFO topic', 'arn:aws:sns:us-east-1:111122223333:firebreak-notifications.fifo'],
    ['a queue', 'arn:aws:sqs:us-east-1:111122223333:firebreak-notifications'],
    ['a topic name', 'firebreak-notifications'],
  ])('refuses to start when FIREBREAK_TOPIC_ARN names %s', (_what, arn) => {
    // Prepare
    const { playbook } = fakePlaybook();

    // Act
    const build = () => handlerFor(playbook, validEnv({ FIREBREAK_TOPIC_ARN: arn }));

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/FIREBREAK_TOPIC_ARN must be the ARN of a standard SNS topic/);
  });

  it('tells nothing about a containment that must be retried: the retry (or the DLQ alarm) will', async () => {
    // Prepare
    const throttled = fakePlaybook({ throttled: incident.resource.id });
    const handler = handlerFor(throttled.playbook, withTopic());

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-1' }] });
    expect(published()).toEqual([]);
  });

  it('tells once about a finding no playbook handles, and never about a sample or a rejected message', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-unhandled' });
    const ignored = { ReturnValues: 'UPDATED_NEW' } as const;
    dbMock.on(UpdateCommand, ignored).resolvesOnce({ Attributes: { deliveries: 1 } }).resolves({ Attributes: { deliveries: 2 } });
    const eks = fixtureEvent('ec2-c-cactivity-b.json');
    eks.detail.resource.resourceType = 'EKSCluster';
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook, withTopic());

    // Act
    await handler(anSqsEvent(anSqsRecord(JSON.stringify(eks), 'msg-eks-1')), aLambdaContext());
    await handler(anSqsEvent(anSqsRecord(JSON.stringify(eks), 'msg-eks-2')), aLambdaContext());
    await handler(anSqsEvent(anSqsRecord(fixtureBody('edge-sample.json'), 'msg-sample'), anSqsRecord('not json', 'msg-bad')), aLambdaContext());

    // Assess
    expect(published()).toHaveLength(1);
    expect(published()[0]!.MessageAttributes!.status).toEqual({ DataType: 'String', StringValue: 'unhandled' });
    expect(published()[0]!.Subject).toBe(`Firebreak unhandled finding: EKSCluster in ${ACCOUNT_ID} ${REGION}`);
    expect(notificationWrites()).toEqual([
      { key: { pk: `ignored#${ACCOUNT_ID}#${eks.detail.id}`, sk: 'ignored' }, notification: { status: 'unhandled', at: FIXED_NOW.toISOString(), published: true, messageId: 'sns-unhandled' } },
    ]);
  });

  it('tells subscribers when a release through the bus released the incident, once', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-release' });
    const claimed: IncidentRecord = {
      ...containedRecord(),
      release: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, requestedAt: FIXED_NOW.toISOString(), via: 'event', status: 'releasing', claimId: 'c', steps: {} },
    };
    dbMock.on(GetCommand).resolves({ Item: containedRecord() });
    dbMock.on(UpdateCommand, { ReturnValues: 'ALL_NEW' }).resolves({ Attributes: claimed });
    const releaseBody = JSON.stringify(
      manualEvent(
        { incidentId: incident.incidentId, resource: { resourceType: 'Instance', id: incident.resource.id }, reason: 'false positive', requestedBy: RESPONDER },
        { 'detail-type': 'Firebreak Manual Release', source: 'firebreak.manual' },
      ),
    );
    const { playbook } = fakePlaybook();
    const handler = handlerFor(playbook, withTopic());

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody, 'msg-release')), aLambdaContext());
    dbMock.on(GetCommand).resolves({ Item: { ...claimed, status: 'released', release: { ...claimed.release!, status: 'released', releasedBy: RESPONDER, releasedAt: FIXED_NOW.toISOString() } } });
    const again = await handler(anSqsEvent(anSqsRecord(releaseBody, 'msg-release-again')), aLambdaContext());

    // Assess
    expect([response, again]).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(published()).toHaveLength(1);
    const [message] = published();
    expect(message!.MessageAttributes!.status).toEqual({ DataType: 'String', StringValue: 'released' });
    expect(message!.Message).toContain(`Released by:  ${RESPONDER}`);
    expect(message!.Message).toContain('Status:       released (before: contained)');
    expect(notificationWrites().map((w) => w.notification)).toEqual([{ status: 'released', at: FIXED_NOW.toISOString(), published: true, messageId: 'sns-release' }]);
  });
});

describe('Function: createFindingHandler — the kill switch', () => {
  const PARAMETER = '/firebreak/paused';
  const finishes = () =>
    dbMock
      .commandCalls(UpdateCommand)
      .map((c) => c.args[0].input)
      .filter((i) => i.UpdateExpression?.startsWith('SET #status = :s'))
      .map((i) => ({ status: i.ExpressionAttributeValues![':s'], reason: i.ExpressionAttributeValues![':r'] as string }));

  it('holds a new finding while a responder has paused automation, changes nothing, and says who paused it and why', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({
      Parameter: { Value: JSON.stringify({ paused: true, by: 'arn:aws:sts::111122223333:assumed-role/Responder/alice', at: '2025-06-19T14:00:00.000Z', reason: 'change freeze' }) },
    });
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_PAUSE_PARAMETER: PARAMETER }));

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).not.toHaveBeenCalled();
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(finishes()).toEqual([{ status: 'held', reason: expect.stringMatching(/^Firebreak is paused by arn:aws:sts::111122223333:assumed-role\/Responder\/alice since 2025-06-19T14:00:00.000Z \(change freeze\): nothing was changed/) }]);
  });

  it('contains as usual when the parameter says it is not paused, reading it once for the batch', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify({ paused: false }) } });
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_PAUSE_PARAMETER: PARAMETER }));

    // Act
    await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1'), anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'msg-2')), aLambdaContext());

    // Assess
    expect(isolate.run).toHaveBeenCalledTimes(2);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(finishes().map((f) => f.status)).toEqual(['contained', 'contained']);
  });

  it('cannot be paused without a parameter: nothing is read', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-1')), aLambdaContext());

    // Assess
    expect(isolate.run).toHaveBeenCalledTimes(1);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
  });
});

describe('Function: createFindingHandler — origins on the responders\' bus', () => {
  const PARAMETER = '/firebreak/paused';
  const incident = anIncident();
  const held = (overrides: Partial<IncidentRecord> = {}): IncidentRecord => ({
    pk: `incident#${incident.incidentId}`,
    sk: 'incident',
    kind: 'incident',
    schemaVersion: INCIDENT_RECORD_VERSION,
    incidentId: incident.incidentId,
    playbook: 'ec2-instance',
    incident,
    mode: 'contain',
    status: 'held',
    gates: [{ gate: 'not-paused', passed: false, reason: 'Firebreak is paused' }],
    firstSeenAt: '2025-06-19T14:40:10.000Z',
    lastSeenAt: '2025-06-19T14:40:10.000Z',
    deliveries: 1,
    lastMessageId: 'msg-1',
    steps: {},
    ...overrides,
  });
  const resumeBody = (resource = { resourceType: 'Instance', id: INSTANCE_ID }) =>
    JSON.stringify(manualEvent({ incidentId: incident.incidentId, resource, requestedBy: RESPONDER }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' }));
  const handoffBody = () =>
    JSON.stringify(
      manualEvent(
        { resource: { resourceType: 'Instance', id: INSTANCE_ID }, sourceIncident: { incidentId: 'inc-0123456789abcdef', playbook: 'container' }, reason: 'host of a compromised container', requestedBy: 'firebreak-container' },
        { source: 'firebreak.handoff', 'detail-type': 'Firebreak Hand-off' },
      ),
    );
  const begun = () =>
    dbMock
      .commandCalls(TransactWriteCommand)
      .map((c) => (c.args[0].input.TransactItems![0]!.Update!.ExpressionAttributeValues as Record<string, any>)[':a_incident']);

  it('acts now on an incident the pause held, with origin resume, reading the kill switch afresh (a warm function may have it cached as paused)', async () => {
    // Prepare: this function read "paused" a moment ago
    const { playbook, isolate } = fakePlaybook();
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: JSON.stringify({ paused: true, reason: 'drill' }) } })
      .resolves({ Parameter: { Value: JSON.stringify({ paused: false }) } });
    dbMock.on(GetCommand).resolves({ Item: held() });
    const handler = handlerFor(playbook, validEnv({ FIREBREAK_PAUSE_PARAMETER: PARAMETER }));
    await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'msg-0')), aLambdaContext());

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(resumeBody(), 'msg-resume')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).toHaveBeenCalledTimes(1);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
    expect(begun()[0]).toMatchObject({ incidentId: incident.incidentId, origin: 'resume', redelivery: { origin: 'resume', of: 'guardduty', requestedBy: RESPONDER } });
  });

  it.each([
    ['an incident the ledger does not have', undefined, /which is not in the ledger/],
    ['an incident about another resource', held({ incident: { ...incident, resource: { ...incident.resource, id: 'i-0fffffffffffffff0' } } }), /but the ledger has Instance i-0fffffffffffffff0/],
  ])('rejects a resume of %s, acting on nothing', async (_what, item, reason) => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    dbMock.on(GetCommand).resolves(item ? { Item: item } : {});

    // Act
    await handlerFor(playbook)(anSqsEvent(anSqsRecord(resumeBody(), 'msg-resume')), aLambdaContext());

    // Assess
    expect(isolate.run).not.toHaveBeenCalled();
    expect(rejectedPuts()[0]!.reasons[0]).toMatch(reason);
  });

  it.each([
    ['contained since', held({ status: 'contained' })],
    ['held by the blast-radius limit', held({ gates: [] })],
  ])('leaves alone, without rejecting, an incident %s', async (_what, item) => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    dbMock.on(GetCommand).resolves({ Item: item });

    // Act
    await handlerFor(playbook)(anSqsEvent(anSqsRecord(resumeBody(), 'msg-resume')), aLambdaContext());

    // Assess
    expect(isolate.run).not.toHaveBeenCalled();
    expect(rejectedPuts()).toEqual([]);
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('contains a hand-off and links it to its source incident', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    const handler = handlerFor(playbook);

    // Act
    await handler(anSqsEvent(anSqsRecord(handoffBody(), 'msg-handoff')), aLambdaContext());

    // Assess
    expect(isolate.run).toHaveBeenCalledTimes(1);
    const links = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.Key?.pk === 'incident#inc-0123456789abcdef');
    expect(links.map((l) => l.UpdateExpression)).toEqual(['SET #derived = if_not_exists(#derived, :empty)', 'SET #derived.#id = if_not_exists(#derived.#id, :link)']);
    expect(begun()[0]).toMatchObject({ origin: 'handoff', derivedFrom: { kind: 'handoff', incidentId: 'inc-0123456789abcdef', playbook: 'container' } });
  });

  it('rejects a hand-off from an incident the ledger does not have, acting on nothing', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();
    dbMock.on(UpdateCommand, { ConditionExpression: 'attribute_exists(pk)' }).rejects(awsError('ConditionalCheckFailedException'));

    // Act
    await handlerFor(playbook)(anSqsEvent(anSqsRecord(handoffBody(), 'msg-handoff')), aLambdaContext());

    // Assess
    expect(isolate.run).not.toHaveBeenCalled();
    expect(rejectedPuts()[0]!.reasons).toEqual(['hand-off from incident inc-0123456789abcdef, which is not in the ledger; nothing was changed']);
  });
});
