import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClientFactory, loadClientsFor, once, patientRetryStrategy, ResponseLostError } from '../../../shared/aws/index.ts';
import { classifyError } from '../../../shared/errors/index.ts';
import { startFaultProxy, type FaultProxy } from '../../../scripts/lib/fault-proxy.ts';

describe('Function: patientRetryStrategy', () => {
  const info = (errorType: 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR') => ({ errorType });

  it('retries throttling and transient errors with full jitter from short bases, up to its attempts', async () => {
    // Prepare
    const strategy = patientRetryStrategy({ maxAttempts: 4, random: () => 0.5 });
    let token = await strategy.acquireInitialRetryToken('');

    // Act
    const delays: number[] = [];
    for (const type of ['THROTTLING', 'THROTTLING', 'TRANSIENT'] as const) {
      token = await strategy.refreshRetryTokenForRetry(token, info(type));
      delays.push(token.getRetryDelay());
    }

    // Assess: 100 ms base for throttling, 50 ms for the rest, doubling per retry.
    expect(delays).toEqual([50, 100, 100]);
    await expect(strategy.refreshRetryTokenForRetry(token, info('THROTTLING'))).rejects.toThrow('No retry token available');
  });

  it('never retries a client error, and keeps no retry quota a storm could drain', async () => {
    const strategy = patientRetryStrategy({ random: () => 0 });
    const first = await strategy.acquireInitialRetryToken('');
    await expect(strategy.refreshRetryTokenForRetry(first, info('CLIENT_ERROR'))).rejects.toThrow();
    await expect(strategy.refreshRetryTokenForRetry(first, info('SERVER_ERROR'))).rejects.toThrow();
    // The SDK's standard strategy refuses after 100 throttled retries (500 tokens, 5 each); this one does not count.
    for (let n = 0; n < 500; n++) {
      const t = await strategy.refreshRetryTokenForRetry(first, info('THROTTLING'));
      strategy.recordSuccess(t);
    }
  });

  it('is what the playbook clients retry with, 5 attempts by default', async () => {
    // The EC2 client's package loads as the engine loads it, from an action a step declares.
    await loadClientsFor(['ec2:DescribeInstances']);
    const clients = createClientFactory({ credentials: { accessKeyId: 't', secretAccessKey: 't' } })({ accountId: '123456789012', region: 'eu-west-1' });
    expect(await clients.ec2.config.maxAttempts()).toBe(5);
    const strategy = await clients.ec2.config.retryStrategy();
    expect((strategy as { mode: string }).mode).toBe('standard');
    expect('getCapacity' in strategy).toBe(false);
  });
});

describe('Function: once — a create without idempotency token is never re-sent blindly', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let creates = 0;
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        creates++;
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<CreateSnapshotsResponse><requestId>r</requestId><snapshotSet><item><snapshotId>snap-1</snapshotId><volumeId>vol-1</volumeId></item></snapshotSet></CreateSnapshotsResponse>');
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => upstream.close(() => r())));
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    creates = 0;
  });

  const ec2 = (endpoint: string) =>
    new EC2Client({ region: 'eu-west-1', endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' }, maxAttempts: 5, retryStrategy: patientRetryStrategy({ random: () => 0 }) });
  const create = () => new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId: 'i-1' } });

  it('the danger: after a lost answer the SDK sends the create again, and it is done twice', async () => {
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'drop-after', rate: 1, service: 'ec2', limit: 1 }] });
    await ec2(proxy.url).send(create());
    expect(creates).toBe(2);
  });

  it('after a lost answer, fails once with a retryable ResponseLostError: the step looks before creating again', async () => {
    // Prepare
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'drop-after', rate: 1, service: 'ec2', limit: 1 }] });

    // Act
    const error = await ec2(proxy.url)
      .send(once(create(), 'CreateSnapshots'))
      .catch((e: unknown) => e);

    // Assess
    expect(creates).toBe(1);
    expect(error).toBeInstanceOf(ResponseLostError);
    expect(classifyError(error)).toMatchObject({ code: 'ResponseLost', retryable: true });
    expect((error as ResponseLostError).operation).toBe('CreateSnapshots');
  });

  it('a 500 leaves unknown whether it was done: not re-sent either', async () => {
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'http500', rate: 1, service: 'ec2', limit: 1 }] });
    await expect(ec2(proxy.url).send(once(create(), 'CreateSnapshots'))).rejects.toBeInstanceOf(ResponseLostError);
  });

  it('a throttled create was refused, not done: the SDK still retries it', async () => {
    proxy = await startFaultProxy({ target: upstreamUrl, rules: [{ kind: 'throttle', rate: 1, service: 'ec2', limit: 2 }] });
    const out = await ec2(proxy.url).send(once(create(), 'CreateSnapshots'));
    expect(out.Snapshots?.[0]?.SnapshotId).toBe('snap-1');
    expect(creates).toBe(1);
    expect(proxy.stats().requests).toBe(3);
  });
});
