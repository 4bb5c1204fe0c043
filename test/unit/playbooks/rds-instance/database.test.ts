import { CreateSecretCommand, GetSecretValueCommand, ListSecretsCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ModifyDBClusterCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restrictionSql } from '../../../../shared/actions/database/index.ts';
import { newPasswordSecretName } from '../../../../shared/playbooks/rds-instance/database.ts';
import { awsError } from '../../helpers/factories.ts';
import { ADMIN_SECRET, anRdsIncident, anRdsStepContext, anRdsUndoContext, aurora, FakeDatabase, mariadb, MASTER_SECRET, outcome, rdsOptions, stepsOn } from './support.ts';

const smMock = mockClient(SecretsManagerClient);
const rdsMock = mockClient(RDSClient);
afterEach(() => {
  smMock.reset();
  rdsMock.reset();
});

const ADMIN = { username: 'firebreak_admin', password: 'admin-pass', host: '127.0.0.1', port: 15432, engine: 'postgres' };
beforeEach(() => {
  smMock.on(GetSecretValueCommand, { SecretId: ADMIN_SECRET }).resolves({ SecretString: JSON.stringify(ADMIN) });
  smMock.on(GetSecretValueCommand, { SecretId: MASTER_SECRET }).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: 'master-pass' }) });
});

describe('Restrict the DB access of the suspected DB user (restrictDatabaseUser)', () => {
  it('refuses the user new logins and ends its sessions and every session from the remote address, as the admin of the admin secret', async () => {
    // Prepare
    const db = new FakeDatabase();
    const { restrictDatabaseUser } = stepsOn(db);

    // Act
    const result = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result.status).toBe('done');
    expect(db.locked).toEqual(new Set(['svc_reporting']));
    expect(db.calls.filter((c) => c.method === 'endSessions').map((c) => c.args[0])).toEqual([{ user: 'svc_reporting' }, { clientAddress: '203.0.113.88' }]);
    expect(db.sessions.map((s) => s.id)).toEqual(['103']);
    expect(db.methods().at(-1)).toBe('close');
    expect(result.data).toMatchObject({ adminUser: 'firebreak_admin', credentialSource: 'admin-secret', lockedFrom: { user: 'svc_reporting', alreadyLocked: false }, tls: true });
  });

  it("connects to the admin secret's host and port, which take precedence over the instance endpoint", async () => {
    // Prepare
    const db = new FakeDatabase();

    // Act
    await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(db.endpoints).toEqual([{ dialect: 'postgresql', host: '127.0.0.1', port: 15432, database: 'postgres', username: 'firebreak_admin', password: 'admin-pass', connectTimeoutMs: 5000 }]);
  });

  it("uses the RDS-managed master secret (username and password only) and the cluster's writer endpoint when no admin secret is tagged", async () => {
    // Prepare
    const db = new FakeDatabase();

    // Act
    await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora({}, { TagList: [] }), anRdsIncident()));

    // Assess
    expect(db.endpoints[0]).toMatchObject({ host: 'orders-aurora-cluster.cluster-abc123.us-east-1.rds.amazonaws.com', port: 5432, username: 'postgres' });
  });

  it("ends the sessions on the finding's Aurora reader through its own endpoint, since the writer endpoint does not see them", async () => {
    // Prepare
    const db = new FakeDatabase();

    // Act
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora({}, { TagList: [] }), anRdsIncident()));

    // Assess
    expect(db.endpoints.map((e) => e.host)).toEqual(['orders-aurora-cluster.cluster-abc123.us-east-1.rds.amazonaws.com', 'orders-aurora-instance-1.abc123.us-east-1.rds.amazonaws.com']);
    expect(db.methods().filter((m) => m === 'close')).toHaveLength(2);
    expect(result.status).toBe('done');
  });

  it('never locks the admin user Firebreak connects with, even when the finding names it (the master user through its managed secret)', async () => {
    // Prepare
    const db = new FakeDatabase();

    // Act
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora({}, { TagList: [] }), anRdsIncident({ user: 'postgres' })));

    // Assess
    expect(result.status).toBe('done');
    expect(db.methods()).not.toContain('lockUser');
    expect(db.locked.size).toBe(0);
    // On the writer and on the reader of the finding: only the remote address's sessions, never the admin's.
    expect(db.calls.filter((c) => c.method === 'endSessions').map((c) => c.args[0])).toEqual([{ clientAddress: '203.0.113.88' }, { clientAddress: '203.0.113.88' }]);
    expect(result.data).toMatchObject({ notLocked: expect.stringContaining('master user') });
  });

  it('records the exact SQL as a recommendation when the database cannot be reached', async () => {
    // Prepare
    const db = new FakeDatabase();
    db.unreachable = true;

    // Act
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data).toEqual({
      recommendation: [...restrictionSql('postgresql', { user: 'svc_reporting' }), ...restrictionSql('postgresql', { clientAddress: '203.0.113.88' })],
      reason: expect.stringContaining('could not be reached'),
    });
    expect(result.summary).toContain('ALTER ROLE "svc_reporting" NOLOGIN');
  });

  it('records the SQL when no admin credentials exist (no tag, no managed master secret)', async () => {
    // Prepare
    const db = new FakeDatabase();

    // Act
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { reason: expect.stringContaining('firebreak:admin-secret') } });
    expect(db.endpoints).toHaveLength(0);
  });

  it.each(['x"; DROP ROLE postgres; --', "o'brien", 'weird`name\\'])('hands the hostile user name %j to the connector verbatim, never building SQL from it', async (user) => {
    // Prepare
    const db = new FakeDatabase();
    db.users.add(user);

    // Act
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident({ user })));

    // Assess
    expect(db.calls.find((c) => c.method === 'lockUser')?.args).toEqual([user]);
    expect(result.data).toMatchObject({ user });
  });

  it('keeps the login state from before its own lock on a redelivery, so release gives the login back', async () => {
    // Prepare
    const db = new FakeDatabase();
    const { restrictDatabaseUser } = stepsOn(db);
    const first = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Act
    const again = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident(), { previous: { ...outcome('failed', first.data), status: 'failed' } as never }));

    // Assess
    expect(again.data).toMatchObject({ lockedFrom: { alreadyLocked: false } });
  });

  it('does nothing inside the database with restrict_database_user off, and says what to run', async () => {
    const db = new FakeDatabase();
    const result = await stepsOn(db).restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident(), { options: rdsOptions({ restrict_database_user: false }) }));
    expect(result).toMatchObject({ status: 'skipped', data: { reason: 'restrict_database_user is off' } });
    expect(db.endpoints).toHaveLength(0);
  });
});

