import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Playbook, StepDefinition } from '../../../shared/engine/index.ts';
import { ConfigurationError } from '../../../shared/errors/index.ts';
import { createFindingHandler } from '../../../shared/handler/index.ts';
import type { ReleaseStepDefinition } from '../../../shared/release/index.ts';
import { aRecord, contained, INCIDENT_ID, RESPONDER } from '../release/helpers.ts';
import {
  aLambdaContext,
  anS3Client,
  anSqsEvent,
  anSqsRecord,
  awsError,
  FIXED_NOW,
  fixtureBody,
  INSTANCE_ID,
  LEDGER_TABLE,
  manualEvent,
  REGION,
  silentLogger,
  someClients,
  validEnv,
} from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
beforeEach(() => {
  dbMock.on(BatchGetCommand).resolves({});
  dbMock.on(UpdateCommand).resolves({});
  dbMock.on(TransactWriteCommand).resolves({});
  dbMock.on(PutCommand).resolves({});
});
afterEach(() => {
  dbMock.reset();
  sqsMock.reset();
});

const THROTTLED_INSTANCE = 'i-0d4c3b2a1f0e98765';

/** An EC2 playbook with one containment step, which is throttled for one instance. */
function playbookThrottling(instanceId: string | undefined) {
  const isolate: StepDefinition<{ id: string }> = {
    name: 'isolate',
    stage: 'contain',
    description: 'Isolate',
    iamActions: [],
    run: vi.fn(async ({ resource }) => {
      if (resource.id === instanceId) throw awsError('RequestLimitExceeded', { httpStatusCode: 503 });
      return { status: 'done' as const, summary: `isolated ${resource.id}` };
    }),
  };
  const playbook: Playbook<{ id: string }> = {
    name: 'ec2-instance',
    describe: async ({ incident }) => ({ id: incident.resource.id }),
    capture: (r) => ({ ...r }),
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: [],
    isolationStep: 'isolate',
    steps: [isolate],
  };
  return { playbook, isolate };
}

function handlerFor(playbook: Playbook<{ id: string }>, env = validEnv()) {
  const platform = {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } })),
    s3: anS3Client(),
    sqs: new SQSClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
  };
  return createFindingHandler(playbook, { env, platform, clientsFor: () => someClients(), logger: silentLogger(), now: () => FIXED_NOW });
}

const rejectedPuts = () => dbMock.commandCalls(PutCommand).map((c) => c.args[0].input.Item!);

