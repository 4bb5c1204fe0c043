import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  egressPermissions,
  ensureFirebreakGroups,
  findFirebreakGroups,
  findSsmEgress,
  isolateInterface,
  ISOLATION_GROUP_NAME,
  UNTRACKING_GROUP_NAME,
} from '../../../shared/actions/vpc-isolation.ts';
import { FirebreakError } from '../../../shared/errors/index.ts';
import { awsError, REGION, someClients, VPC_ID } from '../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const ISO = 'sg-0150150150150150a';
const OPEN = 'sg-0aaaaaaaaaaaaaaa0';
const ENDPOINT_SG = 'sg-0e0e0e0e0e0e0e0e0';
const MESSAGES_SG = 'sg-0d0d0d0d0d0d0d0d0';
const ALL_TRAFFIC = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }];
const DEFAULT_EGRESS = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] }];
const DESCRIPTION = 'Firebreak online capture: SSM agent to the SSM interface endpoints only';

/** Firebreak's groups as they must be: the isolation group rule-less, the untracking group open. */
const readyGroups = (): SecurityGroup[] => [
  { GroupId: ISO, GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: [] },
  { GroupId: OPEN, GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: ALL_TRAFFIC, IpPermissionsEgress: ALL_TRAFFIC },
];

const endpoint = (service: string, id: string, groupId: string, extra: Partial<VpcEndpoint> = {}): VpcEndpoint => ({
  VpcEndpointId: id,
  VpcEndpointType: 'Interface',
  VpcId: VPC_ID,
  ServiceName: `com.amazonaws.${REGION}.${service}`,
  State: 'available' as VpcEndpoint['State'],
  PrivateDnsEnabled: true,
  Groups: [{ GroupId: groupId, GroupName: 'endpoints' }],
  ...extra,
});
const httpsTo = (...groupIds: string[]) => [
  { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: groupIds.map((GroupId) => ({ GroupId, Description: DESCRIPTION })) },
];

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

  it('changes nothing on groups that are already as they must be', async () => {
    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, readyGroups());

    // Assess
    expect(groups).toEqual({ isolationGroupId: ISO, untrackingGroupId: OPEN });
    expect(ec2Mock.calls()).toHaveLength(0);
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

  it('looks again for a group created concurrently that EC2 does not list yet (eventual consistency)', async () => {
    // Prepare
    ec2Mock
      .on(CreateSecurityGroupCommand, { GroupName: ISOLATION_GROUP_NAME })
      .rejects(awsError('InvalidGroup.Duplicate'))
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [] })
      .resolves({ SecurityGroups: readyGroups() });

    // Act
    const groups = await ensureFirebreakGroups(someClients().ec2, VPC_ID, [readyGroups()[1]!]);

    // Assess
    expect(groups).toEqual({ isolationGroupId: ISO, untrackingGroupId: OPEN });
  });

  it('fails retryably (the delivery comes back) when the name is taken but the group is still not listed', async () => {
    // Prepare
    ec2Mock
      .on(CreateSecurityGroupCommand)
      .rejects(awsError('InvalidGroup.Duplicate'))
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [] });

    // Act
    const ensure = ensureFirebreakGroups(someClients().ec2, VPC_ID, [readyGroups()[1]!]);

    // Assess
    await expect(ensure).rejects.toMatchObject({ code: 'IsolationGroupNotVisibleYet', retryable: true, cause: { name: 'InvalidGroup.Duplicate' } });
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(3);
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
    await expect(ensure).rejects.toBeInstanceOf(FirebreakError);
    await expect(ensure).rejects.toMatchObject({ code: 'IsolationGroupMissing', retryable: true });
  });

  it('authorises only the egress it is given that the isolation group lacks, waiting for it when it is a promise', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({});
    const known = [{ ...iso!, IpPermissionsEgress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: ENDPOINT_SG }] }] }, open!];

    // Act
    await ensureFirebreakGroups(someClients().ec2, VPC_ID, known, Promise.resolve(httpsTo(ENDPOINT_SG, MESSAGES_SG)));

    // Assess
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand).map((c) => c.args[0].input)).toEqual([
      { GroupId: ISO, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: MESSAGES_SG, Description: DESCRIPTION }] }] },
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand)).toHaveLength(0);
  });

  it('recognises a rule AWS reports with a protocol number as the rule it wants, whatever its description', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    const asReported = [{ IpProtocol: '6', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: ENDPOINT_SG, Description: 'older wording' }] }];

    // Act
    await ensureFirebreakGroups(someClients().ec2, VPC_ID, [{ ...iso!, IpPermissionsEgress: asReported }, open!], httpsTo(ENDPOINT_SG));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('revokes, from a rule with several sources, only the sources it does not want', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({});
    const folded = [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '198.51.100.0/24' }], UserIdGroupPairs: [{ GroupId: ENDPOINT_SG }] }];

    // Act
    await ensureFirebreakGroups(someClients().ec2, VPC_ID, [{ ...iso!, IpPermissionsEgress: folded }, open!], httpsTo(ENDPOINT_SG));

    // Assess
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand).map((c) => c.args[0].input)).toEqual([
      { GroupId: ISO, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '198.51.100.0/24' }] }] },
    ]);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand)).toHaveLength(0);
  });
});

