// A compromised RDS instance through the Terraform-deployed pipeline: GuardDuty reports an unusual
// successful login (the fixture: Aurora PostgreSQL). Firebreak isolates the DB cluster (Aurora) or
// the instance with the RDS isolation group, records the SQL that restricts the user (the admin
// secret points at a port nothing listens on: the database cannot be reached), enables IAM
// authentication; the finding's remote address is denied both ways in the network ACL of every
// subnet of the DB subnet group (two subnets, two ACLs here); a responder's release restores the
// groups and deletes exactly those ACL entries. Asserted on AWS state.
import { randomUUID } from 'node:crypto';
import {
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  ReplaceNetworkAclAssociationCommand,
  type NetworkAclEntry,
} from '@aws-sdk/client-ec2';
import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { restrictionSql } from '../../shared/actions/database/index.ts';
import { parseRecorded } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { databaseSteps } from '../../shared/playbooks/rds-instance/database.ts';
import { checkLegitimateBehaviour } from '../../shared/playbooks/rds-instance/legitimate.ts';
import { denyRemoteAddressesInNetworkAcls, restrictNetworkAccess } from '../../shared/playbooks/rds-instance/network.ts';
import { loadFixture, newFindingId, type FindingEvent } from '../../scripts/lib/findings.ts';
import { drainAll, endpoint, firebreakAs, outputs, pipeline, responderCredentials, world } from './support.ts';

const main = pipeline('firebreak');
const rdsFunction: string = outputs.firebreak.playbooks['rds-instance'].function_name;
const clientConfig = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const rds = new RDSClient(clientConfig);
const secrets = new SecretsManagerClient(clientConfig);
const { restrictDatabaseUser } = databaseSteps({ connect: async () => Promise.reject(new Error('unused')), restrictionSql });

const REMOTE = '203.0.113.88/32';

/**
 * A VPC with two subnets — the first on the VPC's default network ACL, the second on an ACL of its
 * own (allow all, rule 100) — a DB subnet group, two application groups, and an admin secret
 * pointing at a closed port.
 */
async function network() {
  const suffix = Math.random().toString(36).slice(2, 8);
  const vpcId = (await world.ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16' }))).Vpc!.VpcId!;
  const subnetIds = await Promise.all(
    ['us-east-1a', 'us-east-1b'].map(async (AvailabilityZone, n) => (await world.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.60.${n}.0/24`, AvailabilityZone }))).Subnet!.SubnetId!),
  );
  // The second subnet gets its own ACL: the deny must reach every distinct ACL of the subnet group.
  const ownAclId = (await world.ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl!.NetworkAclId!;
  for (const Egress of [false, true]) await world.ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: ownAclId, RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress, CidrBlock: '0.0.0.0/0' }));
  const association = (await aclOf(subnetIds[1]!)).Associations!.find((a) => a.SubnetId === subnetIds[1])!.NetworkAclAssociationId!;
  await world.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: association, NetworkAclId: ownAclId }));
  const group = async (name: string) => (await world.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-${suffix}`, Description: name }))).GroupId!;
  const appGroupId = await group('orders-db');
  const otherGroupId = await group('orders-db-admin');
  const subnetGroup = `orders-${suffix}`;
  await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: subnetGroup, DBSubnetGroupDescription: 'orders', SubnetIds: subnetIds }));
  // Port 1 on loopback: nothing listens, so the database counts as unreachable (another VPC, a member account).
  const adminSecret = `e2e/rds-admin-${suffix}`;
  await secrets.send(new CreateSecretCommand({ Name: adminSecret, SecretString: JSON.stringify({ username: 'firebreak_admin', password: 'not-used', host: '127.0.0.1', port: 1 }) }));
  return { suffix, vpcId, subnetIds, ownAclId, appGroupId, otherGroupId, subnetGroup, adminSecret };
}

