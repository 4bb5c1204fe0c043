import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/actions/vpc-isolation.ts';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { captureInstance, describeInstance, Ec2CaptureSchema } from '../../../../shared/playbooks/ec2-instance/describe.ts';
import { anEc2Options, anIncident, anInstance, awsError, INSTANCE_ID, silentLogger, someClients, VPC_ID } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const ISO_GROUP = { GroupId: 'sg-0150150150150150a', GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID };

const instance = (overrides: Partial<Instance> = {}): Instance => ({
  InstanceId: INSTANCE_ID,
  State: { Name: 'running', Code: 16 },
  VpcId: VPC_ID,
  SubnetId: 'subnet-0f1e2d3c4b5a69788',
  Placement: { AvailabilityZone: 'us-east-1a' },
  IamInstanceProfile: { Arn: 'arn:aws:iam::111122223333:instance-profile/web', Id: 'AIPA' },
  KeyName: 'ops-key',
  NetworkInterfaces: [
    {
      NetworkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7',
      Groups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'web' }],
      PrivateIpAddresses: [{ PrivateIpAddress: '10.20.1.34' }, { PrivateIpAddress: '10.20.1.35' }],
      Attachment: { DeviceIndex: 0 },
    },
  ],
  BlockDeviceMappings: [
    { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0aaaaaaaaaaaaaaa1', DeleteOnTermination: true } },
    { DeviceName: '/dev/sdz' },
  ],
  Tags: [{ Key: 'Name', Value: 'web-frontend-01' }, { Key: 'firebreak:exempt', Value: '' }],
  ...overrides,
});

const ctx = (hints: Record<string, string | string[]> = { vpcId: VPC_ID }) => ({
  incident: anIncident({ resource: { type: 'Instance', id: INSTANCE_ID, hints } }),
  clients: someClients(),
  logger: silentLogger(),
  options: anEc2Options(),
});

describe('Function: describeInstance', () => {
  it("reads the instance and its VPC's Firebreak groups in one pass", async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [ISO_GROUP] });

    // Act
    const described = await describeInstance(ctx());

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [INSTANCE_ID] });
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'vpc-id', Values: [VPC_ID] },
      { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] },
    ]);
    expect(described).toMatchObject({
      instanceId: INSTANCE_ID,
      state: 'running',
      vpcId: VPC_ID,
      subnetId: 'subnet-0f1e2d3c4b5a69788',
      availabilityZone: 'us-east-1a',
      instanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/web',
      keyName: 'ops-key',
      networkInterfaces: [
        { networkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', groupIds: ['sg-0123456789abcdef0'], privateIps: ['10.20.1.34', '10.20.1.35'], requesterManaged: false, deviceIndex: 0 },
      ],
      volumes: [{ volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: true }],
      tags: { Name: 'web-frontend-01', 'firebreak:exempt': '' },
      firebreakGroups: [ISO_GROUP],
    });
  });

  it('looks again in the real VPC when the finding named another one', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });
    ec2Mock
      .on(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'vpc-id', Values: ['vpc-0ffffffffffffffff'] }, { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] }] })
      .resolves({ SecurityGroups: [] })
      .on(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'vpc-id', Values: [VPC_ID] }, { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] }] })
      .resolves({ SecurityGroups: [ISO_GROUP] });

    // Act
    const described = await describeInstance(ctx({ vpcId: 'vpc-0ffffffffffffffff' }));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(2);
    expect(described.firebreakGroups).toEqual([ISO_GROUP]);
  });

  it('looks up the groups after the instance when the finding gave no VPC', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance({ NetworkInterfaces: undefined, BlockDeviceMappings: undefined, Tags: undefined })] }] });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({});

    // Act
    const described = await describeInstance(ctx({}));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
    expect(described).toMatchObject({ networkInterfaces: [], volumes: [], tags: {}, firebreakGroups: [] });
  });

  it('reads a sparse answer with safe defaults, and looks for no group without a VPC', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: INSTANCE_ID,
              NetworkInterfaces: [{ RequesterManaged: true, Groups: [{}], PrivateIpAddresses: [{}] } as never],
              BlockDeviceMappings: [{ Ebs: { VolumeId: 'vol-0aaaaaaaaaaaaaaa1' } }],
              Tags: [{ Key: 'Name' }, { Value: 'orphan' }],
            },
          ],
        },
      ],
    });

    // Act
    const described = await describeInstance(ctx({}));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
    expect(described).toEqual({
      instanceId: INSTANCE_ID,
      state: 'unknown',
      vpcId: '',
      networkInterfaces: [{ networkInterfaceId: '', groupIds: [''], privateIps: [], requesterManaged: true, deviceIndex: 0 }],
      volumes: [{ volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '', deleteOnTermination: false }],
      tags: { Name: '', '': 'orphan' },
      firebreakGroups: [],
      raw: expect.objectContaining({ InstanceId: INSTANCE_ID }),
    });
  });

  it.each([
    ['is not returned', { Reservations: [] }],
    ['is terminated', { Reservations: [{ Instances: [instance({ State: { Name: 'terminated' } })] }] }],
    ['is shutting down', { Reservations: [{ Instances: [instance({ State: { Name: 'shutting-down' } })] }] }],
  ])('reports the instance as not found when it %s', async (_what, answer) => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(answer);
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({});

    // Act
    const described = describeInstance(ctx());

    // Assess
    await expect(described).rejects.toBeInstanceOf(ResourceNotFoundError);
  });

  it('reports the instance as not found when EC2 says InvalidInstanceID.NotFound', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({});

    // Act
    const described = describeInstance(ctx());

    // Assess
    await expect(described).rejects.toMatchObject({ name: 'ResourceNotFoundError', resourceId: INSTANCE_ID });
  });

  it('lets other describe errors through (for the engine to retry)', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', { httpStatusCode: 503 }));
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({});

    // Act
    const described = describeInstance(ctx());

    // Assess
    await expect(described).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });
});

