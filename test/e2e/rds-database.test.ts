// In-database containment of a compromised RDS instance through the Terraform-deployed pipeline,
// against the REAL local servers of scripts/databases.sh (PostgreSQL and MariaDB, TLS from a local
// CA): the emulated instance's admin secret points at them. GuardDuty reports an unusual login by
// a user; Firebreak refuses that user's logins, ends its open session, gives it a new random
// password kept in a firebreak/ secret, and a responder's release gives the login back. The
// bystander and the admin are never touched. The servers must be up (`make test-e2e` starts them):
// test/databases/helpers.ts throws when their settings are missing, so this file fails, never skips.
import { randomUUID } from 'node:crypto';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, CreateDBSubnetGroupCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRecorded } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { databaseSteps } from '../../shared/playbooks/rds-instance/database.ts';
import { restrictionSql } from '../../shared/actions/database/index.ts';
import { drain } from '../../scripts/lib/drain.ts';
import { loadFixture, newFindingId, type FindingEvent } from '../../scripts/lib/findings.ts';
import {
  createPgRole,
  endedWithin,
  localCaPath,
  mariadbAdmin,
  mariadbAdminSession,
  mariadbLogin,
  mariadbSession,
  newPassword,
  pgAdminSession,
  pgLogin,
  pgSession,
  postgresAdmin,
  uniqueName,
} from '../databases/helpers.ts';
import { endpoint, firebreakAs, outputs, pipeline, responderCredentials, world } from './support.ts';

