import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { definePlaybook, defineStep, type Playbook, type ReleaseResult, type StepResult } from '../../../shared/engine/index.ts';
import { createFindingHandler } from '../../../shared/handler/index.ts';
import { aLambdaContext, anS3Client, anSqsEvent, anSqsRecord, fixtureBody, FIXED_NOW, INSTANCE_ID, manualEvent, REGION, RESPONDER, silentLogger, someClients, validEnv } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => {
  dbMock.on(BatchGetCommand).resolves({});
  dbMock.on(UpdateCommand).resolves({});
  dbMock.on(TransactWriteCommand).resolves({});
  dbMock.on(PutCommand).resolves({});
});
afterEach(() => {
  dbMock.reset();
  vi.restoreAllMocks();
});

interface Fake {
  resource: { id: string };
  capture: { id: string };
  options: Record<string, never>;
}

/** One containment step and its undo, both watched. */
function fakePlaybook() {
  const restore = { name: 'restore', description: 'Restore', iamActions: [], run: vi.fn(async (): Promise<ReleaseResult> => ({ status: 'done', summary: 'restored' })) };
  const isolate = defineStep<Fake>()({
    name: 'isolate',
    stage: 'contain',
    description: 'Isolate',
    iamActions: [],
    run: vi.fn(async (): Promise<StepResult<undefined>> => ({ status: 'done', summary: 'isolated' })),
    undo: restore,
  });
  const playbook: Playbook<Fake> = definePlaybook<Fake>({
    name: 'ec2-instance',
    options: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    describe: async ({ incident }) => ({ id: incident.resource.id }),
    capture: { schema: z.object({ id: z.string() }), of: (r) => ({ id: r.id }) },
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: [],
    isolationStep: isolate,
    steps: [isolate],
    release: [isolate],
  });
  return { playbook, isolate, restore };
}

function handlerFor(playbook: Playbook<Fake>, role: 'contain' | 'release') {
  const credentials = { accessKeyId: 't', secretAccessKey: 't' };
  const platform = {
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, credentials })),
    s3: anS3Client(),
    sqs: new SQSClient({ region: REGION, credentials }),
    sns: new SNSClient({ region: REGION, credentials }),
    ssm: new SSMClient({ region: REGION, credentials }),
    events: new EventBridgeClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
  };
  return createFindingHandler(playbook, { env: validEnv({ FIREBREAK_FUNCTION_ROLE: role }), platform, clientsFor: () => someClients(), logger: silentLogger(), now: () => FIXED_NOW });
}

const releaseBody = () =>
  JSON.stringify(
    manualEvent(
      { incidentId: 'inc-0123456789abcdef', resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'false positive', requestedBy: RESPONDER },
      { 'detail-type': 'Firebreak Manual Release', source: 'firebreak.manual' },
    ),
  );
const rejections = () => dbMock.commandCalls(PutCommand).map((c) => c.args[0].input.Item!).filter((i) => i.kind === 'rejected');

describe('Function: createFindingHandler — each function handles its own messages only', () => {
  it('the containment function rejects a release, records why, and undoes nothing', async () => {
    // Prepare
    const { playbook, restore } = fakePlaybook();

    // Act
    const response = await handlerFor(playbook, 'contain')(anSqsEvent(anSqsRecord(releaseBody(), 'msg-release')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(restore.run).not.toHaveBeenCalled();
    expect(rejections().map((r) => r.reasons)).toEqual([['a release reached the containment function: releases go to the release function (check the EventBridge rules)']]);
  });

  it('the release function rejects a finding, records why, and contains nothing', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();

    // Act
    const response = await handlerFor(playbook, 'release')(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-finding')), aLambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(isolate.run).not.toHaveBeenCalled();
    expect(rejections().map((r) => r.reasons)).toEqual([['a finding reached the release function: findings go to the containment function (check the EventBridge rules)']]);
  });

  it('the containment function contains a finding', async () => {
    // Prepare
    const { playbook, isolate } = fakePlaybook();

    // Act
    await handlerFor(playbook, 'contain')(anSqsEvent(anSqsRecord(fixtureBody('ec2-c-cactivity-b.json'), 'msg-finding')), aLambdaContext());

    // Assess
    expect(isolate.run).toHaveBeenCalledTimes(1);
    expect(rejections()).toEqual([]);
  });
});
