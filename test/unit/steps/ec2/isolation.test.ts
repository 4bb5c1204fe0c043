import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { ensureFirebreakGroups, isolateNetworkInterfaces, ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/steps/ec2/index.ts';
import { anInstance, aStepContext, awsError, someClients, VPC_ID } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const ISO = 'sg-0150150150150150a';
const OPEN = 'sg-0aaaaaaaaaaaaaaa0';
const ALL_TRAFFIC = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }];
const DEFAULT_EGRESS = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }];

/** Firebreak's groups as they must be: the isolation group rule-less, the untracking group open. */
const readyGroups = (): SecurityGroup[] => [
  { GroupId: ISO, GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: [] },
  { GroupId: OPEN, GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: ALL_TRAFFIC, IpPermissionsEgress: ALL_TRAFFIC },
];

const modifications = () =>
  ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => [c.args[0].input.NetworkInterfaceId, c.args[0].input.Groups]);

const twoInterfaces = () => [
  { networkInterfaceId: 'eni-0000000000000000a', groupIds: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'], privateIps: ['10.20.1.34'], requesterManaged: false, deviceIndex: 0 },
  { networkInterfaceId: 'eni-0000000000000000b', groupIds: ['sg-0123456789abcdef2'], privateIps: ['10.20.2.7'], requesterManaged: false, deviceIndex: 1 },
];

describe('Step: isolateNetworkInterfaces', () => {
  it('moves every interface to the untracking group, then to the isolation group, in that order per interface', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ resource: anInstance({ networkInterfaces: twoInterfaces(), firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    const calls = modifications();
    expect(calls).toHaveLength(4);
    for (const eni of ['eni-0000000000000000a', 'eni-0000000000000000b']) {
      expect(calls.filter(([id]) => id === eni)).toEqual([
        [eni, [OPEN]],
        [eni, [ISO]],
      ]);
    }
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`2 interface(s) of i-0a1b2c3d4e5f67890 moved to ${OPEN} then isolated in ${ISO}`);
    expect(result.data).toEqual({
      isolationGroupId: ISO,
      untrackingGroupId: OPEN,
      vpcId: VPC_ID,
      interfaces: [
        { networkInterfaceId: 'eni-0000000000000000a', groupsBefore: ['sg-0123456789abcdef0', 'sg-0123456789abcdef1'], requesterManaged: false, result: 'isolated' },
        { networkInterfaceId: 'eni-0000000000000000b', groupsBefore: ['sg-0123456789abcdef2'], requesterManaged: false, result: 'isolated' },
      ],
    });
    // The groups were already right: nothing created, nothing revoked or authorised.
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('records the groups captured at the first delivery as the "before" state', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const eni = { networkInterfaceId: 'eni-0000000000000000a', groupIds: [OPEN], privateIps: [], requesterManaged: false, deviceIndex: 0 };
    const ctx = aStepContext({
      resource: anInstance({ networkInterfaces: [eni], firebreakGroups: readyGroups() }),
      capture: { networkInterfaces: [{ ...eni, groupIds: ['sg-0123456789abcdef0'] }] },
    });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect((result.data!.interfaces as Array<{ groupsBefore: string[] }>)[0]!.groupsBefore).toEqual(['sg-0123456789abcdef0']);
  });

  it('changes nothing on an interface that already carries only the isolation group', async () => {
    // Prepare
    const ctx = aStepContext({
      resource: anInstance({
        networkInterfaces: [{ networkInterfaceId: 'eni-0000000000000000a', groupIds: [ISO], privateIps: [], requesterManaged: false, deviceIndex: 0 }],
        firebreakGroups: readyGroups(),
      }),
    });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`every interface of i-0a1b2c3d4e5f67890 already carries only ${ISO}`);
  });

  it('isolates an interface that carries the isolation group among others', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({
      resource: anInstance({
        networkInterfaces: [{ networkInterfaceId: 'eni-0000000000000000a', groupIds: [ISO, 'sg-0123456789abcdef0'], privateIps: [], requesterManaged: false, deviceIndex: 0 }],
        firebreakGroups: readyGroups(),
      }),
    });

    // Act
    await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(modifications()).toEqual([
      ['eni-0000000000000000a', [OPEN]],
      ['eni-0000000000000000a', [ISO]],
    ]);
  });

  it('skips an instance without network interfaces', async () => {
    // Prepare
    const ctx = aStepContext({ resource: anInstance({ networkInterfaces: [] }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'i-0a1b2c3d4e5f67890 has no network interface attached' });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('fails with the AWS error when one interface cannot be modified, after trying the others', async () => {
    // Prepare
    ec2Mock
      .on(ModifyNetworkInterfaceAttributeCommand)
      .resolves({})
      .on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: 'eni-0000000000000000b' })
      .rejects(awsError('OperationNotPermitted', { message: 'requester-managed interface' }));
    const ctx = aStepContext({ resource: anInstance({ networkInterfaces: twoInterfaces(), firebreakGroups: readyGroups() }) });

    // Act
    const run = isolateNetworkInterfaces.run(ctx);

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'OperationNotPermitted' });
    expect(modifications()).toEqual(
      expect.arrayContaining([
        ['eni-0000000000000000a', [OPEN]],
        ['eni-0000000000000000a', [ISO]],
        ['eni-0000000000000000b', [OPEN]],
      ]),
    );
  });
});

