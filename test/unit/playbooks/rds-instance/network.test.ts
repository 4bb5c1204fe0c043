import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type NetworkAcl,
  type NetworkAclEntry,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, ModifyDBClusterCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { captureDatabase } from '../../../../shared/playbooks/rds-instance/describe.ts';
import { denyRemoteAddressesInNetworkAcls, restrictNetworkAccess } from '../../../../shared/playbooks/rds-instance/network.ts';
import { awsError } from '../../helpers/factories.ts';
import { anRdsIncident, anRdsStepContext, anRdsUndoContext, APP_SG, outcome, aurora, auroraCluster, FUNCTION_SG, ISOLATION_SG, mariadb, rdsOptions, standalone, VPC } from './support.ts';

const ec2Mock = mockClient(EC2Client);
const rdsMock = mockClient(RDSClient);
afterEach(() => {
  ec2Mock.reset();
  rdsMock.reset();
});

const DEFAULT_EGRESS = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];

/** EC2 has no RDS isolation group yet; CreateSecurityGroup makes one with AWS's default egress. */
function givenNoIsolationGroup(port: number): void {
  const created: SecurityGroup = { GroupId: ISOLATION_SG, GroupName: `firebreak-rds-isolation-${port}`, VpcId: VPC, IpPermissions: [], IpPermissionsEgress: DEFAULT_EGRESS };
  ec2Mock.on(DescribeSecurityGroupsCommand).resolvesOnce({ SecurityGroups: [] }).resolves({ SecurityGroups: [created] });
  ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: ISOLATION_SG });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({});
  ec2Mock.on(RevokeSecurityGroupEgressCommand).resolves({});
}

describe('Restrict network access (restrictNetworkAccess)', () => {
  it('isolates an Aurora member through its cluster: ModifyDBCluster with only the RDS isolation group, applied immediately, never ModifyDBInstance on the member', async () => {
    // Prepare
    givenNoIsolationGroup(5432);
    rdsMock.on(ModifyDBClusterCommand).resolves({});

    // Act
    const result = await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result.status).toBe('done');
    expect(rdsMock.commandCalls(ModifyDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: 'orders-aurora-cluster', VpcSecurityGroupIds: [ISOLATION_SG], ApplyImmediately: true }]);
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand)).toHaveLength(0);
    expect(result.data).toMatchObject({ target: { kind: 'cluster', id: 'orders-aurora-cluster' }, groupsBefore: [APP_SG], isolationGroupId: ISOLATION_SG, siblings: ['orders-aurora-instance-2'], result: 'isolated' });
    expect(result.summary).toContain('orders-aurora-instance-2');
  });

  it('creates its own isolation group per VPC and port, tagged rds-isolation, admitting only the RDS function on the port and letting nothing out', async () => {
    // Prepare
    givenNoIsolationGroup(5432);
    rdsMock.on(ModifyDBClusterCommand).resolves({});

    // Act
    await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    const create = ec2Mock.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ GroupName: 'firebreak-rds-isolation-5432', VpcId: VPC });
    expect(create.TagSpecifications![0]!.Tags).toEqual(expect.arrayContaining([{ Key: 'firebreak:purpose', Value: 'rds-isolation' }]));
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand).map((c) => c.args[0].input.IpPermissions)).toEqual([
      [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: FUNCTION_SG, Description: expect.any(String) }] }],
    ]);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand).map((c) => c.args[0].input.IpPermissions)).toEqual([DEFAULT_EGRESS]);
  });

  it('admits nothing at all when no RDS function security group is configured', async () => {
    // Prepare
    givenNoIsolationGroup(3306);
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await restrictNetworkAccess.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' }), { options: rdsOptions({ function_security_group_ids: [] }) }));

    // Assess
    expect(result.summary).toContain('admits nothing');
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('isolates a standalone instance with ModifyDBInstance (the network ACL deny is its own step)', async () => {
    // Prepare
    givenNoIsolationGroup(3306);
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await restrictNetworkAccess.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));

    // Assess
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: 'billing-mariadb', VpcSecurityGroupIds: [ISOLATION_SG], ApplyImmediately: true }]);
    expect(result.data).toMatchObject({ groupsBefore: [APP_SG, 'sg-0bbbbbbbbbbbbbbb2'] });
    expect(result.data).not.toHaveProperty('naclRecommendation');
    expect(ec2Mock.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(0);
  });

  it('removes stray rules someone added to an existing isolation group', async () => {
    // Prepare
    const stray = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
    const good = [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: FUNCTION_SG }] }];
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: ISOLATION_SG, GroupName: 'firebreak-rds-isolation-5432', VpcId: VPC, IpPermissions: [...good, ...stray], IpPermissionsEgress: [] }] });
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({});
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({});
    rdsMock.on(ModifyDBClusterCommand).resolves({});

    // Act
    await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand).map((c) => c.args[0].input.IpPermissions)).toEqual([stray]);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RevokeSecurityGroupEgressCommand)).toHaveLength(0);
  });

  it('does not modify a cluster that already carries only the isolation group, and keeps the groups of the first delivery', async () => {
    // Prepare
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: ISOLATION_SG, GroupName: 'firebreak-rds-isolation-5432', VpcId: VPC, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: FUNCTION_SG }] }], IpPermissionsEgress: [] }] });
    const first = aurora();
    const now = aurora({ VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATION_SG }] }, { VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATION_SG }] });
    const ctx = anRdsStepContext<unknown>(now, anRdsIncident());

    // Act
    const result = await restrictNetworkAccess.run({ ...ctx, capture: captureDatabase(first) } as Parameters<typeof restrictNetworkAccess.run>[0]);

    // Assess
    expect(rdsMock.calls()).toHaveLength(0);
    expect(result.data).toMatchObject({ result: 'already-isolated', groupsBefore: [APP_SG] });
  });

  it('waits and tries again when the cluster is busy with another modification', async () => {
    // Prepare
    givenNoIsolationGroup(5432);
    rdsMock.on(ModifyDBClusterCommand).rejects(awsError('InvalidDBClusterStateFault', { httpStatusCode: 400 }));

    // Act
    const result = await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 60 });
  });
});

