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
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/actions/vpc-isolation.ts';
import { isolateNetworkInterfaces } from '../../../../shared/playbooks/ec2-instance/isolation.ts';
import { anEc2Options, anInstance, aStepContext, awsError, INSTANCE_ID, recordedBy, REGION, VPC_ID } from '../../helpers/factories.ts';

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
      capture: { instanceId: INSTANCE_ID, networkInterfaces: [{ ...eni, groupIds: ['sg-0123456789abcdef0'] }], volumes: [], tags: {} },
    });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result.data!.interfaces[0]!.groupsBefore).toEqual(['sg-0123456789abcdef0']);
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

  it('isolates the interfaces that need it and records the others as already isolated', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const [first, second] = twoInterfaces();
    const ctx = aStepContext({ resource: anInstance({ networkInterfaces: [{ ...first!, groupIds: [ISO] }, second!], firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(modifications().map(([id]) => id)).toEqual(['eni-0000000000000000b', 'eni-0000000000000000b']);
    expect(result.summary).toBe(`1 interface(s) of i-0a1b2c3d4e5f67890 moved to ${OPEN} then isolated in ${ISO}`);
    expect(result.data!.interfaces.map((i) => i.result)).toEqual(['already-isolated', 'isolated']);
  });

  it('records the current groups of an interface attached after the first delivery', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const [first, second] = twoInterfaces();
    const ctx = aStepContext({
      resource: anInstance({ networkInterfaces: [{ ...first!, groupIds: [OPEN] }, second!], firebreakGroups: readyGroups() }),
      capture: { instanceId: INSTANCE_ID, networkInterfaces: [first!], volumes: [], tags: {} },
    });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result.data!.interfaces.map((i) => i.groupsBefore)).toEqual([first!.groupIds, second!.groupIds]);
  });

  it('isolates nothing when the VPC groups cannot be made ready', async () => {
    // Prepare
    ec2Mock.on(CreateSecurityGroupCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
    const ctx = aStepContext({ resource: anInstance({ firebreakGroups: [] }) });

    // Act
    const run = isolateNetworkInterfaces.run(ctx);

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
  });
});

