/**
 * Inside a real PostgreSQL (scripts/databases.sh): the suspected role can no longer log in and
 * its open session is gone, other roles still work, the admin is never touched, release gives the
 * login back (unless it was refused before), hostile names stay names.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminUserError,
  connectDatabase,
  createDatabaseConnector,
  DatabaseCertificateError,
  DatabaseRefusedError,
  DatabaseRequestError,
  DatabaseUnreachableError,
  type DatabaseConnection,
} from '../../shared/actions/database/index.ts';
import {
  connect,
  createPgRole,
  endedWithin,
  localCaPath,
  newPassword,
  pgAdminSession,
  pgLogin,
  pgSession,
  pidOf,
  postgresAdmin,
  silentServer,
  tlsRefusingProxy,
  uniqueName,
} from './helpers.ts';

describe('PostgreSQL: restricting a suspected role', () => {
  let admin: pg.Client;
  let db: DatabaseConnection;
  const roles: string[] = [];
  const open: pg.Client[] = [];

  async function role(prefix: string, options = 'LOGIN'): Promise<{ name: string; password: string }> {
    const name = uniqueName(prefix);
    const password = newPassword();
    await createPgRole(admin, name, password, options);
    roles.push(name);
    return { name, password };
  }

  async function session(user: { name: string; password: string }): Promise<pg.Client> {
    const client = await pgSession(user.name, user.password);
    open.push(client);
    return client;
  }

  beforeAll(async () => {
    admin = await pgAdminSession();
    db = await connect(postgresAdmin);
  });

  afterAll(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => undefined)));
    await db?.close();
    for (const name of roles) await admin.query(`DROP ROLE IF EXISTS ${admin.escapeIdentifier(name)}`).catch(() => undefined);
    await admin?.end();
  });

  it('Should connect over TLS, verifying the server certificate against the CA it trusts', async () => {
    // Assess
    expect(db.dialect).toBe('postgresql');
    expect(db.tls).toBe(true);
    const { rows } = await admin.query<{ ssl: boolean }>(
      "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'firebreak'",
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.ssl)).toBe(true);
  });

  it('Should refuse a server whose certificate no trusted CA signed, rather than fall back to plain text', async () => {
    // Act
    const attempt = createDatabaseConnector({ extraCertificateAuthorities: () => [] })(postgresAdmin);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(DatabaseCertificateError);
  });

  it('Should fall back to plain text only when the server refuses TLS', async () => {
    // Prepare
    const proxy = await tlsRefusingProxy('postgresql', postgresAdmin);
    try {
      // Act
      const plain = await connect({ ...postgresAdmin, port: proxy.port });
      // Assess
      expect(plain.tls).toBe(false);
      expect((await plain.loginState(postgresAdmin.username)).exists).toBe(true);
      await plain.close();
    } finally {
      await proxy.close();
    }
  });

  it('Should lock the suspected role, end its open session, and leave other roles alone', async () => {
    // Prepare
    const suspect = await role('suspect_');
    const bystander = await role('bystander_');
    const suspectSession = await session(suspect);
    const bystanderSession = await session(bystander);
    // Act
    const before = await db.lockUser(suspect.name);
    // Assess: NOLOGIN alone leaves the open session running
    expect(before).toEqual({ user: suspect.name, exists: true, alreadyLocked: false, accounts: [suspect.name] });
    expect((await suspectSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect(await pgLogin(suspect.name, suspect.password)).toMatchObject({ code: '28000' });
    // Act
    const { ended, failed } = await db.endSessions({ user: suspect.name });
    // Assess
    expect(failed).toEqual([]);
    expect(ended).toEqual([{ id: pidOf(suspectSession), user: suspect.name, clientAddress: '127.0.0.1' }]);
    await endedWithin(() => suspectSession.query('SELECT 1'));
    expect((await bystanderSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect(await pgLogin(bystander.name, bystander.password)).toBe('accepted');
    expect((await db.loginState(suspect.name)).alreadyLocked).toBe(true);
  });

  it('Should give the login back on release', async () => {
    // Prepare
    const suspect = await role('released_');
    const before = await db.lockUser(suspect.name);
    expect(await pgLogin(suspect.name, suspect.password)).not.toBe('accepted');
    // Act
    await db.unlockUser(before);
    await db.unlockUser(before);
    // Assess
    expect(await pgLogin(suspect.name, suspect.password)).toBe('accepted');
  });

  it('Should leave a role that could not log in before still unable to after release', async () => {
    // Prepare
    const locked = await role('nologin_', 'NOLOGIN');
    // Act
    const before = await db.lockUser(locked.name);
    await db.unlockUser(before);
    // Assess
    expect(before.alreadyLocked).toBe(true);
    expect(await pgLogin(locked.name, locked.password)).toMatchObject({ code: '28000' });
  });

  it('Should end the sessions from a client address, never the admin\u2019s nor its own', async () => {
    // Prepare
    const first = await role('from_address_a_');
    const second = await role('from_address_b_');
    const firstSession = await session(first);
    const secondSession = await session(second);
    const adminSession = await pgAdminSession();
    open.push(adminSession);
    // Act
    const { ended, failed } = await db.endSessions({ clientAddress: '127.0.0.1' });
    // Assess
    expect(failed).toEqual([]);
    expect(ended.map((s) => s.id)).toEqual(expect.arrayContaining([pidOf(firstSession), pidOf(secondSession)]));
    expect(ended.every((s) => s.user !== postgresAdmin.username && s.clientAddress === '127.0.0.1')).toBe(true);
    await endedWithin(() => firstSession.query('SELECT 1'));
    await endedWithin(() => secondSession.query('SELECT 1'));
    expect((await adminSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect((await admin.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect((await db.loginState(postgresAdmin.username)).exists).toBe(true);
    // Roles from the address can still log in: ending sessions is not locking.
    expect(await pgLogin(first.name, first.password)).toBe('accepted');
  });

  it('Should end only the user\u2019s sessions from the address when both are given', async () => {
    // Prepare
    const suspect = await role('both_a_');
    const other = await role('both_b_');
    const suspectSession = await session(suspect);
    const otherSession = await session(other);
    // Act
    const { ended } = await db.endSessions({ user: suspect.name, clientAddress: '127.0.0.1' });
    // Assess
    expect(ended.map((s) => s.user)).toEqual([suspect.name]);
    await endedWithin(() => suspectSession.query('SELECT 1'));
    expect((await otherSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect((await db.endSessions({ user: suspect.name, clientAddress: '10.9.9.9' })).ended).toEqual([]);
  });

  it('Should never lock, end or re-password the admin user it connects as', async () => {
    // Prepare
    const adminSession = await pgAdminSession();
    open.push(adminSession);
    // Act / Assess
    await expect(db.lockUser(postgresAdmin.username)).rejects.toBeInstanceOf(AdminUserError);
    await expect(db.setPassword(postgresAdmin.username, newPassword())).rejects.toBeInstanceOf(AdminUserError);
    expect(await db.endSessions({ user: postgresAdmin.username })).toEqual({ ended: [], failed: [] });
    expect((await adminSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    expect(await pgLogin(postgresAdmin.username, postgresAdmin.password)).toBe('accepted');
  });

  it('Should set a new password: the new one logs in, the old one no longer does', async () => {
    // Prepare
    const user = await role('rotated_');
    const replacement = newPassword();
    // Act
    await db.setPassword(user.name, replacement);
    // Assess
    expect(await pgLogin(user.name, replacement)).toBe('accepted');
    expect(await pgLogin(user.name, user.password)).toMatchObject({ code: '28P01' });
    const { rows } = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [user.name]);
    expect(rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('Should set a password the server hashes itself when it is not printable ASCII', async () => {
    // Prepare
    const user = await role('unicode_pw_');
    // Act
    await db.setPassword(user.name, 'pâss wörd ✓ 🔥');
    // Assess
    expect(await pgLogin(user.name, 'pâss wörd ✓ 🔥')).toBe('accepted');
  });

  it('Should quote hostile role names: the role named with quotes and a semicolon is locked, nothing else runs', async () => {
    // Prepare
    const victim = await role('victim_');
    const hostile = await role(`x"; DROP ROLE "${victim.name}"; --'\\ ünï;`);
    const hostileSession = await session(hostile);
    // Act
    const before = await db.lockUser(hostile.name);
    const { ended } = await db.endSessions({ user: hostile.name });
    // Assess
    expect(before.exists).toBe(true);
    expect(ended.map((s) => s.user)).toEqual([hostile.name]);
    await endedWithin(() => hostileSession.query('SELECT 1'));
    expect(await pgLogin(hostile.name, hostile.password)).toMatchObject({ code: '28000' });
    expect((await db.loginState(victim.name)).exists).toBe(true);
    expect(await pgLogin(victim.name, victim.password)).toBe('accepted');
    // Act: release, and a new password, through the same quoting
    await db.unlockUser(before);
    const replacement = `p'w"\\;${newPassword()}`;
    await db.setPassword(hostile.name, replacement);
    // Assess
    expect(await pgLogin(hostile.name, replacement)).toBe('accepted');
  });

  it('Should report a role that does not exist without changing anything', async () => {
    // Act
    const before = await db.lockUser('no_such_role_firebreak');
    // Assess
    expect(before).toEqual({ user: 'no_such_role_firebreak', exists: false, alreadyLocked: false, accounts: [] });
    await db.unlockUser(before);
    await expect(db.setPassword('no_such_role_firebreak', newPassword())).rejects.toBeInstanceOf(DatabaseRequestError);
    expect(await db.endSessions({ user: 'no_such_role_firebreak' })).toEqual({ ended: [], failed: [] });
  });

  it('Should refuse a session filter that names nothing, or an address that is not one', async () => {
    await expect(db.endSessions({})).rejects.toBeInstanceOf(DatabaseRequestError);
    await expect(db.endSessions({ clientAddress: "1.2.3.4' OR true --" })).rejects.toBeInstanceOf(DatabaseRequestError);
  });

  it('Should work as an RDS-like admin: not a superuser, with CREATEROLE and pg_signal_backend', async () => {
    // Prepare
    const rdsAdmin = await role('rds_master_', 'LOGIN CREATEROLE');
    await admin.query(`GRANT pg_signal_backend, pg_read_all_stats TO ${admin.escapeIdentifier(rdsAdmin.name)}`);
    const suspect = await role('rds_suspect_');
    const suspectSession = await session(suspect);
    const asRdsAdmin = await connect({ ...postgresAdmin, username: rdsAdmin.name, password: rdsAdmin.password });
    try {
      // Act
      const before = await asRdsAdmin.lockUser(suspect.name);
      const { ended, failed } = await asRdsAdmin.endSessions({ user: suspect.name });
      // Assess
      expect(before.alreadyLocked).toBe(false);
      expect(failed).toEqual([]);
      expect(ended.map((s) => s.id)).toEqual([pidOf(suspectSession)]);
      await endedWithin(() => suspectSession.query('SELECT 1'));
      expect(await pgLogin(suspect.name, suspect.password)).toMatchObject({ code: '28000' });
      await expect(asRdsAdmin.lockUser(rdsAdmin.name)).rejects.toBeInstanceOf(AdminUserError);
    } finally {
      await asRdsAdmin.close();
    }
  });

  it('Should say the database refused a statement the admin may not run (no CREATEROLE)', async () => {
    // Prepare
    const weak = await role('no_createrole_', 'LOGIN');
    const target = await role('target_');
    const asWeak = await connect({ ...postgresAdmin, username: weak.name, password: weak.password });
    try {
      // Act
      const error = await asWeak.lockUser(target.name).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(DatabaseRefusedError);
      expect(error).toMatchObject({ user: weak.name, retryable: false, message: expect.stringMatching(/permission denied/) });
      expect(await pgLogin(target.name, target.password)).toBe('accepted');
    } finally {
      await asWeak.close();
    }
  });

  it('Should trust the CA bundle named by FIREBREAK_DATABASE_CA_BUNDLE (the deployed connector)', async () => {
    // Prepare
    const previous = process.env.FIREBREAK_DATABASE_CA_BUNDLE;
    process.env.FIREBREAK_DATABASE_CA_BUNDLE = localCaPath;
    try {
      // Act
      const viaEnvironment = await connectDatabase(postgresAdmin);
      // Assess
      expect(viaEnvironment.tls).toBe(true);
      await viaEnvironment.close();
    } finally {
      if (previous === undefined) delete process.env.FIREBREAK_DATABASE_CA_BUNDLE;
      else process.env.FIREBREAK_DATABASE_CA_BUNDLE = previous;
    }
  });

  it('Should report a superuser\u2019s session it may not end as failed, with the reason', async () => {
    // Prepare: a non-superuser admin cannot terminate a superuser's backend
    const weakAdmin = await role('weak_admin_', 'LOGIN');
    await admin.query(`GRANT pg_signal_backend, pg_read_all_stats TO ${admin.escapeIdentifier(weakAdmin.name)}`);
    const superuser = await role('super_', 'LOGIN SUPERUSER');
    const superSession = await session(superuser);
    const asWeakAdmin = await connect({ ...postgresAdmin, username: weakAdmin.name, password: weakAdmin.password });
    try {
      // Act
      const { ended, failed } = await asWeakAdmin.endSessions({ user: superuser.name });
      // Assess
      expect(ended).toEqual([]);
      expect(failed).toEqual([expect.objectContaining({ id: pidOf(superSession), reason: expect.stringMatching(/permission|superuser/i) })]);
      expect((await superSession.query('SELECT 1 AS alive')).rows[0]).toEqual({ alive: 1 });
    } finally {
      await asWeakAdmin.close();
    }
  });
});

describe('PostgreSQL: connection failures', () => {
  it('Should say the database is unreachable (host and port, never the password) when nothing listens', async () => {
    // Act
    const error = await connect({ ...postgresAdmin, port: 1, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect(error).toMatchObject({ host: postgresAdmin.host, port: 1, retryable: true, code: 'DatabaseUnreachable' });
    expect(String((error as Error).message)).not.toContain(postgresAdmin.password);
  });

  it('Should say the database is unreachable when its name does not resolve', async () => {
    await expect(connect({ ...postgresAdmin, host: 'no-such-database.invalid', connectTimeoutMs: 2000 })).rejects.toBeInstanceOf(DatabaseUnreachableError);
  });

  it('Should give up on a database that accepts the connection and never answers, within the connect timeout', async () => {
    // Prepare
    const silent = await silentServer();
    try {
      // Act
      const started = Date.now();
      const error = await connect({ ...postgresAdmin, port: silent.port, connectTimeoutMs: 500 }).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(DatabaseUnreachableError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await silent.close();
    }
  });

  it('Should say the database refused the admin when the password is wrong, without the password', async () => {
    // Act
    const wrong = `wrong-${newPassword()}`;
    const error = await connect({ ...postgresAdmin, password: wrong }).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(error).toMatchObject({ user: postgresAdmin.username, retryable: false });
    expect(JSON.stringify({ message: (error as Error).message, cause: String((error as Error).cause) })).not.toContain(wrong);
  });
});
