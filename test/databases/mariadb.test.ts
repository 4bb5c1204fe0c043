/**
 * Inside a real MariaDB (scripts/databases.sh), the MySQL dialect: every account of the suspected
 * user name is locked and its connections killed (KILL, or mysql.rds_kill where KILL is refused,
 * as on RDS), other users still work, the admin is never touched, release unlocks only what
 * Firebreak locked, hostile names stay names.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminUserError,
  createDatabaseConnector,
  DatabaseCertificateError,
  DatabaseRefusedError,
  DatabaseRequestError,
  DatabaseUnreachableError,
  type DatabaseConnection,
  type MysqlLoginState,
} from '../../shared/actions/database/index.ts';
import {
  connect,
  endedWithin,
  mariadbAdmin,
  mariadbAdminSession,
  mariadbLogin,
  mariadbSession,
  newPassword,
  silentServer,
  tlsRefusingProxy,
  uniqueName,
} from './helpers.ts';

/** ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB), ER_ACCESS_DENIED_ERROR. */
const ACCOUNT_LOCKED = 4151;
const ACCESS_DENIED = 1045;

describe('MariaDB: restricting a suspected user', () => {
  let admin: mysql.Connection;
  let db: DatabaseConnection;
  const accounts: string[] = [];
  const open: mysql.Connection[] = [];

  /** Creates `'name'@host` for each host (default '%'), with one password. */
  async function user(prefix: string, hosts: string[] = ['%'], lockedHosts: string[] = []): Promise<{ name: string; password: string }> {
    const name = uniqueName(prefix);
    const password = newPassword();
    for (const host of hosts) {
      const account = `${admin.escape(name)}@${admin.escape(host)}`;
      await admin.query(`CREATE USER ${account} IDENTIFIED BY ${admin.escape(password)}${lockedHosts.includes(host) ? ' ACCOUNT LOCK' : ''}`);
      accounts.push(account);
    }
    return { name, password };
  }

  async function session(u: { name: string; password: string }): Promise<mysql.Connection> {
    const connection = await mariadbSession(u.name, u.password);
    open.push(connection);
    return connection;
  }

  beforeAll(async () => {
    admin = await mariadbAdminSession();
    db = await connect(mariadbAdmin);
  });

  afterAll(async () => {
    for (const c of open) c.destroy();
    await db?.close();
    for (const account of accounts) await admin.query(`DROP USER IF EXISTS ${account}`).catch(() => undefined);
    await admin?.end();
  });

  it('Should connect over TLS, verifying the server certificate against the CA it trusts', async () => {
    // Assess
    expect(db.dialect).toBe('mysql');
    expect(db.tls).toBe(true);
    await expect(createDatabaseConnector({ extraCertificateAuthorities: () => [] })(mariadbAdmin)).rejects.toBeInstanceOf(DatabaseCertificateError);
  });

  it('Should fall back to plain text only when the server offers no TLS', async () => {
    // Prepare
    const proxy = await tlsRefusingProxy('mysql', mariadbAdmin);
    try {
      // Act
      const plain = await connect({ ...mariadbAdmin, port: proxy.port });
      // Assess
      expect(plain.tls).toBe(false);
      expect((await plain.loginState(mariadbAdmin.username)).exists).toBe(true);
      await plain.close();
    } finally {
      await proxy.close();
    }
  });

  it('Should lock every account of the suspected user, kill its connection, and leave other users alone', async () => {
    // Prepare
    const suspect = await user('suspect_', ['%', '127.0.0.1']);
    const bystander = await user('bystander_');
    const suspectSession = await session(suspect);
    const bystanderSession = await session(bystander);
    const [[{ id: suspectThread }]] = (await suspectSession.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    // Act
    const before = (await db.lockUser(suspect.name)) as MysqlLoginState;
    // Assess: ACCOUNT LOCK alone leaves the open connection running
    expect(before).toEqual({
      user: suspect.name,
      exists: true,
      alreadyLocked: false,
      accounts: expect.arrayContaining([`${suspect.name}@%`, `${suspect.name}@127.0.0.1`]),
      lockedAccounts: [],
    });
    expect(before.accounts).toHaveLength(2);
    await expect(suspectSession.query('SELECT 1')).resolves.toBeDefined();
    expect(await mariadbLogin(suspect.name, suspect.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
    // Act
    const { ended, failed } = await db.endSessions({ user: suspect.name });
    // Assess
    expect(failed).toEqual([]);
    expect(ended).toEqual([{ id: String(suspectThread), user: suspect.name, clientAddress: '127.0.0.1' }]);
    await endedWithin(() => suspectSession.query('SELECT 1'));
    await expect(bystanderSession.query('SELECT 1')).resolves.toBeDefined();
    expect(await mariadbLogin(bystander.name, bystander.password)).toBe('accepted');
    expect(await db.loginState(suspect.name)).toMatchObject({ alreadyLocked: true });
  });

  it('Should give the login back on release, and unlock only the accounts it locked', async () => {
    // Prepare: one account of the name was locked before Firebreak came
    const suspect = await user('partly_locked_', ['%', '10.1.2.3'], ['10.1.2.3']);
    // Act
    const before = (await db.lockUser(suspect.name)) as MysqlLoginState;
    expect(await mariadbLogin(suspect.name, suspect.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
    await db.unlockUser(before);
    await db.unlockUser(before);
    // Assess
    expect(before).toMatchObject({ alreadyLocked: false, lockedAccounts: [`${suspect.name}@10.1.2.3`] });
    expect(await mariadbLogin(suspect.name, suspect.password)).toBe('accepted');
    const after = (await db.loginState(suspect.name)) as MysqlLoginState;
    expect(after.lockedAccounts).toEqual([`${suspect.name}@10.1.2.3`]);
  });

  it('Should leave a user locked before still locked after release', async () => {
    // Prepare
    const locked = await user('locked_before_', ['%'], ['%']);
    // Act
    const before = await db.lockUser(locked.name);
    await db.unlockUser(before);
    // Assess
    expect(before.alreadyLocked).toBe(true);
    expect(await mariadbLogin(locked.name, locked.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
  });

  it('Should end the connections from a client address, never the admin\u2019s nor its own', async () => {
    // Prepare
    const first = await user('from_address_a_');
    const second = await user('from_address_b_');
    const firstSession = await session(first);
    const secondSession = await session(second);
    const adminSession = await mariadbAdminSession();
    open.push(adminSession);
    // Act
    const { ended, failed } = await db.endSessions({ clientAddress: '127.0.0.1' });
    // Assess
    expect(failed).toEqual([]);
    expect(ended.map((s) => s.user)).toEqual(expect.arrayContaining([first.name, second.name]));
    expect(ended.every((s) => s.user !== mariadbAdmin.username && s.clientAddress === '127.0.0.1')).toBe(true);
    await endedWithin(() => firstSession.query('SELECT 1'));
    await endedWithin(() => secondSession.query('SELECT 1'));
    await expect(adminSession.query('SELECT 1')).resolves.toBeDefined();
    await expect(admin.query('SELECT 1')).resolves.toBeDefined();
    expect((await db.loginState(mariadbAdmin.username)).exists).toBe(true);
    expect(await mariadbLogin(first.name, first.password)).toBe('accepted');
    expect((await db.endSessions({ user: first.name, clientAddress: '10.9.9.9' })).ended).toEqual([]);
  });

  it('Should never lock, end or re-password the admin user it connects as', async () => {
    // Prepare
    const adminSession = await mariadbAdminSession();
    open.push(adminSession);
    // Act / Assess
    await expect(db.lockUser(mariadbAdmin.username)).rejects.toBeInstanceOf(AdminUserError);
    await expect(db.setPassword(mariadbAdmin.username, newPassword())).rejects.toBeInstanceOf(AdminUserError);
    expect(await db.endSessions({ user: mariadbAdmin.username })).toEqual({ ended: [], failed: [] });
    await expect(adminSession.query('SELECT 1')).resolves.toBeDefined();
    expect(await mariadbLogin(mariadbAdmin.username, mariadbAdmin.password)).toBe('accepted');
  });

  it('Should set a new password on every account: the new one logs in, the old one no longer does', async () => {
    // Prepare
    const rotated = await user('rotated_', ['%', '127.0.0.1']);
    const replacement = newPassword();
    // Act
    await db.setPassword(rotated.name, replacement);
    // Assess
    expect(await mariadbLogin(rotated.name, replacement)).toBe('accepted');
    expect(await mariadbLogin(rotated.name, rotated.password)).toMatchObject({ errno: ACCESS_DENIED });
  });

  it('Should quote hostile user names: the user named with quotes, backslashes and a semicolon is locked, nothing else runs', async () => {
    // Prepare
    const victim = await user('victim_');
    const hostile = await user(`x'; DROP USER '${victim.name}'@'%'; --\\"\` ünï;`);
    const hostileSession = await session(hostile);
    // Act
    const before = await db.lockUser(hostile.name);
    const { ended } = await db.endSessions({ user: hostile.name });
    // Assess
    expect(before.exists).toBe(true);
    expect(ended.map((s) => s.user)).toEqual([hostile.name]);
    await endedWithin(() => hostileSession.query('SELECT 1'));
    expect(await mariadbLogin(hostile.name, hostile.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
    expect(await mariadbLogin(victim.name, victim.password)).toBe('accepted');
    // Act: release and a new password through the same quoting
    await db.unlockUser(before);
    const replacement = `p'w"\\;${newPassword()}`;
    await db.setPassword(hostile.name, replacement);
    // Assess
    expect(await mariadbLogin(hostile.name, replacement)).toBe('accepted');
  });

  it('Should keep its quoting safe when the server reads backslashes literally (NO_BACKSLASH_ESCAPES)', async () => {
    // Prepare
    await admin.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
    try {
      const victim = await user('nbe_victim_');
      const hostile = await user(`y\\'; DROP USER '${victim.name}'@'%'; -- `);
      const strict = await connect(mariadbAdmin);
      try {
        // Act
        await strict.lockUser(hostile.name);
        // Assess
        expect(await mariadbLogin(hostile.name, hostile.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
        expect(await mariadbLogin(victim.name, victim.password)).toBe('accepted');
      } finally {
        await strict.close();
      }
    } finally {
      await admin.query("SET GLOBAL sql_mode = REPLACE(@@GLOBAL.sql_mode, 'NO_BACKSLASH_ESCAPES', '')");
    }
  });

  it('Should report a user that does not exist without changing anything', async () => {
    const before = await db.lockUser('no_such_user_firebreak');
    expect(before).toMatchObject({ user: 'no_such_user_firebreak', exists: false, alreadyLocked: false, accounts: [] });
    await db.unlockUser(before);
    await expect(db.setPassword('no_such_user_firebreak', newPassword())).rejects.toBeInstanceOf(DatabaseRequestError);
    await expect(db.endSessions({})).rejects.toBeInstanceOf(DatabaseRequestError);
  });

  it('Should end connections through mysql.rds_kill when KILL is refused, as for the RDS master user', async () => {
    // Prepare: RDS's procedure (definer's rights), and an admin like RDS's master user: no
    // CONNECTION ADMIN/SUPER, so KILL of another user's thread is refused (1095).
    await admin.query('CREATE OR REPLACE PROCEDURE mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER BEGIN KILL CONNECTION thread; END');
    const master = await user('rds_master_');
    const masterAccount = `${admin.escape(master.name)}@'%'`;
    await admin.query(`GRANT SELECT, CREATE USER, PROCESS ON *.* TO ${masterAccount}`);
    await admin.query(`GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO ${masterAccount}`);
    const suspect = await user('rds_suspect_');
    const suspectSession = await session(suspect);
    const asMaster = await connect({ ...mariadbAdmin, username: master.name, password: master.password });
    try {
      const masterSession = await mariadbSession(master.name, master.password);
      open.push(masterSession);
      const [[{ id: suspectThread }]] = (await suspectSession.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      await expect(masterSession.query(`KILL CONNECTION ${suspectThread}`)).rejects.toMatchObject({ errno: 1095 });
      // Act
      const before = await asMaster.lockUser(suspect.name);
      const { ended, failed } = await asMaster.endSessions({ user: suspect.name });
      // Assess
      expect(before.alreadyLocked).toBe(false);
      expect(failed).toEqual([]);
      expect(ended.map((s) => s.id)).toEqual([String(suspectThread)]);
      await endedWithin(() => suspectSession.query('SELECT 1'));
      expect(await mariadbLogin(suspect.name, suspect.password)).toMatchObject({ errno: ACCOUNT_LOCKED });
    } finally {
      await asMaster.close();
      await admin.query('DROP PROCEDURE IF EXISTS mysql.rds_kill');
    }
  });

  it('Should say the database refused a statement the admin may not run (no CREATE USER)', async () => {
    // Prepare
    const weak = await user('no_create_user_');
    await admin.query(`GRANT SELECT ON *.* TO ${admin.escape(weak.name)}@'%'`);
    const target = await user('target_');
    const asWeak = await connect({ ...mariadbAdmin, username: weak.name, password: weak.password });
    try {
      // Act
      const error = await asWeak.lockUser(target.name).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(DatabaseRefusedError);
      expect(error).toMatchObject({ user: weak.name, retryable: false });
      expect((error as Error & { cause: { sql?: string } }).cause.sql).toBeUndefined();
      expect(await mariadbLogin(target.name, target.password)).toBe('accepted');
    } finally {
      await asWeak.close();
    }
  });

  it('Should report a connection it may not end (no KILL, no rds_kill) as failed, with the reason', async () => {
    // Prepare
    const weak = await user('weak_admin_');
    await admin.query(`GRANT SELECT, PROCESS ON *.* TO ${admin.escape(weak.name)}@'%'`);
    const other = await user('other_');
    const otherSession = await session(other);
    const asWeak = await connect({ ...mariadbAdmin, username: weak.name, password: weak.password });
    try {
      // Act
      const { ended, failed } = await asWeak.endSessions({ user: other.name });
      // Assess
      expect(ended).toEqual([]);
      expect(failed).toEqual([expect.objectContaining({ user: other.name, reason: expect.stringMatching(/KILL refused \(1095\) and mysql\.rds_kill failed/) })]);
      await expect(otherSession.query('SELECT 1')).resolves.toBeDefined();
    } finally {
      await asWeak.close();
    }
  });
});

describe('MariaDB: connection failures', () => {
  it('Should say the database is unreachable (host and port, never the password) when nothing listens', async () => {
    const error = await connect({ ...mariadbAdmin, port: 1, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseUnreachableError);
    expect(error).toMatchObject({ host: mariadbAdmin.host, port: 1, retryable: true });
    expect(String((error as Error).message)).not.toContain(mariadbAdmin.password);
  });

  it('Should give up on a database that accepts the connection and never answers, within the connect timeout', async () => {
    // Prepare
    const silent = await silentServer();
    try {
      // Act
      const started = Date.now();
      const error = await connect({ ...mariadbAdmin, port: silent.port, connectTimeoutMs: 500 }).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(DatabaseUnreachableError);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await silent.close();
    }
  });

  it('Should say the database refused the admin when the password is wrong, without the password', async () => {
    const wrong = `wrong-${newPassword()}`;
    const error = await connect({ ...mariadbAdmin, password: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    expect(JSON.stringify({ message: (error as Error).message, cause: String((error as Error).cause) })).not.toContain(wrong);
  });
});