describe('Step: isolateNetworkInterfaces with online capture', () => {
  const ENDPOINT_SG = 'sg-0e0e0e0e0e0e0e0e0';
  const MESSAGES_SG = 'sg-0d0d0d0d0d0d0d0d0';
  const DESCRIPTION = 'Firebreak online capture: SSM agent to the SSM interface endpoints only';
  const captureOn = anEc2Options({ online_capture: { enabled: true, wait_seconds: 0 } });
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
  const ssmEndpoints = () => [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG), endpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0', MESSAGES_SG)];
  const httpsTo = (...groupIds: string[]) => [
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: groupIds.map((GroupId) => ({ GroupId, Description: DESCRIPTION })) },
  ];
  const egressCalls = () => ({
    authorized: ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand).map((c) => c.args[0].input),
    revoked: ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand).map((c) => c.args[0].input),
  });

  it('lets the isolation group out only to the SSM endpoints\' groups on TCP 443, and says so', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: ssmEndpoints() }).on(ModifyNetworkInterfaceAttributeCommand).resolves({}).on(AuthorizeSecurityGroupEgressCommand).resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'vpc-id', Values: [VPC_ID] },
        { Name: 'vpc-endpoint-type', Values: ['Interface'] },
        { Name: 'service-name', Values: [`com.amazonaws.${REGION}.ssm`, `com.amazonaws.${REGION}.ssmmessages`, `com.amazonaws.${REGION}.ec2messages`] },
      ],
    });
    expect(egressCalls()).toEqual({ authorized: [{ GroupId: ISO, IpPermissions: httpsTo(MESSAGES_SG, ENDPOINT_SG) }], revoked: [] });
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(result.data!.egress).toEqual({
      allowed: [
        { protocol: 'tcp', port: 443, groupId: MESSAGES_SG },
        { protocol: 'tcp', port: 443, groupId: ENDPOINT_SG },
      ],
      ssmEndpointIds: ['vpce-0a0a0a0a0a0a0a0a0', 'vpce-0b0b0b0b0b0b0b0b0'],
      reason: 'HTTPS to the SSM interface endpoints vpce-0a0a0a0a0a0a0a0a0, vpce-0b0b0b0b0b0b0b0b0 so the SSM agent can run the online capture',
    });
    expect(result.summary).toBe(
      `1 interface(s) of i-0a1b2c3d4e5f67890 moved to ${OPEN} then isolated in ${ISO}; isolation group allows HTTPS only to the SSM endpoints' groups ${MESSAGES_SG}, ${ENDPOINT_SG} for online capture`,
    );
    // The rule is in place before any interface lands in the group.
    const order = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('AuthorizeSecurityGroupEgressCommand')).toBeLessThan(order.indexOf('ModifyNetworkInterfaceAttributeCommand'));
  });

  it('adds no rule when online capture is disabled, even if the VPC has SSM endpoints', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: ssmEndpoints() }).on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ resource: anInstance({ firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)).toHaveLength(0);
    expect(egressCalls()).toEqual({ authorized: [], revoked: [] });
    expect(result.data).not.toHaveProperty('egress');
  });

  it.each([
    ['the VPC has no SSM endpoints', [], `no SSM interface endpoints in ${VPC_ID}`],
    ['only the ssm endpoint exists', [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG)], `no ssmmessages or ec2messages interface endpoint in ${VPC_ID}`],
    ['only the message endpoints exist', [endpoint('ec2messages', 'vpce-0c0c0c0c0c0c0c0c0', ENDPOINT_SG)], `no ssm interface endpoint in ${VPC_ID} (only ec2messages)`],
    [
      'the endpoints are not available yet',
      ssmEndpoints().map((e) => ({ ...e, State: 'pending' as VpcEndpoint['State'] })),
      `no SSM interface endpoints in ${VPC_ID}`,
    ],
    [
      'the endpoints have private DNS disabled',
      ssmEndpoints().map((e) => ({ ...e, PrivateDnsEnabled: false })),
      `the SSM interface endpoints in ${VPC_ID} have private DNS disabled, so the agent would not use them`,
    ],
  ])('leaves the isolation group rule-less when capture is enabled but %s', async (_case, endpoints, reason) => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: endpoints }).on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(egressCalls()).toEqual({ authorized: [], revoked: [] });
    expect(result.data!.egress).toEqual({ allowed: [], ssmEndpointIds: [], reason });
    expect(result.summary).toBe(`1 interface(s) of i-0a1b2c3d4e5f67890 moved to ${OPEN} then isolated in ${ISO}; isolation group allows no egress, so online capture is not possible (${reason})`);
  });

  it('revokes a stray rule someone added next to the SSM rule, keeping the SSM rule, before isolating', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    const stray = { GroupId: 'sg-0bad0bad0bad0bad0', UserId: '111122223333' };
    const anywhere = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
    const dns = { IpProtocol: '17', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.20.0.2/32' }] };
    const ssh = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }];
    const egress = [
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: ENDPOINT_SG, UserId: '111122223333', Description: 'older wording' }, stray] },
      anywhere,
      dns,
    ];
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolves({ VpcEndpoints: [endpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0', ENDPOINT_SG), endpoint('ec2messages', 'vpce-0c0c0c0c0c0c0c0c0', ENDPOINT_SG)] })
      .on(RevokeSecurityGroupEgressCommand)
      .resolves({})
      .on(RevokeSecurityGroupIngressCommand)
      .resolves({})
      .on(ModifyNetworkInterfaceAttributeCommand)
      .resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: [{ ...iso!, IpPermissions: ssh, IpPermissionsEgress: egress }, open!] }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(egressCalls()).toEqual({
      authorized: [],
      revoked: [{ GroupId: ISO, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [stray] }, anywhere, dns] }],
    });
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: ISO, IpPermissions: ssh }]);
    expect(result.data!.egress!.allowed).toEqual([{ protocol: 'tcp', port: 443, groupId: ENDPOINT_SG }]);
    const order = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('RevokeSecurityGroupEgressCommand')).toBeLessThan(order.indexOf('ModifyNetworkInterfaceAttributeCommand'));
  });

  it('revokes the SSM rule once the endpoints are gone', async () => {
    // Prepare
    const [iso, open] = readyGroups();
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [] }).on(RevokeSecurityGroupEgressCommand).resolves({}).on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: [{ ...iso!, IpPermissionsEgress: httpsTo(ENDPOINT_SG) }, open!] }) });

    // Act
    await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(egressCalls()).toEqual({ authorized: [], revoked: [{ GroupId: ISO, IpPermissions: httpsTo(ENDPOINT_SG) }] });
  });

  it('accepts a rule a concurrent isolation authorised first', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolves({ VpcEndpoints: ssmEndpoints() })
      .on(AuthorizeSecurityGroupEgressCommand)
      .rejects(awsError('InvalidPermission.Duplicate'))
      .on(ModifyNetworkInterfaceAttributeCommand)
      .resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result.status).toBe('done');
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupEgressCommand)).toHaveLength(1);
  });

  it('still isolates, with no egress, when the endpoint lookup fails', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 })).on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result.status).toBe('done');
    expect(modifications()).toEqual([
      ['eni-0b7c1d2e3f4a5b6c7', [OPEN]],
      ['eni-0b7c1d2e3f4a5b6c7', [ISO]],
    ]);
    expect(egressCalls()).toEqual({ authorized: [], revoked: [] });
    expect(result.data!.egress).toEqual({ allowed: [], ssmEndpointIds: [], reason: `the SSM endpoint lookup in ${VPC_ID} failed (UnauthorizedOperation)` });
  });

  it('looks the endpoints up while it creates the groups of a new VPC', async () => {
    // Prepare
    ec2Mock
      .on(DescribeVpcEndpointsCommand)
      .resolves({ VpcEndpoints: ssmEndpoints() })
      .on(CreateSecurityGroupCommand, { GroupName: ISOLATION_GROUP_NAME })
      .resolves({ GroupId: ISO })
      .on(CreateSecurityGroupCommand, { GroupName: UNTRACKING_GROUP_NAME })
      .resolves({ GroupId: OPEN })
      .on(DescribeSecurityGroupsCommand)
      .resolves({
        SecurityGroups: [
          { GroupId: ISO, GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: DEFAULT_EGRESS },
          { GroupId: OPEN, GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: ALL_TRAFFIC, IpPermissionsEgress: ALL_TRAFFIC },
        ],
      })
      .on(ModifyNetworkInterfaceAttributeCommand)
      .resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ firebreakGroups: [] }) });

    // Act
    await isolateNetworkInterfaces.run(ctx);

    // Assess
    const order = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('DescribeVpcEndpointsCommand')).toBeLessThan(order.indexOf('CreateSecurityGroupCommand'));
    expect(egressCalls()).toEqual({
      authorized: [{ GroupId: ISO, IpPermissions: httpsTo(MESSAGES_SG, ENDPOINT_SG) }],
      revoked: [{ GroupId: ISO, IpPermissions: DEFAULT_EGRESS }],
    });
  });

  it('records what its undo reads back from the ledger, the allowed egress included', async () => {
    // Prepare
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: ssmEndpoints() }).on(AuthorizeSecurityGroupEgressCommand).resolves({}).on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aStepContext({ options: captureOn, resource: anInstance({ networkInterfaces: twoInterfaces(), firebreakGroups: readyGroups() }) });

    // Act
    const result = await isolateNetworkInterfaces.run(ctx);

    // Assess
    expect(result.data!.egress!.allowed).toHaveLength(2);
    expect(recordedBy(isolateNetworkInterfaces, result)).toEqual(result.data);
  });

  it('declares the endpoint lookup among its IAM actions', () => {
    // Assess
    expect(isolateNetworkInterfaces.iamActions).toContain('ec2:DescribeVpcEndpoints');
  });
});