const aclOf = async (subnetId: string) => (await world.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!;

/** A network ACL's rules, as `in|out <number> <allow|deny> <cidr>`. */
const ruleShapes = (acl: { Entries?: NetworkAclEntry[] }) => (acl.Entries ?? []).map((e) => `${e.Egress ? 'out' : 'in'} ${e.RuleNumber} ${e.RuleAction} ${e.CidrBlock}`).sort();

/** The deny entries for the finding's address in a subnet's ACL, as `in|out <rule number>`. */
const remoteDenies = async (subnetId: string) =>
  ((await aclOf(subnetId)).Entries ?? [])
    .filter((e: NetworkAclEntry) => e.CidrBlock === REMOTE && e.RuleAction === 'deny')
    .map((e) => `${e.Egress ? 'out' : 'in'} ${e.RuleNumber}`)
    .sort();

/** The fixture (an unusual successful login by svc_reporting from 203.0.113.88), naming this account and `instanceId`. */
async function loginFinding(instanceId: string, cluster?: { id: string }): Promise<FindingEvent> {
  const event = structuredClone(loadFixture('rds-anomalousbehavior-successfullogin'));
  const accountId = await world.accountId();
  const findingId = newFindingId();
  const now = new Date().toISOString();
  event.id = randomUUID();
  event.account = accountId;
  event.time = now.replace(/\.\d{3}Z$/, 'Z');
  Object.assign(event.detail, { accountId, id: findingId, arn: `arn:aws:guardduty:us-east-1:${accountId}:detector/0/finding/${findingId}`, createdAt: now, updatedAt: now });
  const details = event.detail.resource.rdsDbInstanceDetails;
  details.dbInstanceIdentifier = instanceId;
  details.dbInstanceArn = `arn:aws:rds:us-east-1:${accountId}:db:${instanceId}`;
  if (cluster) details.dbClusterIdentifier = cluster.id;
  else {
    delete details.dbClusterIdentifier;
    details.engine = 'postgres';
  }
  return event;
}

const clusterGroups = async (id: string) => ((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0]!.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!);
const instanceOf = async (id: string) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
const groupOf = async (id: string) => (await world.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!;

async function refusal(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('the call was not refused');
}

describe('Compromised RDS instance, end to end', () => {
  it('Aurora: the cluster carries only the RDS isolation group (a member cannot be changed), the SQL is recorded for the unreachable database, and release restores the groups', async () => {
    // Prepare: an Aurora PostgreSQL cluster with two members, tagged with the admin secret
    const net = await network();
    const clusterId = `orders-aurora-${net.suffix}`;
    const [member, sibling] = [`orders-aurora-${net.suffix}-1`, `orders-aurora-${net.suffix}-2`];
    await rds.send(
      new CreateDBClusterCommand({
        DBClusterIdentifier: clusterId,
        Engine: 'aurora-postgresql',
        MasterUsername: 'postgres',
        MasterUserPassword: 'password123',
        VpcSecurityGroupIds: [net.appGroupId],
        DBSubnetGroupName: net.subnetGroup,
        Tags: [{ Key: 'firebreak:admin-secret', Value: net.adminSecret }],
      }),
    );
    for (const id of [sibling, member]) await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: clusterId, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large' }));
    const event = await loginFinding(member, { id: clusterId });
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, member);
    const aclsBefore = await Promise.all(net.subnetIds.map(async (subnetId) => ruleShapes(await aclOf(subnetId))));

    // Act: GuardDuty's finding reaches the RDS function
    await world.putFinding(event, main.bus);
    await drainAll(rdsFunction);

    // Assess: the cluster, and so both members, carry only the RDS isolation group, which admits nothing here (no RDS function group) and lets nothing out
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record.incident).toMatchObject({ playbook: 'rds-instance', resource: { type: 'RDSDBInstance', id: member } });
    const [isolationGroupId] = await clusterGroups(clusterId);
    expect(await clusterGroups(clusterId)).toHaveLength(1);
    const isolation = await groupOf(isolationGroupId!);
    expect(isolation).toMatchObject({ GroupName: 'firebreak-rds-isolation-5432', VpcId: net.vpcId, IpPermissions: [], IpPermissionsEgress: [] });
    expect(isolation.Tags).toEqual(expect.arrayContaining([{ Key: 'firebreak:purpose', Value: 'rds-isolation' }]));
    for (const id of [member, sibling]) expect((await instanceOf(id)).VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([isolationGroupId]);
    // …AWS (and the patched emulator) refuse the member-level change; the cluster is the way
    expect(await refusal(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: member, VpcSecurityGroupIds: [net.appGroupId], ApplyImmediately: true })))).toMatchObject({
      name: 'InvalidParameterCombination',
      message: expect.stringContaining('ModifyDbCluster'),
    });

    // …and the ledger records each decision
    expect(parseRecorded(checkLegitimateBehaviour, record.steps.checkLegitimateBehaviour!.data)).toMatchObject({ legitimate: false, user: 'svc_reporting', remoteIps: ['203.0.113.88'] });
    expect(parseRecorded(restrictNetworkAccess, record.steps.restrictNetworkAccess!.data)).toMatchObject({
      target: { kind: 'cluster', id: clusterId },
      groupsBefore: [net.appGroupId],
      isolationGroupId,
      siblings: [sibling],
    });
    // …the finding's address is denied both ways in both subnets' ACLs, below their lowest rules (100: allow all)
    const defaultAclId = (await aclOf(net.subnetIds[0]!)).NetworkAclId!;
    expect(defaultAclId).not.toBe(net.ownAclId);
    expect(await remoteDenies(net.subnetIds[0]!)).toEqual(['in 99', 'out 99']);
    expect(await remoteDenies(net.subnetIds[1]!)).toEqual(['in 99', 'out 99']);
    expect(record.steps.denyRemoteAddressesInNetworkAcls).toMatchObject({ status: 'done' });
    const aclDeny = parseRecorded(denyRemoteAddressesInNetworkAcls, record.steps.denyRemoteAddressesInNetworkAcls!.data);
    expect(aclDeny).toMatchObject({ addresses: ['203.0.113.88'], subnetIds: net.subnetIds, networkAclIds: [defaultAclId, net.ownAclId], undenied: [] });
    expect(aclDeny.entries.map((e) => e.origin)).toEqual(['created', 'created', 'created', 'created']);
    expect(record.steps.restrictDatabaseUser).toMatchObject({ status: 'skipped' });
    expect(parseRecorded(restrictDatabaseUser, record.steps.restrictDatabaseUser!.data)).toEqual({
      recommendation: [...restrictionSql('postgresql', { user: 'svc_reporting' }), ...restrictionSql('postgresql', { clientAddress: '203.0.113.88' })],
      reason: expect.stringContaining('127.0.0.1:1'),
    });
    expect(record.steps.rotateUserPassword).toMatchObject({ status: 'skipped' });
    expect(record.steps.enableIamAuthentication).toMatchObject({ status: 'done' });
    expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId }))).DBClusters![0]!.IAMDatabaseAuthenticationEnabled).toBe(true);
    // The emulator has no DownloadDBLogFilePortion: recorded as unsupported, not retried
    expect(record.steps.downloadDatabaseLogs).toMatchObject({ status: 'failed', error: { unsupported: true } });
    expect(record.steps.recommendHardening).toMatchObject({ status: 'done' });

    // Act: a responder releases the incident
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'the login was a migration job, SEC-91', '--table', main.ledgerTable);

    // Assess: the cluster has its groups back, the ACL denies are gone and each ACL holds exactly its rules of before; IAM authentication stays on
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(await clusterGroups(clusterId)).toEqual([net.appGroupId]);
    for (const subnetId of net.subnetIds) expect(await remoteDenies(subnetId)).toEqual([]);
    for (const [n, subnetId] of net.subnetIds.entries()) expect(ruleShapes(await aclOf(subnetId))).toEqual(aclsBefore[n]);
    expect((await world.ledger(main.ledgerTable).get(incidentId))!.status).toBe('released');
    expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId }))).DBClusters![0]!.IAMDatabaseAuthenticationEnabled).toBe(true);
  });

  it('standalone instance: the instance itself carries only the isolation group, and release restores both of its groups', async () => {
    // Prepare
    const net = await network();
    const instanceId = `billing-pg-${net.suffix}`;
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: instanceId,
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'postgres',
        MasterUserPassword: 'password123',
        VpcSecurityGroupIds: [net.appGroupId, net.otherGroupId],
        DBSubnetGroupName: net.subnetGroup,
        Tags: [{ Key: 'firebreak:admin-secret', Value: net.adminSecret }],
      }),
    );
    const event = await loginFinding(instanceId);
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, instanceId);

    // Act
    await world.putFinding(event, main.bus);
    await drainAll(rdsFunction);

    // Assess
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    const groups = (await instanceOf(instanceId)).VpcSecurityGroups!.map((g) => g.VpcSecurityGroupId!);
    expect(groups).toHaveLength(1);
    expect((await groupOf(groups[0]!)).GroupName).toBe('firebreak-rds-isolation-5432');
    expect(parseRecorded(restrictNetworkAccess, record.steps.restrictNetworkAccess!.data)).toMatchObject({ target: { kind: 'instance', id: instanceId }, groupsBefore: [net.appGroupId, net.otherGroupId], siblings: [] });
    for (const subnetId of net.subnetIds) expect(await remoteDenies(subnetId)).toEqual(['in 99', 'out 99']);
    expect((await instanceOf(instanceId)).IAMDatabaseAuthenticationEnabled).toBe(true);

    // Act: release
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'false positive, SEC-92', '--table', main.ledgerTable);

    // Assess
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect((await instanceOf(instanceId)).VpcSecurityGroups!.map((g) => g.VpcSecurityGroupId).sort()).toEqual([net.appGroupId, net.otherGroupId].sort());
    for (const subnetId of net.subnetIds) expect(await remoteDenies(subnetId)).toEqual([]);
  });
});
