/**
 * Inside MySQL and MariaDB (RDS for MySQL, RDS for MariaDB, Aurora MySQL): a user name is one or
 * more accounts (`'name'@'host'`), each locked with `ALTER USER … ACCOUNT LOCK` (which leaves
 * open connections running); connections ended with `KILL`, or `CALL mysql.rds_kill` where the
 * server refuses KILL of another user's thread (RDS: error 1095). MySQL keeps the lock in
 * `mysql.user.account_locked`, MariaDB (10.4+, the oldest RDS for MariaDB runs) in the JSON of
 * `mysql.global_priv` (its `mysql.user` view has no such column). Names are
 * quoted with mysql2's escape, with the session's sql_mode cleared of NO_BACKSLASH_ESCAPES so
 * that quoting means what it says.
 */
import mysql from 'mysql2/promise';
import { closeWithin } from './close.ts';
import { AdminUserError, DatabaseRequestError } from './errors.ts';
import { classifyDatabaseError, databaseFailure, type FailureContext, withoutStatement } from './failures.ts';
import { checkSessionFilter, mysqlClientAddress, sameAddress, type SessionFilter, UNTOUCHABLE_SESSION_USERS } from './sessions.ts';
import type { DatabaseConnection, DatabaseEndpoint, DatabaseSession, LoginState } from './types.ts';

/** How long a statement may run before the client gives up (milliseconds). */
const STATEMENT_TIMEOUT_MS = 15_000;

/** MySQL/MariaDB error numbers read here. */
const ER_NO_SUCH_THREAD = 1094;
const ER_KILL_DENIED = 1095;

/** `account_locked` when locked: MySQL's column says 'Y', MariaDB's JSON true reads as '1' through JSON_VALUE. */
const LOCKED_VALUES: ReadonlySet<string> = new Set(['Y', '1', 'true']);

/** What the connector passes: the certificate authorities to verify the server against. */
export interface MysqlOptions {
  certificateAuthorities: string[];
}

/** One `'user'@'host'` account and whether it is locked. */
interface Account {
  user: string;
  host: string;
  locked: boolean;
}

/** A MySQL `LoginState`: `lockedAccounts` always set. */
export type MysqlLoginState = LoginState & { lockedAccounts: string[] };

/** `name@host`, as LoginState.accounts lists an account (compared, never executed). */
function accountName(account: { user: string; host: string }): string {
  return `${account.user}@${account.host}`;
}

function isTlsRefused(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'HANDSHAKE_NO_SSL_SUPPORT';
}

async function openConnection(endpoint: DatabaseEndpoint, ssl: mysql.SslOptions | undefined): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.username,
    password: endpoint.password,
    ...(endpoint.database ? { database: endpoint.database } : {}),
    ...(ssl ? { ssl } : {}),
    connectTimeout: endpoint.connectTimeoutMs ?? 5000,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // A connection the server ends is reported as an 'error' event: the next query rejects with it.
  connection.on('error', () => undefined);
  return connection;
}

/**
 * Connects over TLS (certificate verified, and the server's name when it is a DNS name), or in
 * plain text only when the server offers no TLS. Rejects with DatabaseUnreachableError,
 * DatabaseRefusedError or DatabaseCertificateError.
 */