describe('Release: put back the groups (restoreSecurityGroups)', () => {
  async function isolatedAurora() {
    givenNoIsolationGroup(5432);
    rdsMock.on(ModifyDBClusterCommand).resolves({});
    const result = await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident()));
    ec2Mock.reset();
    rdsMock.reset();
    return result;
  }

  it('restores exactly the groups the cluster had, where it still carries only the isolation group', async () => {
    // Prepare
    const result = await isolatedAurora();
    rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [auroraCluster({ VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATION_SG }] })] });
    rdsMock.on(ModifyDBClusterCommand).resolves({});

    // Act
    const released = await restrictNetworkAccess.undo!.run(anRdsUndoContext(restrictNetworkAccess, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released.status).toBe('done');
    expect(rdsMock.commandCalls(ModifyDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: 'orders-aurora-cluster', VpcSecurityGroupIds: [APP_SG], ApplyImmediately: true }]);
  });

  it('leaves alone a cluster whose groups a person changed since containment', async () => {
    // Prepare
    const result = await isolatedAurora();
    rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [auroraCluster({ VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0ccccccccccccccc3' }] })] });

    // Act
    const released = await restrictNetworkAccess.undo!.run(anRdsUndoContext(restrictNetworkAccess, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', data: { result: 'changed-since' } });
    expect(rdsMock.commandCalls(ModifyDBClusterCommand)).toHaveLength(0);
  });

  it('restores a standalone instance with ModifyDBInstance', async () => {
    // Prepare
    givenNoIsolationGroup(3306);
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    const result = await restrictNetworkAccess.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));
    rdsMock.reset();
    rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [standalone({ VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATION_SG }] })] });
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    await restrictNetworkAccess.undo!.run(anRdsUndoContext(restrictNetworkAccess, result, mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' }), mariadb()));

    // Assess
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input.VpcSecurityGroupIds)).toEqual([[APP_SG, 'sg-0bbbbbbbbbbbbbbb2']]);
  });
});

const REMOTE = '203.0.113.88/32';
const stars = (): NetworkAclEntry[] => [
  { RuleNumber: 32767, Egress: false, Protocol: '-1', RuleAction: 'deny', CidrBlock: '0.0.0.0/0' },
  { RuleNumber: 32767, Egress: true, Protocol: '-1', RuleAction: 'deny', CidrBlock: '0.0.0.0/0' },
];
const allowAll = (n: number): NetworkAclEntry[] => [
  { RuleNumber: n, Egress: false, Protocol: '-1', RuleAction: 'allow', CidrBlock: '0.0.0.0/0' },
  { RuleNumber: n, Egress: true, Protocol: '-1', RuleAction: 'allow', CidrBlock: '0.0.0.0/0' },
];

/**
 * The VPC's network ACLs as EC2 holds them, behind the mock: DescribeNetworkAcls by subnet
 * association or id, CreateNetworkAclEntry and DeleteNetworkAclEntry change them.
 */
