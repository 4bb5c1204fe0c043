import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccountClient, GetContactInformationCommand } from '@aws-sdk/client-account';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetDetectorCommand, GuardDutyClient } from '@aws-sdk/client-guardduty';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ec2Bucket, identify, seededRandom, startFaultProxy, tokenBuckets, type FaultProxy } from '../../../scripts/lib/fault-proxy.ts';

/** An "emulator" that answers every request with an empty success and counts what reached it. */
let upstream: Server;
let upstreamUrl: string;
let reached: string[] = [];
beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      reached.push(`${req.method} ${req.url} ${body.slice(0, 80)}`);
      const action = new URLSearchParams(body).get('Action');
      if (action === 'ModifyNetworkInterfaceAttribute') {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<ModifyNetworkInterfaceAttributeResponse><requestId>r</requestId><return>true</return></ModifyNetworkInterfaceAttributeResponse>');
        return;
      }
      if (action === 'DescribeInstances') {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<DescribeInstancesResponse><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>');
        return;
      }
      if (action) {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<${action}Response><${action}Result/></${action}Response>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => upstream.close(() => r())));

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  reached = [];
});

const config = (endpoint: string, maxAttempts = 1) => ({ region: 'eu-west-1', endpoint, maxAttempts, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** Every service Firebreak calls, one call each, and the error its throttling answer must parse as. */
const SERVICES: Array<{ service: string; code: string; call: (endpoint: string) => Promise<unknown> }> = [
  { service: 'ec2', code: 'RequestLimitExceeded', call: (e) => new EC2Client(config(e)).send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: 'eni-1', Groups: ['sg-1'] })) },
  { service: 'autoscaling', code: 'Throttling', call: (e) => new AutoScalingClient(config(e)).send(new DescribeAutoScalingGroupsCommand({})) },
  { service: 'iam', code: 'Throttling', call: (e) => new IAMClient(config(e)).send(new GetRoleCommand({ RoleName: 'r' })) },
  { service: 'sts', code: 'Throttling', call: (e) => new STSClient(config(e)).send(new GetCallerIdentityCommand({})) },
  { service: 'rds', code: 'Throttling', call: (e) => new RDSClient(config(e)).send(new DescribeDBInstancesCommand({})) },
  { service: 'sns', code: 'Throttling', call: (e) => new SNSClient(config(e)).send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:1:t', Message: 'm' })) },
  { service: 'elasticloadbalancing', code: 'ThrottlingException', call: (e) => new ElasticLoadBalancingV2Client(config(e)).send(new DescribeTargetGroupsCommand({})) },
  { service: 'elasticloadbalancing', code: 'ThrottlingException', call: (e) => new ElasticLoadBalancingClient(config(e)).send(new DescribeLoadBalancersCommand({})) },
  { service: 'ecs', code: 'ThrottlingException', call: (e) => new ECSClient(config(e)).send(new DescribeTasksCommand({ tasks: ['t'] })) },
  { service: 'ssm', code: 'ThrottlingException', call: (e) => new SSMClient(config(e)).send(new SendCommandCommand({ DocumentName: 'd', InstanceIds: ['i-1'] })) },
  { service: 'cloudtrail', code: 'ThrottlingException', call: (e) => new CloudTrailClient(config(e)).send(new LookupEventsCommand({})) },
  { service: 'secretsmanager', code: 'ThrottlingException', call: (e) => new SecretsManagerClient(config(e)).send(new GetSecretValueCommand({ SecretId: 's' })) },
  { service: 'events', code: 'ThrottlingException', call: (e) => new EventBridgeClient(config(e)).send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] })) },
  { service: 'dynamodb', code: 'ProvisionedThroughputExceededException', call: (e) => new DynamoDBClient(config(e)).send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } })) },
  { service: 'dynamodb', code: 'ThrottlingException', call: (e) => new DynamoDBClient(config(e)).send(new DescribeTableCommand({ TableName: 't' })) },
  { service: 'sqs', code: 'RequestThrottled', call: (e) => new SQSClient(config(e)).send(new ReceiveMessageCommand({ QueueUrl: `${e}/123456789012/q` })) },
  { service: 'lambda', code: 'TooManyRequestsException', call: (e) => new LambdaClient(config(e)).send(new ListFunctionsCommand({})) },
  { service: 'guardduty', code: 'TooManyRequestsException', call: (e) => new GuardDutyClient(config(e)).send(new GetDetectorCommand({ DetectorId: 'd' })) },
  { service: 'account', code: 'TooManyRequestsException', call: (e) => new AccountClient(config(e)).send(new GetContactInformationCommand({})) },
  { service: 's3', code: 'SlowDown', call: (e) => new S3Client({ ...config(e), forcePathStyle: true }).send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })) },
];