describe('Release: give the login back (restoreDatabaseLogin)', () => {
  it('unlocks the user it locked', async () => {
    // Prepare
    const db = new FakeDatabase();
    const { restrictDatabaseUser } = stepsOn(db);
    const result = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Act
    const released = await restrictDatabaseUser.undo!.run(anRdsUndoContext(restrictDatabaseUser, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released.status).toBe('done');
    expect(db.locked.size).toBe(0);
  });

  it('leaves a user locked that was locked before containment', async () => {
    // Prepare
    const db = new FakeDatabase();
    db.locked.add('svc_reporting');
    const { restrictDatabaseUser } = stepsOn(db);
    const result = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Act
    const released = await restrictDatabaseUser.undo!.run(anRdsUndoContext(restrictDatabaseUser, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released.status).toBe('skipped');
    expect(db.locked).toEqual(new Set(['svc_reporting']));
  });

  it('says which SQL gives the login back when the database cannot be reached at release', async () => {
    // Prepare
    const db = new FakeDatabase();
    const { restrictDatabaseUser } = stepsOn(db);
    const result = await restrictDatabaseUser.run(anRdsStepContext(aurora(), anRdsIncident()));
    db.unreachable = true;

    // Act
    const released = await restrictDatabaseUser.undo!.run(anRdsUndoContext(restrictDatabaseUser, result, aurora(), anRdsIncident(), aurora()));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', data: { recommendation: ['ALTER ROLE "svc_reporting" LOGIN;'] } });
  });
});

describe("Rotate the suspected DB user's password (rotateUserPassword)", () => {
  it('rotates a master user whose password RDS manages with RotateMasterUserPassword on the cluster, applied immediately', async () => {
    // Prepare
    rdsMock.on(ModifyDBClusterCommand).resolves({});
    const { rotateUserPassword } = stepsOn(new FakeDatabase());

    // Act
    const result = await rotateUserPassword.run(anRdsStepContext(aurora(), anRdsIncident({ user: 'postgres' })));

    // Assess
    expect(rdsMock.commandCalls(ModifyDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: 'orders-aurora-cluster', RotateMasterUserPassword: true, ApplyImmediately: true }]);
    expect(result).toMatchObject({ status: 'done', data: { method: 'rds-rotate-master' } });
  });

  it('moves an unmanaged master user to ManageMasterUserPassword on a standalone instance', async () => {
    // Prepare
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await stepsOn(new FakeDatabase()).rotateUserPassword.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb', user: 'admin' })));

    // Assess
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: 'billing-mariadb', ManageMasterUserPassword: true, ApplyImmediately: true }]);
    expect(result).toMatchObject({ status: 'done', data: { method: 'rds-managed-master' } });
  });

  it("rotates the user's own secret through Secrets Manager when it has rotation", async () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/orders/svc_reporting-AbC';
    smMock.on(ListSecretsCommand).resolves({ SecretList: [{ ARN: arn, RotationEnabled: true, Tags: [{ Key: 'firebreak:db-user', Value: 'svc_reporting' }, { Key: 'firebreak:db-resource', Value: 'orders-aurora-cluster' }] }] });
    smMock.on(RotateSecretCommand).resolves({ ARN: arn });
    const db = new FakeDatabase();

    // Act
    const result = await stepsOn(db).rotateUserPassword.run(anRdsStepContext(aurora(), anRdsIncident()));

    // Assess
    expect(smMock.commandCalls(RotateSecretCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: arn }]);
    expect(db.methods()).not.toContain('setPassword');
    expect(result).toMatchObject({ status: 'done', data: { method: 'secret-rotation', secretArn: arn } });
  });

  it('otherwise sets a new random password in the database and keeps it in a new firebreak/ secret, never in the record', async () => {
    // Prepare
    smMock.on(ListSecretsCommand).resolves({ SecretList: [] });
    smMock.on(CreateSecretCommand).resolves({ ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:firebreak/x' });
    const db = new FakeDatabase();
    const incident = anRdsIncident();

    // Act
    const result = await stepsOn(db).rotateUserPassword.run(anRdsStepContext(aurora(), incident));

    // Assess
    expect(db.calls.find((c) => c.method === 'setPassword')?.args).toEqual(['svc_reporting', 32]);
    const created = smMock.commandCalls(CreateSecretCommand)[0]!.args[0].input;
    expect(created.Name).toBe(newPasswordSecretName(incident.incidentId, 'orders-aurora-instance-1', 'svc_reporting'));
    expect(created.Name).toMatch(/^firebreak\/rds-instance\//);
    expect(JSON.parse(created.SecretString!)).toMatchObject({ username: 'svc_reporting', password: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
    expect(JSON.stringify(result)).not.toContain(JSON.parse(created.SecretString!).password);
    expect(result).toMatchObject({ status: 'done', data: { method: 'new-secret' } });
  });

  it('overwrites the secret an earlier delivery created, since the password in the database is the new one', async () => {
    smMock.on(ListSecretsCommand).resolves({ SecretList: [] });
    smMock.on(CreateSecretCommand).rejects(awsError('ResourceExistsException', { httpStatusCode: 400 }));
    smMock.on(PutSecretValueCommand).resolves({ ARN: 'arn:x' });
    const result = await stepsOn(new FakeDatabase()).rotateUserPassword.run(anRdsStepContext(aurora(), anRdsIncident()));
    expect(result.status).toBe('done');
    expect(smMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('records a recommendation when the database cannot be reached to set a password', async () => {
    smMock.on(ListSecretsCommand).resolves({ SecretList: [] });
    const db = new FakeDatabase();
    db.unreachable = true;
    const result = await stepsOn(db).rotateUserPassword.run(anRdsStepContext(aurora(), anRdsIncident()));
    expect(result).toMatchObject({ status: 'skipped', data: { reason: expect.stringContaining('could not be reached') } });
    expect(smMock.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });

  it("does not change the admin user's password from under Firebreak", async () => {
    smMock.on(ListSecretsCommand).resolves({ SecretList: [] });
    const result = await stepsOn(new FakeDatabase()).rotateUserPassword.run(anRdsStepContext(aurora(), anRdsIncident({ user: 'firebreak_admin' })));
    expect(result).toMatchObject({ status: 'skipped', data: { recommendation: [`rotate secret ${ADMIN_SECRET}`] } });
    expect(smMock.commandCalls(CreateSecretCommand)).toHaveLength(0);
  });
});