export async function connectMysql(endpoint: DatabaseEndpoint, options: MysqlOptions): Promise<DatabaseConnection> {
  const where: FailureContext = { host: endpoint.host, port: endpoint.port, user: endpoint.username };
  let connection: mysql.Connection;
  let tls = true;
  try {
    connection = await openConnection(endpoint, { ca: options.certificateAuthorities, rejectUnauthorized: true, verifyIdentity: true });
  } catch (error) {
    if (!isTlsRefused(error)) throw databaseFailure(error, where);
    tls = false;
    try {
      connection = await openConnection(endpoint, undefined);
    } catch (plainError) {
      throw databaseFailure(plainError, where);
    }
  }
  try {
    // Quoting with backslashes (mysql2's escape) is only safe when the server reads backslashes as escapes.
    await connection.query("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', ''), SESSION lock_wait_timeout = 10");
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version, CONNECTION_ID() AS id, CURRENT_USER() AS account');
    const row = (rows[0] ?? {}) as Record<string, unknown>;
    const account = String(row.account ?? '');
    // CURRENT_USER() is the account the server matched, `name@host`: its name is the admin's too.
    const at = account.lastIndexOf('@');
    const admins = new Set([endpoint.username, at >= 0 ? account.slice(0, at) : account]);
    return new MysqlConnection(connection, tls, where, {
      mariadb: /mariadb/i.test(String(row.version ?? '')),
      connectionId: String(row.id),
      admins,
    });
  } catch (error) {
    await closeWithin(connection.end(), 5000);
    throw databaseFailure(error, where);
  }
}

interface ServerFacts {
  mariadb: boolean;
  connectionId: string;
  admins: ReadonlySet<string>;
}

class MysqlConnection implements DatabaseConnection {
  readonly dialect = 'mysql' as const;
  readonly tls: boolean;
  readonly #connection: mysql.Connection;
  readonly #where: FailureContext;
  readonly #server: ServerFacts;

  constructor(connection: mysql.Connection, tls: boolean, where: FailureContext, server: ServerFacts) {
    this.#connection = connection;
    this.tls = tls;
    this.#where = where;
    this.#server = server;
  }