describe('Function: findFirebreakGroups', () => {
  it("finds the VPC's isolation and untracking groups by name in one call", async () => {
    // Prepare
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: readyGroups() });

    // Act
    const groups = await findFirebreakGroups(someClients().ec2, VPC_ID);

    // Assess
    expect(groups.map((g) => g.GroupId)).toEqual([ISO, OPEN]);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)).toHaveLength(1);
  });

  it('finds nothing in a VPC without them', async () => {
    // Prepare
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({});

    // Act
    const groups = await findFirebreakGroups(someClients().ec2, VPC_ID);

    // Assess
    expect(groups).toEqual([]);
  });
});

describe('Function: findSsmEgress', () => {
  it("allows HTTPS to the groups of the VPC's available SSM endpoints, sorted and without duplicates", async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [
        endpoint('ssm', 'vpce-0b0b0b0b0b0b0b0b0', ENDPOINT_SG),
        endpoint('ec2messages', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG),
        endpoint('ssmmessages', 'vpce-0c0c0c0c0c0c0c0c0', MESSAGES_SG),
      ],
    });

    // Act
    const egress = await findSsmEgress(someClients().ec2, VPC_ID, REGION);

    // Assess
    expect(egress).toEqual({
      allowed: [
        { protocol: 'tcp', port: 443, groupId: MESSAGES_SG },
        { protocol: 'tcp', port: 443, groupId: ENDPOINT_SG },
      ],
      ssmEndpointIds: ['vpce-0a0a0a0a0a0a0a0a0', 'vpce-0b0b0b0b0b0b0b0b0', 'vpce-0c0c0c0c0c0c0c0c0'],
      reason: 'HTTPS to the SSM interface endpoints vpce-0a0a0a0a0a0a0a0a0, vpce-0b0b0b0b0b0b0b0b0, vpce-0c0c0c0c0c0c0c0c0 so the SSM agent can run the online capture',
    });
  });

  it('follows the pages of endpoints', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolves({ VpcEndpoints: [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG)], NextToken: 'page-2' })
      .on(DescribeVpcEndpointsCommand, { NextToken: 'page-2' })
      .resolves({ VpcEndpoints: [endpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0', MESSAGES_SG)] });

    // Act
    const egress = await findSsmEgress(someClients().ec2, VPC_ID, REGION);

    // Assess
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)).toHaveLength(2);
    expect(egress.ssmEndpointIds).toEqual(['vpce-0a0a0a0a0a0a0a0a0', 'vpce-0b0b0b0b0b0b0b0b0']);
  });

  it('looks for both service-name prefixes in a China region', async () => {
    // Prepare
    const region = 'cn-north-1';
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [
        endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG, { ServiceName: `cn.com.amazonaws.${region}.ssm` }),
        endpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0', ENDPOINT_SG, { ServiceName: `com.amazonaws.${region}.ssmmessages` }),
      ],
    });

    // Act
    const egress = await findSsmEgress(someClients().ec2, VPC_ID, region);

    // Assess
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)[0]!.args[0].input.Filters).toContainEqual({
      Name: 'service-name',
      Values: [
        `com.amazonaws.${region}.ssm`,
        `com.amazonaws.${region}.ssmmessages`,
        `com.amazonaws.${region}.ec2messages`,
        `cn.com.amazonaws.${region}.ssm`,
        `cn.com.amazonaws.${region}.ssmmessages`,
        `cn.com.amazonaws.${region}.ec2messages`,
      ],
    });
    expect(egress.allowed).toEqual([{ protocol: 'tcp', port: 443, groupId: ENDPOINT_SG }]);
  });

  it('uses only the endpoints the agent would reach: available, in the VPC, with a group and private DNS', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [
        endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG),
        endpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0', MESSAGES_SG),
        endpoint('ssm', 'vpce-0c0c0c0c0c0c0c0c0', 'sg-0c0c0c0c0c0c0c0c0', { PrivateDnsEnabled: false }),
        endpoint('ssm', 'vpce-0d0d0d0d0d0d0d0d0', 'sg-0d0d0d0d0d0d0d0d1', { VpcId: 'vpc-0ffffffffffffffff' }),
        endpoint('ssm', 'vpce-0e0e0e0e0e0e0e0e0', 'sg-0e0e0e0e0e0e0e0e1', { Groups: [] }),
        endpoint('s3', 'vpce-0f0f0f0f0f0f0f0f0', 'sg-0f0f0f0f0f0f0f0f0'),
      ],
    });

    // Act
    const egress = await findSsmEgress(someClients().ec2, VPC_ID, REGION);

    // Assess
    expect(egress.ssmEndpointIds).toEqual(['vpce-0a0a0a0a0a0a0a0a0', 'vpce-0b0b0b0b0b0b0b0b0']);
    expect(egress.allowed.map((a) => a.groupId)).toEqual([MESSAGES_SG, ENDPOINT_SG]);
  });

  it.each([
    ['no SSM endpoint exists', [], `no SSM interface endpoints in ${VPC_ID}`],
    ['only the ssm endpoint exists', [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG)], `no ssmmessages or ec2messages interface endpoint in ${VPC_ID}`],
    [
      'only the message endpoints exist',
      [endpoint('ec2messages', 'vpce-0c0c0c0c0c0c0c0c0', ENDPOINT_SG), endpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0', ENDPOINT_SG)],
      `no ssm interface endpoint in ${VPC_ID} (only ec2messages, ssmmessages)`,
    ],
    [
      'every endpoint has private DNS disabled',
      [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG, { PrivateDnsEnabled: false })],
      `the SSM interface endpoints in ${VPC_ID} have private DNS disabled, so the agent would not use them`,
    ],
  ])('allows nothing, and says why, when %s', async (_case, endpoints, reason) => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: endpoints });

    // Act
    const egress = await findSsmEgress(someClients().ec2, VPC_ID, REGION);

    // Assess
    expect(egress).toEqual({ allowed: [], ssmEndpointIds: [], reason });
  });
});