function givenNetworkAcls(acls: Record<string, { subnets: string[]; entries: NetworkAclEntry[] }>) {
  const view = (id: string): NetworkAcl => ({ NetworkAclId: id, Entries: structuredClone(acls[id]!.entries), Associations: acls[id]!.subnets.map((SubnetId) => ({ SubnetId, NetworkAclId: id })) });
  ec2Mock.on(DescribeNetworkAclsCommand).callsFake((input: { Filters?: Array<{ Name: string; Values: string[] }>; NetworkAclIds?: string[] }) => {
    const bySubnet = input.Filters?.find((f) => f.Name === 'association.subnet-id')?.Values ?? [];
    const ids = Object.keys(acls).filter((id) => (input.NetworkAclIds ?? []).includes(id) || acls[id]!.subnets.some((s) => bySubnet.includes(s)));
    return { NetworkAcls: ids.map(view) };
  });
  ec2Mock.on(CreateNetworkAclEntryCommand).callsFake((input: { NetworkAclId: string; RuleNumber: number; Egress: boolean; RuleAction: 'allow' | 'deny'; CidrBlock: string; Protocol: string }) => {
    const acl = acls[input.NetworkAclId]!;
    if (acl.entries.some((e) => e.RuleNumber === input.RuleNumber && e.Egress === input.Egress)) throw awsError('NetworkAclEntryAlreadyExists');
    acl.entries.push({ RuleNumber: input.RuleNumber, Egress: input.Egress, RuleAction: input.RuleAction, CidrBlock: input.CidrBlock, Protocol: input.Protocol });
    return {};
  });
  ec2Mock.on(DeleteNetworkAclEntryCommand).callsFake((input: { NetworkAclId: string; RuleNumber: number; Egress: boolean }) => {
    const acl = acls[input.NetworkAclId]!;
    const before = acl.entries.length;
    acl.entries = acl.entries.filter((e) => !(e.RuleNumber === input.RuleNumber && e.Egress === input.Egress));
    if (acl.entries.length === before) throw awsError('InvalidNetworkAclEntry.NotFound');
    return {};
  });
  return acls;
}

const denies = (entries: NetworkAclEntry[]) =>
  entries
    .filter((e) => e.RuleAction === 'deny' && e.CidrBlock === REMOTE)
    .map((e) => `${e.Egress ? 'out' : 'in'} ${e.RuleNumber}`)
    .sort();

describe('Restrict network access, the ACL half (denyRemoteAddressesInNetworkAcls)', () => {
  it("denies the finding's address both ways in the ACL of each subnet of the DB subnet group, every distinct ACL, below its lowest rule", async () => {
    // Prepare: the Aurora member's subnet group spans two subnets, each with its own ACL
    const acls = givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1'], entries: [...stars(), ...allowAll(100)] }, 'acl-0b': { subnets: ['subnet-0b2'], entries: [...stars(), ...allowAll(10)] } });

    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result.status).toBe('done');
    expect(denies(acls['acl-0a']!.entries)).toEqual(['in 99', 'out 99']);
    expect(denies(acls['acl-0b']!.entries)).toEqual(['in 9', 'out 9']);
    expect(ec2Mock.commandCalls(CreateNetworkAclEntryCommand).map((c) => c.args[0].input)).toEqual(
      expect.arrayContaining([{ NetworkAclId: 'acl-0a', RuleNumber: 99, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: REMOTE }]),
    );
    expect(result.data).toMatchObject({ addresses: ['203.0.113.88'], subnetIds: ['subnet-0a1', 'subnet-0b2'], networkAclIds: ['acl-0a', 'acl-0b'], undenied: [] });
    expect(result.data!.limits.join(' ')).toMatch(/never crosses a network ACL/);
  });

  it('denies once in an ACL the subnets share', async () => {
    // Prepare
    const acls = givenNetworkAcls({ 'acl-0shared': { subnets: ['subnet-0a1', 'subnet-0b2'], entries: [...stars(), ...allowAll(100)] } });

    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(ec2Mock.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(2);
    expect(denies(acls['acl-0shared']!.entries)).toEqual(['in 99', 'out 99']);
    expect(result.data).toMatchObject({ networkAclIds: ['acl-0shared'] });
  });

  it('records what a full ACL could not take, and still denies where there is room', async () => {
    // Prepare: acl-0a holds 20 inbound rules (the default quota, the * rule included)
    const inbound = Array.from({ length: 19 }, (_, i): NetworkAclEntry => ({ RuleNumber: 100 + i, Egress: false, Protocol: '6', RuleAction: 'allow', CidrBlock: `10.0.${i}.0/24` }));
    const acls = givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1'], entries: [...stars(), ...inbound] }, 'acl-0b': { subnets: ['subnet-0b2'], entries: [...stars(), ...allowAll(100)] } });

    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result.status).toBe('done');
    expect(denies(acls['acl-0a']!.entries)).toEqual(['out 32766']);
    expect(denies(acls['acl-0b']!.entries)).toEqual(['in 99', 'out 99']);
    expect(result.data!.undenied).toEqual([{ cidrBlock: REMOTE, egress: false, reason: expect.stringMatching(/acl-0a already holds 20 inbound rules/) }]);
    expect(result.summary).toMatch(/NOT denied: inbound from 203\.0\.113\.88\/32/);
  });

  it('records an ACL EC2 refuses as full (NetworkAclEntryLimitExceeded): the step is skipped when nothing could be denied', async () => {
    // Prepare
    givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1'], entries: [...stars(), ...allowAll(100)] } });
    ec2Mock.on(CreateNetworkAclEntryCommand).rejects(awsError('NetworkAclEntryLimitExceeded'));

    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data!.entries).toEqual([]);
    expect(result.data!.undenied.map((u) => u.egress)).toEqual([false, true]);
    expect(result.summary).toMatch(/no address could be denied.*NetworkAclEntryLimitExceeded/);
  });

  it('does nothing for a legitimate login', async () => {
    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident(), { options: rdsOptions({ legitimate_users: ['svc_reporting'] }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/legitimate behaviour/) });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('with network_acl_deny off, changes nothing and records the deny as a recommendation', async () => {
    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident(), { options: rdsOptions({ network_acl_deny: false }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/network_acl_deny = false.*203\.0\.113\.88\/32.*subnet-0a1, subnet-0b2/) });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('does nothing when the finding names no remote address', async () => {
    // Act
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident({ remoteIp: null })));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no remote IPv4 address/) });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('on a redelivery, makes nothing twice and still counts the entries it made as its own', async () => {
    // Prepare
    givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1'], entries: [...stars(), ...allowAll(100)] }, 'acl-0b': { subnets: ['subnet-0b2'], entries: [...stars(), ...allowAll(100)] } });
    const first = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));
    const calls = ec2Mock.commandCalls(CreateNetworkAclEntryCommand).length;

    // Act
    const again = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident(), { previous: { ...outcome('done', first.data), data: first.data } } as never));

    // Assess
    expect(calls).toBe(4);
    expect(ec2Mock.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(4);
    expect(again.data!.entries).toEqual(first.data!.entries);
    expect(again.data!.entries.every((e) => e.origin === 'created')).toBe(true);
  });
});

