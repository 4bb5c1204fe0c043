/**
 * Inside PostgreSQL (RDS for PostgreSQL, Aurora PostgreSQL): a role's login refused with
 * `ALTER ROLE … NOLOGIN` (which leaves its open sessions running), its sessions ended with
 * `pg_terminate_backend`, its password set from a SCRAM verifier. Every name is quoted with pg's
 * escapeIdentifier/escapeLiteral; every value that can be a parameter is one.
 */
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { closeWithin } from './close.ts';
import { AdminUserError, DatabaseRequestError } from './errors.ts';
import { classifyDatabaseError, databaseFailure, type FailureContext } from './failures.ts';
import { canBuildVerifier, scramSha256Verifier } from './scram.ts';
import { checkSessionFilter, sameAddress, type SessionFilter, UNTOUCHABLE_SESSION_USERS } from './sessions.ts';
import type { DatabaseConnection, DatabaseEndpoint, DatabaseSession, LoginState } from './types.ts';

/** How long a statement may run before the server cancels it (milliseconds). */
const STATEMENT_TIMEOUT_MS = 15_000;

/** What the connector passes: the certificate authorities to verify the server against. */
export interface PostgresqlOptions {
  certificateAuthorities: string[];
}

/** pg's message when the server answers `N` to the SSLRequest (no TLS on this server). */
function isTlsRefused(error: unknown): boolean {
  return /server does not support SSL/i.test(String((error as { message?: unknown } | undefined)?.message ?? ''));
}

async function openClient(endpoint: DatabaseEndpoint, ssl: ConnectionOptions | false): Promise<pg.Client> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.username,
    password: endpoint.password,
    database: endpoint.database ?? 'postgres',
    ssl,
    connectionTimeoutMillis: endpoint.connectTimeoutMs ?? 5000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 5000,
    application_name: 'firebreak',
  });
  // A backend the server ends (or a network drop) is reported as an 'error' event on an idle
  // client: the next query rejects with it, the process must not crash on it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Connects over TLS (certificate verified), or in plain text only when the server refuses TLS.
 * Rejects with DatabaseUnreachableError, DatabaseRefusedError or DatabaseCertificateError.
 */
export async function connectPostgresql(endpoint: DatabaseEndpoint, options: PostgresqlOptions): Promise<DatabaseConnection> {
  const where: FailureContext = { host: endpoint.host, port: endpoint.port, user: endpoint.username };
  let client: pg.Client;
  let tls = true;
  try {
    client = await openClient(endpoint, { rejectUnauthorized: true, ca: options.certificateAuthorities });
  } catch (error) {
    if (!isTlsRefused(error)) throw databaseFailure(error, where);
    tls = false;
    try {
      client = await openClient(endpoint, false);
    } catch (plainError) {
      throw databaseFailure(plainError, where);
    }
  }
  let sessionUser: string;
  try {
    const who = await client.query<{ session_user: string }>('SELECT session_user');
    sessionUser = who.rows[0]?.session_user ?? endpoint.username;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw databaseFailure(error, where);
  }
  return new PostgresqlConnection(client, tls, where, new Set([endpoint.username, sessionUser]));
}

class PostgresqlConnection implements DatabaseConnection {
  readonly dialect = 'postgresql' as const;
  readonly tls: boolean;
  readonly #client: pg.Client;
  readonly #where: FailureContext;
  readonly #admins: ReadonlySet<string>;

  constructor(client: pg.Client, tls: boolean, where: FailureContext, admins: ReadonlySet<string>) {
    this.#client = client;
    this.tls = tls;
    this.#where = where;
    this.#admins = admins;
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.#client.query<R>(text, values);
    } catch (error) {
      throw databaseFailure(error, this.#where);
    }
  }

  #refuseAdmin(user: string, action: string): void {
    if (this.#admins.has(user)) throw new AdminUserError(user, action);
  }

  async loginState(user: string): Promise<LoginState> {
    const result = await this.#query<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1', [user]);
    const row = result.rows[0];
    return { user, exists: row !== undefined, alreadyLocked: row !== undefined && !row.rolcanlogin, accounts: row ? [user] : [] };
  }

  async lockUser(user: string): Promise<LoginState> {
    this.#refuseAdmin(user, 'lock');
    const before = await this.loginState(user);
    if (before.exists && !before.alreadyLocked) {
      await this.#query(`ALTER ROLE ${this.#client.escapeIdentifier(user)} NOLOGIN`);
    }
    return before;
  }

  async unlockUser(before: LoginState): Promise<void> {
    if (!before.exists || before.alreadyLocked || this.#admins.has(before.user)) return;
    const now = await this.loginState(before.user);
    // Gone since (dropped by a responder), or already given back: nothing to do.
    if (!now.exists || !now.alreadyLocked) return;
    await this.#query(`ALTER ROLE ${this.#client.escapeIdentifier(before.user)} LOGIN`);
  }

  async endSessions(filter: SessionFilter): Promise<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }> {
    checkSessionFilter(filter);
    const candidates = await this.#query<{ pid: number; usename: string; client_address: string | null }>(
      `SELECT pid, usename, host(client_addr) AS client_address
         FROM pg_catalog.pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND usename IS NOT NULL
          AND ($1::text IS NULL OR usename = $1::text)
          AND ($2::text IS NULL OR client_addr = $2::inet)`,
      [filter.user ?? null, filter.clientAddress ?? null],
    );
    const ended: DatabaseSession[] = [];
    const failed: Array<DatabaseSession & { reason: string }> = [];
    for (const row of candidates.rows) {
      if (this.#admins.has(row.usename) || UNTOUCHABLE_SESSION_USERS.has(row.usename)) continue;
      if (filter.clientAddress !== undefined && (row.client_address === null || !sameAddress(row.client_address, filter.clientAddress))) continue;
      const session: DatabaseSession = { id: String(row.pid), user: row.usename, ...(row.client_address ? { clientAddress: row.client_address } : {}) };
      try {
        const result = await this.#client.query<{ terminated: boolean }>('SELECT pg_terminate_backend($1::int) AS terminated', [row.pid]);
        if (result.rows[0]?.terminated || !(await this.#backendExists(row.pid))) {
          ended.push(session);
        } else {
          failed.push({ ...session, reason: 'pg_terminate_backend returned false' });
        }
      } catch (error) {
        const typed = classifyDatabaseError(error, this.#where);
        failed.push({ ...session, reason: (typed ?? (error as Error)).message });
      }
    }
    return { ended, failed };
  }

  async #backendExists(pid: number): Promise<boolean> {
    const result = await this.#query('SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1', [pid]);
    return result.rows.length > 0;
  }

  async setPassword(user: string, password: string): Promise<void> {
    this.#refuseAdmin(user, 'set the password of');
    const state = await this.loginState(user);
    if (!state.exists) throw new DatabaseRequestError(`Cannot set the password of ${JSON.stringify(user)}: no such role`);
    const secret = canBuildVerifier(password) ? scramSha256Verifier(password) : password;
    await this.#query(`ALTER ROLE ${this.#client.escapeIdentifier(user)} PASSWORD ${this.#client.escapeLiteral(secret)}`);
  }

  async close(): Promise<void> {
    await closeWithin(this.#client.end(), 5000);
  }
}