describe('Fault proxy: each service throttled in its own words', () => {
  it.each(SERVICES.map((s) => [s.service, s.code, s] as const))('%s answers %s, which its SDK client parses and retries as throttling', async (service, code, s) => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'throttle', rate: 1, service }] });

    // Act
    const error = await s.call(proxy.url).then(
      () => undefined,
      (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
    );

    // Assess
    expect(error?.name).toBe(code);
    expect(isThrottlingError(error as never)).toBe(true);
    expect(reached).toEqual([]);
    expect(proxy.stats().byService[service]?.faults.throttle).toBe(1);
  });
});

describe('Fault proxy: server errors, slow answers and dropped connections', () => {
  it('answers 500 and 503 in the service\'s shape, which the SDK treats as transient', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'http500', rate: 1, service: 'autoscaling' }, { kind: 'http503', rate: 1, service: 'dynamodb' }] });

    // Act
    const e500 = await new AutoScalingClient(config(proxy.url)).send(new DescribeAutoScalingGroupsCommand({})).catch((e: Error) => e);
    const e503 = await new DynamoDBClient(config(proxy.url)).send(new DescribeTableCommand({ TableName: 't' })).catch((e: Error) => e);

    // Assess
    expect((e500 as Error).name).toBe('InternalError');
    expect(isTransientError(e500 as never)).toBe(true);
    expect((e503 as Error).name).toBe('ServiceUnavailable');
    expect(isTransientError(e503 as never)).toBe(true);
  });

  it('drops the connection before the emulator sees the request: the SDK sees a transient network error', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'drop-before', rate: 1, service: 'ec2' }] });

    // Act
    const error = await new EC2Client(config(proxy.url)).send(new DescribeInstancesCommand({})).catch((e: Error) => e);

    // Assess
    expect(isTransientError(error as never)).toBe(true);
    expect(reached).toEqual([]);
  });

  it('drops the connection after the emulator handled the request: done, and the client never knows', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'drop-after', rate: 1, service: 'ec2', action: 'ModifyNetworkInterfaceAttribute' }] });

    // Act
    const error = await new EC2Client(config(proxy.url)).send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: 'eni-1', Groups: ['sg-1'] })).catch((e: Error) => e);

    // Assess
    expect(isTransientError(error as never)).toBe(true);
    expect(reached).toHaveLength(1);
    expect(reached[0]).toContain('Action=ModifyNetworkInterfaceAttribute');
    expect(proxy.stats().byService.ec2?.actions.ModifyNetworkInterfaceAttribute?.faults['drop-after']).toBe(1);
  });

  it('holds a slow answer for the rule\'s delay, then forwards it', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'delay', rate: 1, delayMs: 150, service: 'ec2' }] });
    const started = Date.now();

    // Act
    const out = await new EC2Client(config(proxy.url)).send(new DescribeInstancesCommand({}));

    // Assess
    expect(out.Reservations).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(proxy.stats().byService.ec2?.faults.delay).toBe(1);
  });

  it('lets the SDK\'s own retry through once a limited rule is spent', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'http503', rate: 1, service: 'ec2', limit: 1 }] });

    // Act
    const out = await new EC2Client(config(proxy.url, 2)).send(new DescribeInstancesCommand({}));

    // Assess
    expect(out.Reservations).toEqual([]);
    expect(proxy.stats()).toMatchObject({ requests: 2, faults: 1 });
    expect(reached).toHaveLength(1);
  });
});

