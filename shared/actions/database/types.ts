/**
 * The contract between the RDS playbook and the database it acts inside (shared/actions/database).
 * The playbook decides what to do and records it; this module does it in the database, with SQL
 * that quotes every name it is given (names come from findings: hostile input).
 */

/** The SQL dialect of an RDS engine: PostgreSQL (postgres, aurora-postgresql) or MySQL (mysql, mariadb, aurora-mysql). */
export type SqlDialect = 'postgresql' | 'mysql';

/** Where and as whom Firebreak connects: the admin secret's `host`/`port` win over the instance endpoint. */
export interface DatabaseEndpoint {
  dialect: SqlDialect;
  host: string;
  port: number;
  /** The database to connect to (PostgreSQL needs one; default `postgres`). */
  database?: string;
  /** The admin user Firebreak connects as: never locked, never has its sessions ended. */
  username: string;
  password: string;
  /** Connect timeout in milliseconds (default 5000): an unreachable database must not hold up the network steps. */
  connectTimeoutMs?: number;
}

/** A session (PostgreSQL backend, MySQL thread) in the database. */
export interface DatabaseSession {
  /** The backend pid (PostgreSQL) or thread id (MySQL), as text. */
  id: string;
  user: string;
  /** The client's address, when the server reports it. */
  clientAddress?: string;
}

/** A user's login state before Firebreak changed it, kept for release. */
export interface LoginState {
  user: string;
  /** The user exists in the database. */
  exists: boolean;
  /** Login was already refused (PostgreSQL NOLOGIN, MySQL account locked) before Firebreak acted. */
  alreadyLocked: boolean;
  /** MySQL: the `user@host` accounts of that user name (each is locked and unlocked); PostgreSQL: the role alone. */
  accounts: string[];
  /**
   * MySQL: those of `accounts` that were already locked before Firebreak acted (release leaves
   * them locked); absent or empty otherwise. Record it with the rest: without it, release would
   * unlock every account of a partly locked user.
   */
  lockedAccounts?: string[];
}

/** One open connection to a database, as the admin user. Every method is idempotent. */
export interface DatabaseConnection {
  readonly dialect: SqlDialect;
  /** Whether the connection is encrypted (TLS is used whenever the server offers it). */
  readonly tls: boolean;
  /** The user's login state (no change). */
  loginState(user: string): Promise<LoginState>;
  /**
   * Refuses the user's new logins (PostgreSQL `ALTER ROLE … NOLOGIN`; MySQL `ALTER USER … ACCOUNT LOCK` on each of its accounts). Throws `AdminUserError` (./errors.ts) for the admin user.
   * Returns the state before this call: on a redelivery it says `alreadyLocked`, so keep the state the first call returned for release.
   */
  lockUser(user: string): Promise<LoginState>;
  /** Gives the login back (`LOGIN`, `ACCOUNT UNLOCK`), unless `before.alreadyLocked`. */
  unlockUser(before: LoginState): Promise<void>;
  /** Ends the sessions of a user, or from a client address (never the admin's own): `pg_terminate_backend`; `KILL`, or `CALL mysql.rds_kill` where KILL is refused (RDS). */
  endSessions(filter: { user?: string; clientAddress?: string }): Promise<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }>;
  /** Sets a user's password (PostgreSQL `ALTER ROLE … PASSWORD`; MySQL `ALTER USER … IDENTIFIED BY` on each account). Throws `AdminUserError` (./errors.ts) for the admin user. */
  setPassword(user: string, password: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens a connection (TLS when the server offers it); rejects with a typed error when the database cannot be reached or refuses the admin. */
export type DatabaseConnector = (endpoint: DatabaseEndpoint) => Promise<DatabaseConnection>;

/**
 * The exact SQL a responder runs by hand when Firebreak cannot reach the database (another VPC, a
 * member account): lock the user, end its sessions and those from the client address. Names quoted.
 */
export type RestrictionSql = (dialect: SqlDialect, target: { user?: string; clientAddress?: string }) => string[];
