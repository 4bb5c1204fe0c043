import { DescribeInstancesCommand, DescribeKeyPairsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { recordKeyPair } from '../../../../shared/steps/ec2/index.ts';
import { anInstance, aStepContext, awsError, INSTANCE_ID } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const withKey = aStepContext({ resource: anInstance({ keyName: 'ops-2024' }) });

describe('Step: recordKeyPair', () => {
  it('records the key pair, its fingerprint and every other instance that trusts it, paging through them, and recommends rotation', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand, { KeyNames: ['ops-2024'] }).resolves({ KeyPairs: [{ KeyName: 'ops-2024', KeyFingerprint: 'ab:cd:ef', KeyPairId: 'key-0123', KeyType: 'ed25519' }] });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID }, { InstanceId: 'i-0bbbbbbbbbbbbbbb2' }] }], NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1' }] }] });

    // Act
    const result = await recordKeyPair.run(withKey);

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'key-name', Values: ['ops-2024'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[1]!.args[0].input.NextToken).toBe('page-2');
    expect(result.status).toBe('done');
    expect(result.data).toMatchObject({
      keyName: 'ops-2024',
      fingerprint: 'ab:cd:ef',
      keyPairId: 'key-0123',
      stillInEc2: true,
      otherInstances: ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'],
    });
    expect(String(result.data!.recommendation)).toMatch(/authorized_keys.*2 other instance/);
  });

  it('still records the name when the key pair was deleted from EC2, which removes it from no instance', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand).rejects(awsError('InvalidKeyPair.NotFound'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    // Act
    const result = await recordKeyPair.run(withKey);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { keyName: 'ops-2024', stillInEc2: false, otherInstances: [] } });
    expect(result.summary).toContain('no longer in EC2');
  });

  it('skips an instance launched without a key pair, and lets real errors fail the step', async () => {
    // Prepare
    ec2Mock.on(DescribeKeyPairsCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    // Act / Assess
    expect((await recordKeyPair.run(aStepContext())).status).toBe('skipped');
    await expect(recordKeyPair.run(withKey)).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});
