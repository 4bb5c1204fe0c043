/**
 * Firebreak inside a database: connect as the admin user (TLS, certificate verified, whenever
 * the server offers it), lock a user, end sessions, set a password, give the login back; and the
 * SQL a responder runs by hand where Firebreak cannot connect. The contract is ./types.ts.
 */
import { caBundleFromEnvironment, certificateAuthorities } from './tls.ts';
import type { DatabaseConnector } from './types.ts';

export type * from './types.ts';
export { dialectOf } from './dialect.ts';
export { restrictionSql } from './restriction-sql.ts';
export { AdminUserError, DatabaseCertificateError, DatabaseRefusedError, DatabaseRequestError, DatabaseUnreachableError } from './errors.ts';
export type { MysqlLoginState } from './mysql.ts';
export { CA_BUNDLE_ENV } from './tls.ts';

/** What a connector trusts besides Node's roots and the RDS CA bundle. */
export interface DatabaseConnectorOptions {
  /**
   * Extra certificate authorities (PEM text). Default: the file named by
   * FIREBREAK_DATABASE_CA_BUNDLE, read at each connect, when set.
   */
  extraCertificateAuthorities?: () => string[];
}

/**
 * A connector that verifies servers against Node's roots, the RDS CA bundle and the extra CAs.
 *
 * @example
 * ```ts
 * const connect = createDatabaseConnector({ extraCertificateAuthorities: () => [localCaPem] });
 * const db = await connect({ dialect: 'postgresql', host, port, username, password });
 * try { await db.lockUser('suspect'); } finally { await db.close(); }
 * ```
 */
export function createDatabaseConnector(options: DatabaseConnectorOptions = {}): DatabaseConnector {
  const extra = options.extraCertificateAuthorities ?? (() => caBundleFromEnvironment());
  return async (endpoint) => {
    const tls = { certificateAuthorities: certificateAuthorities(extra()) };
    // The drivers load when a connection is first made, not with the function (a cold start).
    return endpoint.dialect === 'postgresql' ? (await import('./postgresql.ts')).connectPostgresql(endpoint, tls) : (await import('./mysql.ts')).connectMysql(endpoint, tls);
  };
}

/** The connector the RDS playbook uses: Node's roots, the RDS CA bundle, FIREBREAK_DATABASE_CA_BUNDLE. */
export const connectDatabase: DatabaseConnector = createDatabaseConnector();