describe('Function: egressPermissions', () => {
  it('is one HTTPS permission to every allowed group, described as online capture', () => {
    // Act
    const permissions = egressPermissions({
      allowed: [
        { protocol: 'tcp', port: 443, groupId: MESSAGES_SG },
        { protocol: 'tcp', port: 443, groupId: ENDPOINT_SG },
      ],
      ssmEndpointIds: ['vpce-0a0a0a0a0a0a0a0a0'],
      reason: 'endpoints',
    });

    // Assess
    expect(permissions).toEqual(httpsTo(MESSAGES_SG, ENDPOINT_SG));
  });

  it('is nothing when nothing is allowed', () => {
    // Act
    const permissions = egressPermissions({ allowed: [], ssmEndpointIds: [], reason: 'no endpoints' });

    // Assess
    expect(permissions).toEqual([]);
  });
});

describe('Function: isolateInterface', () => {
  const groups = { isolationGroupId: ISO, untrackingGroupId: OPEN };

  it('moves the interface to the untracking group, then to the isolation group', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await isolateInterface(someClients().ec2, { networkInterfaceId: 'eni-0000000000000000a', groupIds: ['sg-0123456789abcdef0'] }, groups);

    // Assess
    expect(result).toBe('isolated');
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input)).toEqual([
      { NetworkInterfaceId: 'eni-0000000000000000a', Groups: [OPEN] },
      { NetworkInterfaceId: 'eni-0000000000000000a', Groups: [ISO] },
    ]);
  });

  it('leaves an interface that carries only the isolation group as it is', async () => {
    // Act
    const result = await isolateInterface(someClients().ec2, { networkInterfaceId: 'eni-0000000000000000a', groupIds: [ISO] }, groups);

    // Assess
    expect(result).toBe('already-isolated');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('swaps an interface left on the untracking group, or with the isolation group among others', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const untracked = await isolateInterface(someClients().ec2, { networkInterfaceId: 'eni-0000000000000000a', groupIds: [OPEN] }, groups);
    const mixed = await isolateInterface(someClients().ec2, { networkInterfaceId: 'eni-0000000000000000b', groupIds: [ISO, 'sg-0123456789abcdef0'] }, groups);

    // Assess
    expect([untracked, mixed]).toEqual(['isolated', 'isolated']);
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(4);
  });

  it('does not apply the isolation group when the untracking swap fails', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).rejects(awsError('OperationNotPermitted', { message: 'requester-managed interface' }));

    // Act
    const isolate = isolateInterface(someClients().ec2, { networkInterfaceId: 'eni-0000000000000000a', groupIds: ['sg-0123456789abcdef0'] }, groups);

    // Assess
    await expect(isolate).rejects.toMatchObject({ name: 'OperationNotPermitted' });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(1);
  });
});