describe('Function: ensureFirebreakGroups', () => {
  it('creates both groups, then revokes the default egress of the isolation group it read back and opens the untracking group', async () => {
    // Prepare
    ec2Mock
      .on(CreateSecurityGroupCommand, { GroupName: ISOLATION_GROUP_NAME })
      .resolves({ GroupId: ISO })
      .on(CreateSecurityGroupCommand, { GroupName: UNTRACKING_GROUP_NAME })
      .resolves({ GroupId: OPEN })
      .on(DescribeSecurityGroupsCommand)
      .resolves({
        SecurityGroups: [
          { GroupId: ISO, GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: DEFAULT_EGRESS },
          { GroupId: OPEN, GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: DEFAULT_EGRESS },
        ],
      });

    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, []);

    // Assess
    expect(groups).toEqual({ isolationGroupId: ISO, untrackingGroupId: OPEN });
    const created = ec2Mock.commandCalls(CreateSecurityGroupCommand).map((c) => c.args[0].input);
    expect(created).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          GroupName: ISOLATION_GROUP_NAME,
          VpcId: VPC_ID,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'firebreak:purpose', Value: 'isolation' }, { Key: 'Name', Value: ISOLATION_GROUP_NAME }] }],
        }),
        expect.objectContaining({ GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID }),
      ]),
    );
    expect(created).toHaveLength(2);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'vpc-id', Values: [VPC_ID] },
      { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] },
    ]);
    const revokes = ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand);
    expect(revokes.map((c) => c.args[0].input)).toEqual([{ GroupId: ISO, IpPermissions: DEFAULT_EGRESS }]);
    // The read-back came after both creations and before the revoke.
    const order = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('DescribeSecurityGroupsCommand')).toBeGreaterThan(order.lastIndexOf('CreateSecurityGroupCommand'));
    expect(order.indexOf('RevokeSecurityGroupEgressCommand')).toBeGreaterThan(order.indexOf('DescribeSecurityGroupsCommand'));
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: OPEN, IpPermissions: ALL_TRAFFIC }]);
    // The untracking group already had allow-all egress (the default), so only ingress was added.
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand)).toHaveLength(0);
  });

  it('uses the group a concurrent invocation created when the name is already taken', async () => {
    // Prepare
    ec2Mock
      .on(CreateSecurityGroupCommand, { GroupName: ISOLATION_GROUP_NAME })
      .rejects(awsError('InvalidGroup.Duplicate', { message: "The security group 'firebreak-isolation' already exists" }))
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: readyGroups() });
    const known = [readyGroups()[1]!];

    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, known);

    // Assess
    expect(groups).toEqual({ isolationGroupId: ISO, untrackingGroupId: OPEN });
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand).map((c) => c.args[0].input.GroupName)).toEqual([ISOLATION_GROUP_NAME]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('fails when the name is taken but the group cannot be found', async () => {
    // Prepare
    ec2Mock
      .on(CreateSecurityGroupCommand)
      .rejects(awsError('InvalidGroup.Duplicate'))
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [] });

    // Act
    const ensure = ensureFirebreakGroups(someClients().ec2, VPC_ID, [readyGroups()[1]!]);

    // Assess
    await expect(ensure).rejects.toMatchObject({ name: 'InvalidGroup.Duplicate' });
  });

  it('lets any other creation error through', async () => {
    // Prepare
    ec2Mock.on(CreateSecurityGroupCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const ensure = ensureFirebreakGroups(someClients().ec2, VPC_ID, [readyGroups()[1]!]);

    // Assess
    await expect(ensure).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  it('revokes every rule someone added to an existing isolation group', async () => {
    // Prepare
    const ssh = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }];
    const https = [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
    const [iso, open] = readyGroups();
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({}).on(RevokeSecurityGroupEgressCommand).resolves({});

    // Act
    await ensureFirebreakGroups(someClients().ec2, VPC_ID, [{ ...iso!, IpPermissions: ssh, IpPermissionsEgress: https }, open!]);

    // Assess
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: ISO, IpPermissions: ssh }]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: ISO, IpPermissions: https }]);
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(0);
  });

  it('ignores a rule that was revoked concurrently, but not other revoke errors', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    const rules = { ...iso!, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }], IpPermissionsEgress: ALL_TRAFFIC };
    ec2Mock.on(RevokeSecurityGroupIngressCommand).rejects(awsError('InvalidPermission.NotFound')).on(RevokeSecurityGroupEgressCommand).resolves({});

    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, [rules, open!]);
    ec2Mock.on(RevokeSecurityGroupEgressCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
    const failing = ensureFirebreakGroups(someClients().ec2, VPC_ID, [rules, open!]);

    // Assess
    expect(groups.isolationGroupId).toBe(ISO);
    await expect(failing).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('gives the untracking group allow-all ingress and egress when it lacks them', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({}).on(AuthorizeSecurityGroupEgressCommand).rejects(awsError('InvalidPermission.Duplicate'));

    // Act
    await ensureFirebreakGroups(someClients().ec2, VPC_ID, [iso!, { ...open!, IpPermissions: [], IpPermissionsEgress: [] }]);

    // Assess
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: OPEN, IpPermissions: ALL_TRAFFIC }]);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: OPEN, IpPermissions: ALL_TRAFFIC }]);
  });

  it('lets an authorisation failure other than a duplicate through', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).rejects(awsError('RulesPerSecurityGroupLimitExceeded'));

    // Act
    const ensure = ensureFirebreakGroups(someClients().ec2, VPC_ID, [iso!, { ...open!, IpPermissions: [] }]);

    // Assess
    await expect(ensure).rejects.toMatchObject({ name: 'RulesPerSecurityGroupLimitExceeded' });
  });

  it('ignores groups of another VPC', async () => {
    // Prepare
    const otherVpc = readyGroups().map((g) => ({ ...g, VpcId: 'vpc-0ffffffffffffffff', GroupId: `${g.GroupId}x` }));
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-new' }).on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: readyGroups() });

    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, otherVpc);

    // Assess
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(2);
    expect(groups).toEqual({ isolationGroupId: ISO, untrackingGroupId: OPEN });
  });

  it('fails retryably when the groups still cannot be found after creating them', async () => {
    // Prepare
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: ISO }).on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });

    // Act
    const ensure = ensureFirebreakGroups(someClients().ec2, VPC_ID, []);

    // Assess
    await expect(ensure).rejects.toBeInstanceOf(StepFailedError);
    await expect(ensure).rejects.toMatchObject({ code: 'IsolationGroupMissing', retryable: true });
  });
});