describe('Function: createFindingHandler', () => {
  it('records a malformed message as rejected without failing it, and contains the valid findings of the batch', async () => {
    // Prepare
    const { playbook, isolate } = playbookThrottling(undefined);
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
        bodySha256: createHash('sha256').update(malformed).digest('hex'),
        bodyPreview: malformed,
        receivedAt: FIXED_NOW.toISOString(),
        expiresAt: FIXED_NOW.getTime() / 1000 + 400 * 24 * 3600,
      },
    ]);
    // Both valid findings took a blast-radius slot and were finished as contained.
    expect(dbMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
    const finishes = dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input).filter((i) => i.UpdateExpression?.startsWith('SET #status = :s'));
    expect(finishes.map((i) => i.ExpressionAttributeValues![':s'])).toEqual(['contained', 'contained']);
  });

  it("reports only the message whose containment must be retried as a batch-item failure", async () => {
    // Prepare
    const { playbook } = playbookThrottling(THROTTLED_INSTANCE);
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

  it('returns every message as a failure, rather than throwing, when the whole batch must be retried', async () => {
    // Prepare
    const { playbook } = playbookThrottling(THROTTLED_INSTANCE);
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(fixtureBody('ec2-bitcointool-b-dns.json'), 'm1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
  });

  it('keeps the message when the ledger cannot record a rejection', async () => {
    // Prepare
    dbMock.on(PutCommand).rejects(awsError('ProvisionedThroughputExceededException'));
    const { playbook } = playbookThrottling(undefined);
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord('not json', 'msg-bad')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-bad' }] });
  });

  it('rejects a finding meant for another playbook (an S3 finding on the EC2 queue) without retrying it', async () => {
    // Prepare
    const { playbook, isolate } = playbookThrottling(undefined);
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
    const { playbook } = playbookThrottling(undefined);
    const waiting: StepDefinition<{ id: string }> = {
      name: 'forensicVolumes',
      stage: 'investigate',
      description: 'Create forensic volumes',
      iamActions: [],
      run: async () => ({ status: 'pending', summary: 'snapshot 20% done', retryAfterSeconds: 60 }),
    };
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/111122223333/firebreak-ec2-instance';
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'follow-up-1' });
    const handler = handlerFor({ ...playbook, steps: [...playbook.steps, waiting] }, validEnv({ FIREBREAK_QUEUE_URL: queueUrl }));
    const body = fixtureBody('ec2-c-cactivity-b.json');

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(body, 'msg-1')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: 60 }]);
  });

  it('still acknowledges the delivery when the follow-up cannot be queued, or no queue is configured', async () => {
    // Prepare
    const { playbook } = playbookThrottling(undefined);
    const waiting: StepDefinition<{ id: string }> = {
      name: 'stop',
      stage: 'investigate',
      description: 'Stop',
      iamActions: [],
      run: async () => ({ status: 'pending', summary: 'stopping' }),
    };
    sqsMock.on(SendMessageCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    const withQueue = handlerFor({ ...playbook, steps: [...playbook.steps, waiting] }, validEnv({ FIREBREAK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111122223333/q' }));
    const withoutQueue = handlerFor({ ...playbook, steps: [...playbook.steps, waiting] });

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
    const { playbook } = playbookThrottling(undefined);

    // Act
    const build = () => handlerFor(playbook, validEnv({ FIREBREAK_MODE: 'destroy' }));

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/FIREBREAK_MODE/);
  });

  it('refuses to start when the configured playbook is not the one bundled', () => {
    // Prepare
    const { playbook } = playbookThrottling(undefined);

    // Act
    const build = () => handlerFor(playbook, validEnv({ FIREBREAK_PLAYBOOK: 's3-bucket' }));

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow('FIREBREAK_PLAYBOOK is s3-bucket but this bundle runs ec2-instance');
  });

  it('builds its own platform clients, client factory and logger when none are injected', () => {
    // Prepare
    const { playbook } = playbookThrottling(undefined);

    // Act
    const handler = createFindingHandler(playbook, { env: validEnv() });

    // Assess
    expect(typeof handler).toBe('function');
  });
});

describe('Function: createFindingHandler — Firebreak Manual Release', () => {
  /** A playbook with one release step, which fails as the test says. */
  function playbookReleasing(failure?: Error, name: Playbook<{ id: string }>['name'] = 'ec2-instance') {
    const restore: ReleaseStepDefinition<{ id: string }> = {
      name: 'restore',
      description: 'Restore',
      iamActions: [],
      run: vi.fn(async () => {
        if (failure) throw failure;
        return { status: 'done' as const, summary: 'restored' };
      }),
    };
    const { playbook, isolate } = playbookThrottling(undefined);
    return { playbook: { ...playbook, name, release: [restore] }, restore, isolate };
  }
  const releaseBody = (detail: Record<string, unknown> = {}) =>
    JSON.stringify(
      manualEvent(
        { incidentId: INCIDENT_ID, resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'false positive', requestedBy: RESPONDER, ...detail },
        { 'detail-type': 'Firebreak Manual Release', source: 'firebreak.manual' },
      ),
    );
  const record = aRecord({ steps: { isolate: contained('done') } });
  const claimed = () => ({ ...record, release: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, requestedAt: FIXED_NOW.toISOString(), via: 'event', status: 'releasing', claimId: 'c', steps: {} } });
  const releaseWrites = () => dbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

  beforeEach(() => {
    dbMock.on(GetCommand).resolves({ Item: record });
    dbMock.on(UpdateCommand, { ReturnValues: 'ALL_NEW' }).resolves({ Attributes: claimed() });
  });

  it('runs the release of the incident the event names, on the function of its resource type', async () => {
    // Prepare
    const { playbook, restore, isolate } = playbookReleasing();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody({ reattach: true }), 'msg-release')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).not.toHaveBeenCalled();
    expect(restore.run).toHaveBeenCalledTimes(1);
    expect(vi.mocked(restore.run).mock.calls[0]![0].request).toMatchObject({ incidentId: INCIDENT_ID, via: 'event', reattach: true, requestedBy: RESPONDER, reason: 'false positive' });
    const writes = releaseWrites();
    expect(writes[0]!.ExpressionAttributeValues![':release']).toMatchObject({ via: 'event', requestedBy: RESPONDER, reattach: true, status: 'releasing' });
    expect(writes.at(-1)!.ExpressionAttributeValues).toMatchObject({ ':r_status': 'released', ':released': 'released' });
    expect(rejectedPuts()).toEqual([]);
  });

  it('rejects, and never acts on, a release whose incident is about another resource', async () => {
    // Prepare
    const { playbook, restore } = playbookReleasing();
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

  it('rejects a release of an unknown incident without retrying it', async () => {
    // Prepare
    dbMock.on(GetCommand).resolves({});
    const { playbook, restore } = playbookReleasing();
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
    const { playbook, restore } = playbookReleasing(undefined, 's3-bucket');
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
    const { playbook } = playbookReleasing(awsError('RequestLimitExceeded', { httpStatusCode: 503 }));
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
    const { playbook } = playbookReleasing(awsError('AccessDenied', { httpStatusCode: 403 }));
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-denied')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(releaseWrites().at(-1)!.ExpressionAttributeValues).toMatchObject({ ':r_status': 'incomplete' });
  });

  it('keeps the message while another release of the incident is running', async () => {
    // Prepare
    dbMock.on(GetCommand).resolves({ Item: claimed() });
    const { playbook, restore } = playbookReleasing();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody(), 'msg-busy')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-busy' }] });
    expect(restore.run).not.toHaveBeenCalled();
  });

  it('rejects a release event with a hostile reason-less body like any invalid message', async () => {
    // Prepare
    const { playbook, restore } = playbookReleasing();
    const handler = handlerFor(playbook);

    // Act
    const response = await handler(anSqsEvent(anSqsRecord(releaseBody({ reason: '\u0000' }), 'msg-bad')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(rejectedPuts()[0]!.reasons).toEqual(['detail.reason: reason must not be empty']);
  });
});