describe('Fault proxy: rates are seeded and per service', () => {
  it('faults about the set rate of one service and none of another, the same requests for the same seed', async () => {
    // Prepare
    const run = async (seed: number) => {
      const p = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'http503', rate: 0.3, service: 'ec2' }], seed });
      const ec2 = new EC2Client(config(p.url));
      const asg = new AutoScalingClient(config(p.url));
      const outcomes: boolean[] = [];
      for (let n = 0; n < 40; n++) outcomes.push(await ec2.send(new DescribeInstancesCommand({})).then(() => true, () => false));
      const asgOk = await asg.send(new DescribeAutoScalingGroupsCommand({})).then(() => true, () => false);
      const stats = p.stats();
      await p.close();
      return { outcomes, asgOk, stats };
    };

    // Act
    const a = await run(42);
    const b = await run(42);

    // Assess
    expect(a.outcomes).toEqual(b.outcomes);
    const faulted = a.outcomes.filter((ok) => !ok).length;
    expect(faulted).toBeGreaterThan(4);
    expect(faulted).toBeLessThan(22);
    expect(a.asgOk).toBe(true);
    expect(a.stats.byService.ec2?.faults.http503).toBe(faulted);
    expect(a.stats.log).toHaveLength(41);
  });

  it('changes its rules while running', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'throttle', rate: 1, service: 'ec2' }] });
    const ec2 = new EC2Client(config(proxy.url));
    const before = await ec2.send(new DescribeInstancesCommand({})).catch((e: Error) => e);

    // Act
    proxy.setRules([]);
    proxy.resetStats();
    const after = await ec2.send(new DescribeInstancesCommand({}));

    // Assess
    expect((before as Error).name).toBe('RequestLimitExceeded');
    expect(after.Reservations).toEqual([]);
    expect(proxy.stats()).toMatchObject({ requests: 1, faults: 0 });
  });

  it('draws a reproducible sequence from a seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('Fault proxy: EC2 request rate limits', () => {
  it('puts each action in its documented bucket', () => {
    expect(ec2Bucket('DescribeInstances', 'Action=DescribeInstances&Version=2016-11-15')).toMatchObject({ key: 'unfiltered-non-mutating', capacity: 50, refill: 10 });
    expect(ec2Bucket('DescribeInstances', 'Action=DescribeInstances&InstanceId.1=i-1')).toMatchObject({ key: 'non-mutating', capacity: 100, refill: 20 });
    expect(ec2Bucket('DescribeVpcs', '')).toMatchObject({ key: 'non-mutating' });
    expect(ec2Bucket('RevokeSecurityGroupEgress', '')).toMatchObject({ key: 'mutating', capacity: 50, refill: 5 });
    expect(ec2Bucket('AuthorizeSecurityGroupIngress', '')).toMatchObject({ key: 'resource-intensive', capacity: 50, refill: 5 });
    expect(ec2Bucket('ModifyNetworkInterfaceAttribute', '')).toMatchObject({ key: 'ModifyNetworkInterfaceAttribute', capacity: 100, refill: 5 });
    expect(ec2Bucket('CreateSnapshots', '')).toMatchObject({ capacity: 100, refill: 5 });
  });

  it('empties a bucket, answers RequestLimitExceeded, and refills it at its rate', () => {
    let t = 0;
    const buckets = tokenBuckets(() => t);
    const taken = Array.from({ length: 6 }, () => buckets.take('mutating', 5, 2));
    expect(taken).toEqual([true, true, true, true, true, false]);
    t = 500; // half a second at 2 per second: one token
    expect([buckets.take('mutating', 5, 2), buckets.take('mutating', 5, 2)]).toEqual([true, false]);
  });

  it('throttles EC2 past its bucket and nothing else', async () => {
    // Prepare: a bucket scaled to a tenth (5 mutating calls, then half a token a second).
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'ec2-rate-limit', scale: 0.1 }] });
    const ec2 = new EC2Client(config(proxy.url));

    // Act
    const outcomes = [];
    for (let n = 0; n < 7; n++) outcomes.push(await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: 'eni-1', Groups: ['sg-1'] })).then(() => 'ok', (e: Error) => e.name));
    const asg = await new AutoScalingClient(config(proxy.url)).send(new DescribeAutoScalingGroupsCommand({})).then(() => 'ok');

    // Assess: ModifyNetworkInterfaceAttribute has its own bucket of 100 (10 at a tenth).
    expect(outcomes).toEqual(Array(7).fill('ok'));
    for (let n = 0; n < 4; n++) outcomes.push(await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: 'eni-1', Groups: ['sg-1'] })).then(() => 'ok', (e: Error) => e.name));
    expect(outcomes.slice(7)).toEqual(['ok', 'ok', 'ok', 'RequestLimitExceeded']);
    expect(asg).toBe('ok');
    expect(proxy.stats().byService.ec2?.faults['rate-limited']).toBe(1);
  });
});

describe('Fault proxy: recognising the service and the action', () => {
  const auth = (service: string) => ({ authorization: `AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/${service}/aws4_request, SignedHeaders=host, Signature=x` });
  it('reads the Action form field, the X-Amz-Target header, presigned scopes and REST paths', () => {
    expect(identify({ method: 'POST', url: '/', headers: { ...auth('ec2'), 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }, 'Action=CreateSnapshots&Version=2016-11-15')).toEqual({ service: 'ec2', action: 'CreateSnapshots', version: '2016-11-15' });
    expect(identify({ method: 'POST', url: '/', headers: { ...auth('dynamodb'), 'x-amz-target': 'DynamoDB_20120810.UpdateItem' } }, '{}')).toEqual({ service: 'dynamodb', action: 'UpdateItem' });
    expect(identify({ method: 'GET', url: '/bucket/key?X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fs3%2Faws4_request', headers: {} }, '')).toEqual({ service: 's3', action: 'GET /{bucket}' });
    expect(identify({ method: 'GET', url: '/detector/d', headers: auth('guardduty') }, '')).toEqual({ service: 'guardduty', action: 'GET /detector' });
    expect(identify({ method: 'GET', url: '/', headers: {} }, '')).toEqual({ service: 'unknown', action: 'GET /' });
  });
});