  async #rows(sql: string, values: unknown[] = []): Promise<mysql.RowDataPacket[]> {
    try {
      const [rows] = await this.#connection.query<mysql.RowDataPacket[]>({ sql, values, timeout: STATEMENT_TIMEOUT_MS });
      return rows;
    } catch (error) {
      throw withoutStatement(error);
    }
  }

  async #run(sql: string): Promise<void> {
    try {
      await this.#connection.query({ sql, timeout: STATEMENT_TIMEOUT_MS });
    } catch (error) {
      throw databaseFailure(error, this.#where);
    }
  }

  #quoted(account: { user: string; host: string }): string {
    return `${this.#connection.escape(account.user)}@${this.#connection.escape(account.host)}`;
  }

  #refuseAdmin(user: string, action: string): void {
    if (this.#server.admins.has(user)) throw new AdminUserError(user, action);
  }

  /** The accounts of a user name, with their lock: MySQL's `mysql.user.account_locked`, MariaDB's `account_locked` in the JSON of `mysql.global_priv`. */
  async #accounts(user: string): Promise<Account[]> {
    const mysqlUser = "SELECT User AS user, Host AS host, account_locked AS locked FROM mysql.user WHERE User = ? AND Host <> ''";
    const globalPriv = "SELECT User AS user, Host AS host, JSON_VALUE(Priv, '$.account_locked') AS locked FROM mysql.global_priv WHERE User = ? AND Host <> ''";
    let rows: mysql.RowDataPacket[];
    try {
      rows = await this.#rows(this.#server.mariadb ? globalPriv : mysqlUser, [user]);
    } catch (error) {
      throw databaseFailure(error, this.#where);
    }
    return rows.map((row) => ({ user: String(row.user), host: String(row.host), locked: LOCKED_VALUES.has(String(row.locked)) }));
  }

  async loginState(user: string): Promise<MysqlLoginState> {
    const accounts = await this.#accounts(user);
    const lockedAccounts = accounts.filter((a) => a.locked).map(accountName);
    return {
      user,
      exists: accounts.length > 0,
      alreadyLocked: accounts.length > 0 && lockedAccounts.length === accounts.length,
      accounts: accounts.map(accountName),
      lockedAccounts,
    };
  }

  async lockUser(user: string): Promise<MysqlLoginState> {
    this.#refuseAdmin(user, 'lock');
    const accounts = await this.#accounts(user);
    for (const account of accounts.filter((a) => !a.locked)) {
      await this.#run(`ALTER USER ${this.#quoted(account)} ACCOUNT LOCK`);
    }
    const lockedAccounts = accounts.filter((a) => a.locked).map(accountName);
    return {
      user,
      exists: accounts.length > 0,
      alreadyLocked: accounts.length > 0 && lockedAccounts.length === accounts.length,
      accounts: accounts.map(accountName),
      lockedAccounts,
    };
  }

  async unlockUser(before: LoginState): Promise<void> {
    if (!before.exists || before.alreadyLocked || this.#server.admins.has(before.user)) return;
    const lockedBefore = new Set(before.lockedAccounts ?? []);
    const lockedByFirebreak = new Set(before.accounts.filter((a) => !lockedBefore.has(a)));
    // The accounts as they are now (an account dropped since is not recreated), named by the database, not by the record.
    for (const account of await this.#accounts(before.user)) {
      if (account.locked && lockedByFirebreak.has(accountName(account))) {
        await this.#run(`ALTER USER ${this.#quoted(account)} ACCOUNT UNLOCK`);
      }
    }
  }

  async endSessions(filter: SessionFilter): Promise<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }> {
    checkSessionFilter(filter);
    let rows: mysql.RowDataPacket[];
    try {
      rows = await this.#rows('SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()');
    } catch (error) {
      throw databaseFailure(error, this.#where);
    }
    const ended: DatabaseSession[] = [];
    const failed: Array<DatabaseSession & { reason: string }> = [];
    for (const row of rows) {
      const id = String(row.id);
      const user = String(row.user ?? '');
      const clientAddress = mysqlClientAddress(row.host === null ? undefined : String(row.host));
      if (!/^\d+$/.test(id) || id === this.#server.connectionId) continue;
      if (this.#server.admins.has(user) || UNTOUCHABLE_SESSION_USERS.has(user)) continue;
      if (filter.user !== undefined && user !== filter.user) continue;
      if (filter.clientAddress !== undefined && (clientAddress === undefined || !sameAddress(clientAddress, filter.clientAddress))) continue;
      const session: DatabaseSession = { id, user, ...(clientAddress ? { clientAddress } : {}) };
      const outcome = await this.#kill(id);
      if (outcome === 'ended') ended.push(session);
      else failed.push({ ...session, reason: outcome.reason });
    }
    return { ended, failed };
  }

  /** KILL, or RDS's mysql.rds_kill where KILL of another user's thread is refused. A thread already gone counts as ended. */
  async #kill(id: string): Promise<'ended' | { reason: string }> {
    try {
      await this.#rows(`KILL CONNECTION ${id}`);
      return 'ended';
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (errno === ER_NO_SUCH_THREAD) return 'ended';
      if (errno !== ER_KILL_DENIED) return { reason: this.#reason(error) };
    }
    try {
      await this.#rows('CALL mysql.rds_kill(?)', [Number(id)]);
      return 'ended';
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (errno === ER_NO_SUCH_THREAD) return 'ended';
      return { reason: `KILL refused (1095) and mysql.rds_kill failed: ${this.#reason(error)}` };
    }
  }

  #reason(error: unknown): string {
    return (classifyDatabaseError(error, this.#where) ?? (error as Error)).message;
  }

  async setPassword(user: string, password: string): Promise<void> {
    this.#refuseAdmin(user, 'set the password of');
    const accounts = await this.#accounts(user);
    if (accounts.length === 0) throw new DatabaseRequestError(`Cannot set the password of ${JSON.stringify(user)}: no such account`);
    for (const account of accounts) {
      await this.#run(`ALTER USER ${this.#quoted(account)} IDENTIFIED BY ${this.#connection.escape(password)}`);
    }
  }

  async close(): Promise<void> {
    await closeWithin(this.#connection.end(), 5000);
    this.#connection.destroy();
  }
}
