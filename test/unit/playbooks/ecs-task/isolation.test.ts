import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type NetworkAclEntry,
} from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { denyRemoteAddressesInNetworkAcl, revokeTaskSecurityGroupRules } from '../../../../shared/playbooks/ecs-task/isolation.ts';
import { anIncident, anUndoContext, aTaskStepContext, described, ecsOptions, ENI, REMOTE_IP, SUBNET, TASK_GROUP, TASK_GROUP_RULES } from './support.ts';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  ecs.reset();
  ec2.reset();
});

/** Only the task's ENI uses its group (the filter by group answers with it alone), or another ENI too. */
function groupUsedBy(...enis: string[]) {
  ec2.on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: [TASK_GROUP] }] }).resolves({ NetworkInterfaces: enis.map((NetworkInterfaceId) => ({ NetworkInterfaceId })) });
}

describe('Isolate the task: its own security groups emptied (revokeTaskSecurityGroupRules)', () => {
  it('revokes every ingress and egress rule of a group only the task uses, by rule id, and never tries to move its requester-managed ENI', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    groupUsedBy(ENI);

    // Act
    const result = await revokeTaskSecurityGroupRules.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { emptiedGroups: [TASK_GROUP], sharedGroups: [], interfaces: [{ networkInterfaceId: ENI, requesterManaged: true }] } });
    expect(result.summary).toMatch(/requester-managed.*security-group-connection-tracking/);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({ GroupId: TASK_GROUP, SecurityGroupRuleIds: ['sgr-0000000000000in01'] });
    expect(ec2.commandCalls(RevokeSecurityGroupEgressCommand)[0]!.args[0].input).toEqual({ GroupId: TASK_GROUP, SecurityGroupRuleIds: ['sgr-000000000000out01'] });
    expect(ec2.commandCalls(ModifyNetworkInterfaceAttributeCommand)).toHaveLength(0);
    expect(result.data!.limits.join(' ')).toMatch(/tracking may continue/);
    // Marked before its rules go, so that release may put them back (the only non-Firebreak groups it may authorise on)
    expect(ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({ Resources: [TASK_GROUP], Tags: [{ Key: 'firebreak:emptied-by', Value: anIncident().incidentId }] });
  });

  it('leaves a group other interfaces use, records them and recommends a dedicated group', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    groupUsedBy(ENI, 'eni-0bbbbbbbbbbbbbbbb');

    // Act
    const result = await revokeTaskSecurityGroupRules.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { emptiedGroups: [], sharedGroups: [{ groupId: TASK_GROUP, interfaceIds: ['eni-0bbbbbbbbbbbbbbbb'] }], recommendation: expect.stringMatching(/dedicated security group/) } });
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2.commandCalls(RevokeSecurityGroupEgressCommand)).toHaveLength(0);
    expect(ec2.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  it('saves the rules of the first delivery on a redelivery that finds the group already empty', async () => {
    // Prepare: the capture was taken with the rules; the group is empty now
    const first = await described({ ecs, ec2 });
    ec2.reset();
    const now = await described({ ecs, ec2 }, { groupRules: [] });
    groupUsedBy(ENI);

    // Act
    const result = await revokeTaskSecurityGroupRules.run({ ...aTaskStepContext(now), capture: aTaskStepContext(first).capture });

    // Assess
    expect(result.data!.savedRules.map((r) => r.ruleId)).toEqual(['sgr-0000000000000in01', 'sgr-000000000000out01']);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('does nothing to a task sharing its host\'s network (bridge), or to a whole cluster, and says why', async () => {
    // Prepare
    const bridge = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' });
    const cluster = await described({ ecs, ec2 }, {}, anIncident({ clusterOnly: true }));

    // Act
    const onHost = await revokeTaskSecurityGroupRules.run(aTaskStepContext(bridge));
    const onCluster = await revokeTaskSecurityGroupRules.run(aTaskStepContext(cluster, anIncident({ clusterOnly: true })));

    // Assess
    expect(onHost).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/bridge networking on host .*handOffHostInstance/) });
    expect(onCluster).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no task: nothing is changed in a whole cluster blindly.*firebreak contain ECSTask/) });
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('release puts back exactly the rules it revoked (protocol, ports, peer, description), where they are missing', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    groupUsedBy(ENI);
    const result = await revokeTaskSecurityGroupRules.run(aTaskStepContext(task));
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });

    // Act
    const released = await revokeTaskSecurityGroupRules.undo!.run(anUndoContext(revokeTaskSecurityGroupRules, result, task));

    // Assess
    expect(released.status).toBe('done');
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({
      GroupId: TASK_GROUP,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '10.0.0.0/24', Description: 'from the ALB' }] }],
    });
    expect(ec2.commandCalls(AuthorizeSecurityGroupEgressCommand)[0]!.args[0].input).toEqual({ GroupId: TASK_GROUP, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] });
    expect(ec2.commandCalls(DeleteTagsCommand)[0]!.args[0].input).toEqual({ Resources: [TASK_GROUP], Tags: [{ Key: 'firebreak:emptied-by', Value: anIncident().incidentId }] });
  });

  it('release authorises nothing already there again', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    groupUsedBy(ENI);
    const result = await revokeTaskSecurityGroupRules.run(aTaskStepContext(task));
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: TASK_GROUP_RULES.map((r) => ({ ...r, SecurityGroupRuleId: `${r.SecurityGroupRuleId}x` })) });

    // Act
    const released = await revokeTaskSecurityGroupRules.undo!.run(anUndoContext(revokeTaskSecurityGroupRules, result, task));

    // Assess
    expect(released).toMatchObject({ status: 'done', summary: '2 rule(s) already there' });
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });
});

