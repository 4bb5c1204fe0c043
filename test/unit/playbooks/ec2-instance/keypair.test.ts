import { DescribeInstancesCommand, DescribeKeyPairsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { recordKeyPair } from '../../../../shared/playbooks/ec2-instance/keypair.ts';
import { anInstance, aStepContext, awsError, INSTANCE_ID } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const withKey = aStepContext({ resource: anInstance({ keyName: 'ops-2024' }) });

/**
 * Answers a command with `pages` in turn and records the input each call is made with, as it
 * was then (the SDK's paginators reuse one input object, so the recorded calls all show the last).
 */
function paged(behavior: { callsFake(fn: (input: Record<string, unknown>) => unknown): unknown }, pages: object[]): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  behavior.callsFake((input) => {
    seen.push({ ...input });
    return pages[seen.length - 1];
  });
  return seen;
}

describe('Step: recordKeyPair', () => {
  it('records the key pair, its fingerprint and every other instance that trusts it, paging through them, and recommends rotation', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand, { KeyNames: ['ops-2024'] }).resolves({ KeyPairs: [{ KeyName: 'ops-2024', KeyFingerprint: 'ab:cd:ef', KeyPairId: 'key-0123', KeyType: 'ed25519' }] });
    const calls = paged(ec2Mock.on(DescribeInstancesCommand), [
      { Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID }, { InstanceId: 'i-0bbbbbbbbbbbbbbb2' }] }], NextToken: 'page-2' },
      { Reservations: [{ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] }] },
    ]);

    // Act
    const result = await recordKeyPair.run(withKey);

    // Assess
    expect(calls.map((c) => c.Filters)).toEqual([
      [
        { Name: 'key-name', Values: ['ops-2024'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
      expect.anything(),
    ]);
    expect(calls.map((c) => [c.NextToken, c.MaxResults])).toEqual([
      [undefined, 1000],
      ['page-2', 1000],
    ]);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({
      keyName: 'ops-2024',
      fingerprint: 'ab:cd:ef',
      keyPairId: 'key-0123',
      keyType: 'ed25519',
      stillInEc2: true,
      otherInstances: ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'],
      recommendation: expect.any(String),
    });
    expect(String(result.data!.recommendation)).toMatch(/authorized_keys.*2 other instance/);
    // What it records reads back with the step's schema, as a ledger holding it is read.
    expect(recordKeyPair.data.parse(JSON.parse(JSON.stringify(result.data)))).toEqual(result.data);
  });

  it('still records the name when the key pair was deleted from EC2, which removes it from no instance', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand).rejects(awsError('InvalidKeyPair.NotFound'));
    ec2Mock.on(DescribeInstancesCommand).resolves({});

    // Act
    const result = await recordKeyPair.run(withKey);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { keyName: 'ops-2024', stillInEc2: false, otherInstances: [] } });
    expect(result.data).not.toHaveProperty('fingerprint');
    expect(result.summary).toContain('no longer in EC2');
    expect(result.data!.recommendation).toContain('every instance that trusts it');
    expect(recordKeyPair.data.parse(JSON.parse(JSON.stringify(result.data)))).toEqual(result.data);
  });

  it('names at most 20 of the other instances in the recommendation, and records them all', async () => {
    // Prepare
    const others = Array.from({ length: 25 }, (_, n) => `i-0${String(n).padStart(16, '0')}`);
    ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'ops-2024', KeyFingerprint: 'ab:cd:ef' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: others.map((InstanceId) => ({ InstanceId })) }, {}] });

    // Act
    const result = await recordKeyPair.run(withKey);

    // Assess
    expect(result.data!.otherInstances).toEqual(others);
    expect(result.data!.recommendation).toContain(`25 other instance(s) launched with it (${others.slice(0, 20).join(', ')}, …)`);
  });

  it('skips an instance launched without a key pair, and lets real errors fail the step', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    // Act / Assess
    expect((await recordKeyPair.run(aStepContext())).status).toBe('skipped');
    await expect(recordKeyPair.run(withKey)).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('declares exactly the IAM actions it calls, and records no change to undo', () => {
    // Assess
    expect(recordKeyPair.iamActions).toEqual(['ec2:DescribeKeyPairs', 'ec2:DescribeInstances']);
    expect([recordKeyPair.name, recordKeyPair.stage, recordKeyPair.undo]).toEqual(['recordKeyPair', 'evidence', undefined]);
  });
});