const main = pipeline('firebreak');
const rdsFunction: string = outputs.firebreak.playbooks['rds-instance'].function_name;
const clientConfig = { region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const rds = new RDSClient(clientConfig);
const secrets = new SecretsManagerClient(clientConfig);
const { restrictDatabaseUser, rotateUserPassword } = databaseSteps({ connect: async () => Promise.reject(new Error('unused')), restrictionSql });

// The deployed connector trusts FIREBREAK_DATABASE_CA_BUNDLE (as it trusts the RDS CA bundle):
// the local drain's functions and the release CLI get the local CA through it.
process.env.FIREBREAK_DATABASE_CA_BUNDLE = localCaPath;
const drainRds = () => drain({ endpoint, region: 'us-east-1', log: () => undefined, timeoutSeconds: 60, functionFilter: rdsFunction, baseEnvironment: { FIREBREAK_DATABASE_CA_BUNDLE: localCaPath } });

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

type Engine = 'postgres' | 'mysql';

/** An emulated instance in its own VPC, tagged with an admin secret (standard RDS shape) that points at a real local server. */
async function instanceOnLocalServer(engine: Engine, masterUsername = 'postgres') {
  const suffix = Math.random().toString(36).slice(2, 8);
  const vpcId = (await world.ec2.send(new CreateVpcCommand({ CidrBlock: '10.61.0.0/16' }))).Vpc!.VpcId!;
  const subnetIds = await Promise.all(
    ['us-east-1a', 'us-east-1b'].map(async (AvailabilityZone, n) => (await world.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.61.${n}.0/24`, AvailabilityZone }))).Subnet!.SubnetId!),
  );
  const appGroupId = (await world.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `app-db-${suffix}`, Description: 'app db' }))).GroupId!;
  const subnetGroup = `db-${suffix}`;
  await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: subnetGroup, DBSubnetGroupDescription: 'db', SubnetIds: subnetIds }));
  const admin = engine === 'postgres' ? postgresAdmin : mariadbAdmin;
  const adminSecret = `e2e/rds-db-admin-${suffix}`;
  await secrets.send(
    new CreateSecretCommand({ Name: adminSecret, SecretString: JSON.stringify({ username: admin.username, password: admin.password, engine, host: admin.host, port: admin.port }) }),
  );
  const instanceId = `${engine === 'postgres' ? 'ledger-pg' : 'shop-mysql'}-${suffix}`;
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: instanceId,
      Engine: engine,
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: 20,
      MasterUsername: masterUsername,
      MasterUserPassword: 'password123',
      VpcSecurityGroupIds: [appGroupId],
      DBSubnetGroupName: subnetGroup,
      Tags: [{ Key: 'firebreak:admin-secret', Value: adminSecret }],
    }),
  );
  return { instanceId, appGroupId };
}

/** The fixture (an unusual successful login from 203.0.113.88), naming this account, the standalone instance and `user`. */
async function loginFinding(instanceId: string, engine: Engine, user: string): Promise<FindingEvent> {
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
  delete details.dbClusterIdentifier;
  details.engine = engine;
  event.detail.resource.rdsDbUserDetails.user = user;
  for (const attribute of event.detail.service.action.rdsLoginAttemptAction.LoginAttributes) attribute.user = user;
  return event;
}

async function contain(instanceId: string, engine: Engine, user: string) {
  const event = await loginFinding(instanceId, engine, user);
  const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, instanceId);
  await world.putFinding(event, main.bus);
  await drainRds();
  const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
  expect(record, `no incident ${incidentId} in the ledger`).toBeDefined();
  return { incidentId, record };
}

function release(incidentId: string, reason: string) {
  const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', reason, '--table', main.ledgerTable);
  expect(released.code, released.stderr + released.stdout).toBe(0);
  return released;
}

const instanceGroups = async (id: string) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!.VpcSecurityGroups!.map((g) => g.VpcSecurityGroupId!);
const groupName = async (id: string) => (await world.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!.GroupName;

describe('Compromised RDS instance, in the database, end to end', () => {
  it('PostgreSQL: the suspected user is refused, its session ended, its password rotated into a firebreak/ secret; the bystander untouched; release restores the login (with the new password)', async () => {
    // Prepare: the suspected user (a hostile but valid name) with an open session, and a bystander
    const { instanceId, appGroupId } = await instanceOnLocalServer('postgres');
    const admin = await pgAdminSession();
    cleanups.push(() => admin.end());
    const suspect = uniqueName(`o'brien "ops"; `);
    const bystander = uniqueName('svc_billing_');
    const [suspectPassword, bystanderPassword] = [newPassword(), newPassword()];
    await createPgRole(admin, suspect, suspectPassword);
    await createPgRole(admin, bystander, bystanderPassword);
    cleanups.push(() => admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(suspect)}`), () => admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(bystander)}`));
    const session = await pgSession(suspect, suspectPassword);
    cleanups.push(() => session.end());
    await session.query('SELECT 1');

    // Act: GuardDuty's finding reaches the RDS function
    const { incidentId, record } = await contain(instanceId, 'postgres', suspect);

    // Assess: its session ended, the bystander still logs in, the admin's session lives; the old
    // password fails authentication (rotated), the new one is refused by the lock (below)
    expect(await pgLogin(suspect, suspectPassword)).toMatchObject({ code: '28P01' });
    await endedWithin(() => session.query('SELECT 1'));
    expect(await pgLogin(bystander, bystanderPassword)).toBe('accepted');
    await admin.query('SELECT 1');
    // …the instance carries only the isolation group
    const groups = await instanceGroups(instanceId);
    expect(groups).toHaveLength(1);
    expect(await groupName(groups[0]!)).toBe('firebreak-rds-isolation-5432');
    // …and the ledger records each decision
    expect(record.steps.restrictDatabaseUser, JSON.stringify(record.steps.restrictDatabaseUser)).toMatchObject({ status: 'done' });
    const restricted = parseRecorded(restrictDatabaseUser, record.steps.restrictDatabaseUser!.data);
    expect(restricted).toMatchObject({
      dialect: 'postgresql',
      host: postgresAdmin.host,
      port: postgresAdmin.port,
      adminUser: postgresAdmin.username,
      credentialSource: 'admin-secret',
      tls: true,
      user: suspect,
      lockedFrom: { user: suspect, exists: true, alreadyLocked: false },
      failed: [],
      clientAddresses: ['203.0.113.88'],
    });
    expect('ended' in restricted && restricted.ended).toEqual([expect.objectContaining({ user: suspect })]);
    expect(record.steps.rotateUserPassword, JSON.stringify(record.steps.rotateUserPassword)).toMatchObject({ status: 'done' });
    const rotated = parseRecorded(rotateUserPassword, record.steps.rotateUserPassword!.data);
    expect(rotated).toMatchObject({ user: suspect, method: 'new-secret', secretName: expect.stringMatching(/^firebreak\/rds-instance\//) });
    const secretName = (rotated as { secretName: string }).secretName;
    const kept = JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString!) as { username: string; password: string };
    expect(kept.username).toBe(suspect);
    expect(kept.password).not.toBe(suspectPassword);
    // …still refused with the new password while contained
    expect(await pgLogin(suspect, kept.password)).toMatchObject({ code: '28000' });

    // Act: a responder releases the incident
    release(incidentId, 'the login was the on-call DBA, SEC-93');

    // Assess: the login is back with the rotated password only; the bystander untouched; the groups restored
    expect(await pgLogin(suspect, kept.password)).toBe('accepted');
    expect(await pgLogin(suspect, suspectPassword)).toMatchObject({ code: '28P01' });
    expect(await pgLogin(bystander, bystanderPassword)).toBe('accepted');
    expect(await instanceGroups(instanceId)).toEqual([appGroupId]);
    const released = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(released.status).toBe('released');
  });

  it('MariaDB (an RDS mysql instance): the suspected account is locked and its session killed, the bystander untouched; release unlocks it', async () => {
    // Prepare
    const { instanceId } = await instanceOnLocalServer('mysql', 'admin');
    const admin = await mariadbAdminSession();
    cleanups.push(() => admin.end());
    const suspect = uniqueName(`d'arcy_`);
    const bystander = uniqueName('svc_shop_');
    const [suspectPassword, bystanderPassword] = [newPassword(), newPassword()];
    for (const [user, password] of [
      [suspect, suspectPassword],
      [bystander, bystanderPassword],
    ] as const) {
      await admin.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', password]);
      cleanups.push(() => admin.query('DROP USER IF EXISTS ?@?', [user, '%']));
    }
    const session = await mariadbSession(suspect, suspectPassword);
    cleanups.push(() => session.end());
    await session.query('SELECT 1');

    // Act
    const { incidentId, record } = await contain(instanceId, 'mysql', suspect);

    // Assess: the old password is refused (rotated: ER_ACCESS_DENIED 1045), the session killed, the bystander logs in
    expect(await mariadbLogin(suspect, suspectPassword)).toMatchObject({ errno: 1045 });
    await endedWithin(() => session.query('SELECT 1'));
    expect(await mariadbLogin(bystander, bystanderPassword)).toBe('accepted');
    expect(record.steps.restrictDatabaseUser, JSON.stringify(record.steps.restrictDatabaseUser)).toMatchObject({ status: 'done' });
    const restricted = parseRecorded(restrictDatabaseUser, record.steps.restrictDatabaseUser!.data);
    expect(restricted).toMatchObject({ dialect: 'mysql', port: mariadbAdmin.port, tls: true, user: suspect, lockedFrom: { user: suspect, exists: true, alreadyLocked: false }, failed: [] });
    expect('ended' in restricted && restricted.ended).toEqual([expect.objectContaining({ user: suspect })]);
    expect(parseRecorded(rotateUserPassword, record.steps.rotateUserPassword!.data)).toMatchObject({ user: suspect, method: 'new-secret' });
    const { secretName } = parseRecorded(rotateUserPassword, record.steps.rotateUserPassword!.data) as { secretName: string };
    const kept = JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString!) as { password: string };
    // …and the new password meets the lock (ER_ACCOUNT_HAS_BEEN_LOCKED 4151)
    expect(await mariadbLogin(suspect, kept.password)).toMatchObject({ errno: 4151 });

    // Act: release
    release(incidentId, 'a scheduled export, SEC-94');

    // Assess: unlocked, with the rotated password; the bystander untouched
    expect(await mariadbLogin(suspect, kept.password)).toBe('accepted');
    expect(await mariadbLogin(suspect, suspectPassword)).toMatchObject({ errno: 1045 });
    expect(await mariadbLogin(bystander, bystanderPassword)).toBe('accepted');
  });

  it('the admin user Firebreak connects as (here the master user) is never locked: it still logs in, and its password is rotated through RDS only', async () => {
    // Prepare: the finding names the admin itself, which is also the instance's master user
    const { instanceId } = await instanceOnLocalServer('postgres', postgresAdmin.username);
    const admin = await pgAdminSession();
    cleanups.push(() => admin.end());

    // Act
    const { record } = await contain(instanceId, 'postgres', postgresAdmin.username);

    // Assess: the admin logs in, and its own session was not ended
    expect(await pgLogin(postgresAdmin.username, postgresAdmin.password)).toBe('accepted');
    await admin.query('SELECT 1');
    expect(record.steps.restrictDatabaseUser, JSON.stringify(record.steps.restrictDatabaseUser)).toMatchObject({ status: 'done' });
    const restricted = parseRecorded(restrictDatabaseUser, record.steps.restrictDatabaseUser!.data);
    expect(restricted).toMatchObject({ user: postgresAdmin.username, notLocked: expect.stringContaining('never locked; it is the master user') });
    expect(restricted).not.toHaveProperty('lockedFrom');
    expect('ended' in restricted && restricted.ended).toEqual([]);
    // …the master password is handed to RDS (ManageMasterUserPassword), never changed in the database
    expect(record.steps.rotateUserPassword, JSON.stringify(record.steps.rotateUserPassword)).toMatchObject({ status: 'done' });
    expect(parseRecorded(rotateUserPassword, record.steps.rotateUserPassword!.data)).toMatchObject({ user: postgresAdmin.username, method: 'rds-managed-master', target: { kind: 'instance', id: instanceId } });
  });
});