describe('Release: the ACL denies (removeNetworkAclDenies)', () => {
  it('deletes exactly the entries it made, and leaves a deny that was there before and entries others made', async () => {
    // Prepare: acl-0b already denied the address before containment; someone adds a rule to acl-0a meanwhile
    const before = { RuleNumber: 5, Egress: false, Protocol: '-1', RuleAction: 'deny' as const, CidrBlock: REMOTE };
    const acls = givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1'], entries: [...stars(), ...allowAll(100)] }, 'acl-0b': { subnets: ['subnet-0b2'], entries: [...stars(), ...allowAll(100), before] } });
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));
    const othersRule = { RuleNumber: 50, Egress: true, Protocol: '6', RuleAction: 'allow' as const, CidrBlock: '10.9.0.0/16' };
    acls['acl-0a']!.entries.push(othersRule);

    // Act
    const released = await denyRemoteAddressesInNetworkAcls.undo!.run(anRdsUndoContext(denyRemoteAddressesInNetworkAcls, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released.status).toBe('done');
    expect(denies(acls['acl-0a']!.entries)).toEqual([]);
    expect(acls['acl-0a']!.entries).toContainEqual(othersRule);
    expect(denies(acls['acl-0b']!.entries)).toEqual(['in 5']);
    expect(ec2Mock.commandCalls(DeleteNetworkAclEntryCommand).map((c) => c.args[0].input)).toEqual([
      { NetworkAclId: 'acl-0a', RuleNumber: 99, Egress: false },
      { NetworkAclId: 'acl-0a', RuleNumber: 99, Egress: true },
      { NetworkAclId: 'acl-0b', RuleNumber: 99, Egress: true },
    ]);
    expect(released.summary).toMatch(/left as found \(denied before containment\): acl-0b rule 5 in 203\.0\.113\.88\/32/);
  });

  it('leaves an entry whose number now holds another rule, and is done when its entries are already gone', async () => {
    // Prepare
    const acls = givenNetworkAcls({ 'acl-0a': { subnets: ['subnet-0a1', 'subnet-0b2'], entries: [...stars(), ...allowAll(100)] } });
    const result = await denyRemoteAddressesInNetworkAcls.run(anRdsStepContext(aurora(), anRdsIncident()));
    acls['acl-0a']!.entries = [...stars(), ...allowAll(100), { RuleNumber: 99, Egress: false, Protocol: '-1', RuleAction: 'allow', CidrBlock: '10.0.0.0/8' }];

    // Act
    const released = await denyRemoteAddressesInNetworkAcls.undo!.run(anRdsUndoContext(denyRemoteAddressesInNetworkAcls, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(ec2Mock.commandCalls(DeleteNetworkAclEntryCommand)).toHaveLength(0);
    expect(released.summary).toMatch(/already gone: acl-0a rule 99 out.*left alone \(changed since containment\): acl-0a rule 99 in/);
  });
});
