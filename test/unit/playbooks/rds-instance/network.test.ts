import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, ModifyDBClusterCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { captureDatabase } from '../../../../shared/playbooks/rds-instance/describe.ts';
import { restrictNetworkAccess } from '../../../../shared/playbooks/rds-instance/network.ts';
import { awsError } from '../../helpers/factories.ts';
import { anRdsIncident, anRdsStepContext, anRdsUndoContext, APP_SG, aurora, auroraCluster, FUNCTION_SG, ISOLATION_SG, mariadb, rdsOptions, standalone, VPC } from './support.ts';

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

  it('isolates a standalone instance with ModifyDBInstance and records a NACL denial of the remote address as a recommendation', async () => {
    // Prepare
    givenNoIsolationGroup(3306);
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await restrictNetworkAccess.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));

    // Assess
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: 'billing-mariadb', VpcSecurityGroupIds: [ISOLATION_SG], ApplyImmediately: true }]);
    expect(result.data).toMatchObject({ groupsBefore: [APP_SG, 'sg-0bbbbbbbbbbbbbbb2'], naclRecommendation: expect.stringContaining('203.0.113.88/32') });
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