/** The subnet's network ACL: its entries per direction (the default `*` rule included, as AWS lists it). */
function givenAcl(entries: NetworkAclEntry[]) {
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [{ NetworkAclId: 'acl-0a1b2c3d4e5f60718', Associations: [{ SubnetId: SUBNET }], Entries: entries }] });
}
const defaults: NetworkAclEntry[] = [
  { RuleNumber: 100, Egress: false, RuleAction: 'allow', Protocol: '-1', CidrBlock: '0.0.0.0/0' },
  { RuleNumber: 32767, Egress: false, RuleAction: 'deny', Protocol: '-1', CidrBlock: '0.0.0.0/0' },
  { RuleNumber: 100, Egress: true, RuleAction: 'allow', Protocol: '-1', CidrBlock: '0.0.0.0/0' },
  { RuleNumber: 32767, Egress: true, RuleAction: 'deny', Protocol: '-1', CidrBlock: '0.0.0.0/0' },
];

describe("Deny the finding's remote addresses in the subnet's network ACL (denyRemoteAddressesInNetworkAcl)", () => {
  it('denies the address inbound by source and outbound by destination, numbered below the lowest rule of each direction', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenAcl(defaults);

    // Act
    const result = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { addresses: [REMOTE_IP], undenied: [] } });
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand).map((c) => c.args[0].input)).toEqual([
      { NetworkAclId: 'acl-0a1b2c3d4e5f60718', RuleNumber: 99, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: `${REMOTE_IP}/32` },
      { NetworkAclId: 'acl-0a1b2c3d4e5f60718', RuleNumber: 99, Protocol: '-1', RuleAction: 'deny', Egress: true, CidrBlock: `${REMOTE_IP}/32` },
    ]);
    expect(result.data!.limits.join(' ')).toMatch(/same|subnet.*never crosses/);
    expect(ec2.commandCalls(DescribeNetworkAclsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'association.subnet-id', Values: [SUBNET] }] });
  });

  it('records a full ACL (20 rules in a direction) instead of denying, and says so', async () => {
    // Prepare: 19 inbound rules and the default; outbound has room
    const task = await described({ ecs, ec2 });
    const inbound: NetworkAclEntry[] = Array.from({ length: 19 }, (_, i) => ({ RuleNumber: 100 + i, Egress: false, RuleAction: 'allow', Protocol: '6', CidrBlock: `10.1.${i}.0/24` }));
    givenAcl([...inbound, ...defaults.filter((e) => e.Egress || e.RuleNumber === 32767)]);

    // Act
    const result = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task));

    // Assess
    expect(result.data!.undenied).toEqual([{ cidrBlock: `${REMOTE_IP}/32`, egress: false, reason: expect.stringMatching(/holds 20 inbound rules, its quota of 20/) }]);
    expect(result.summary).toMatch(/NOT denied: inbound from/);
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand).map((c) => c.args[0].input.Egress)).toEqual([true]);
  });

  it('records an ACL with no rule number left below its lowest rule, and a full ACL AWS refuses, as not denied', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenAcl([{ RuleNumber: 1, Egress: false, RuleAction: 'allow', Protocol: '-1', CidrBlock: '0.0.0.0/0' }, ...defaults.filter((e) => e.Egress)]);
    ec2.on(CreateNetworkAclEntryCommand).rejects(Object.assign(new Error('too many'), { name: 'NetworkAclEntryLimitExceeded' }));

    // Act
    const result = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data!.undenied.map((u) => u.reason)).toEqual([expect.stringMatching(/no rule number left below .*\(1\)/), expect.stringMatching(/NetworkAclEntryLimitExceeded/)]);
  });

  it('does not deny an address again on a redelivery, and keeps knowing which entries it made', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenAcl([...defaults, { RuleNumber: 99, Egress: false, RuleAction: 'deny', Protocol: '-1', CidrBlock: `${REMOTE_IP}/32` }, { RuleNumber: 99, Egress: true, RuleAction: 'deny', Protocol: '-1', CidrBlock: `${REMOTE_IP}/32` }]);
    const previous = { stage: 'contain' as const, status: 'failed' as const, summary: '', attempts: 1, data: { addresses: [REMOTE_IP], undenied: [], limits: [], entries: [{ networkAclId: 'acl-0a1b2c3d4e5f60718', ruleNumber: 99, egress: false, cidrBlock: `${REMOTE_IP}/32`, origin: 'created' as const }] } };

    // Act
    const result = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task, anIncident(), { previous }));

    // Assess
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(0);
    expect(result.data!.entries.map((e) => e.origin)).toEqual(['created', 'already-denied']);
  });

  it('release deletes only the entries it made that are still its denies', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenAcl(defaults);
    const result = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task));
    // Meanwhile someone replaced the outbound entry 99 with an allow
    givenAcl([...defaults, { RuleNumber: 99, Egress: false, RuleAction: 'deny', Protocol: '-1', CidrBlock: `${REMOTE_IP}/32` }, { RuleNumber: 99, Egress: true, RuleAction: 'allow', Protocol: '-1', CidrBlock: '10.9.9.0/24' }]);

    // Act
    const released = await denyRemoteAddressesInNetworkAcl.undo!.run(anUndoContext(denyRemoteAddressesInNetworkAcl, result, task));

    // Assess
    expect(ec2.commandCalls(DeleteNetworkAclEntryCommand).map((c) => c.args[0].input)).toEqual([{ NetworkAclId: 'acl-0a1b2c3d4e5f60718', RuleNumber: 99, Egress: false }]);
    expect(released.summary).toMatch(/left alone \(changed since containment\): acl-0a1b2c3d4e5f60718 rule 99 out/);
  });

  it('denies nothing when the finding names no remote address, or when turned off', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });

    // Act
    const none = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task, anIncident({ remoteIps: [] })));
    const off = await denyRemoteAddressesInNetworkAcl.run(aTaskStepContext(task, anIncident(), { options: ecsOptions({ network_acl_deny: false }) }));

    // Assess
    expect(none).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/names no remote/) });
    expect(off).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/network_acl_deny = false/) });
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(0);
  });
});