describe('Function: captureInstance', () => {
  it('keeps what release needs to restore, without the raw answer', () => {
    // Act
    const capture = captureInstance(anInstance());

    // Assess
    expect(capture).toMatchObject({
      instanceId: INSTANCE_ID,
      state: 'running',
      vpcId: VPC_ID,
      networkInterfaces: anInstance().networkInterfaces,
      volumes: anInstance().volumes,
      tags: { Name: 'web-frontend-01' },
    });
    expect(capture).not.toHaveProperty('raw');
  });
});

describe('Schema: Ec2CaptureSchema', () => {
  it('reads back the capture the engine keeps at the first delivery, unchanged', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance()] }] });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [ISO_GROUP] });
    const kept = { ...captureInstance(await describeInstance(ctx())), capturedAt: '2025-06-19T14:40:10.000Z' };

    // Act
    const read = Ec2CaptureSchema.parse(JSON.parse(JSON.stringify(kept)));

    // Assess
    expect(read).toEqual(kept);
    expect(read).toMatchObject({ instanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/web', keyName: 'ops-key', availabilityZone: 'us-east-1a' });
  });

  it('reads an older, sparser capture from the ledger with empty lists and no tags', () => {
    // Act
    const read = Ec2CaptureSchema.parse({ instanceId: INSTANCE_ID, networkInterfaces: [{ networkInterfaceId: 'eni-1', groupIds: ['sg-1'] }] });

    // Assess
    expect(read).toEqual({
      instanceId: INSTANCE_ID,
      networkInterfaces: [{ networkInterfaceId: 'eni-1', groupIds: ['sg-1'], privateIps: [], requesterManaged: false, deviceIndex: 0 }],
      volumes: [],
      tags: {},
    });
  });

  it('leaves out what the instance does not have', () => {
    // Act
    const capture = captureInstance(anInstance({ subnetId: undefined, availabilityZone: undefined, instanceProfileArn: undefined, keyName: undefined }));

    // Assess
    expect(Object.keys(capture).sort()).toEqual(['instanceId', 'networkInterfaces', 'state', 'tags', 'volumes', 'vpcId']);
  });
});
