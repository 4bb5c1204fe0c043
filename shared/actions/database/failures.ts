/**
 * A driver's error (pg, mysql2, Node's net and tls) as one of Firebreak's typed database errors.
 * The error kept as `cause` is stripped of the statement text mysql2 attaches (`sql`), which
 * holds the new password of `ALTER USER … IDENTIFIED BY`.
 */
import { DatabaseCertificateError, DatabaseRefusedError, DatabaseUnreachableError } from './errors.ts';
import { isCertificateError } from './tls.ts';

/** Where the error happened: the host and port reached, the user Firebreak connected as. */
export interface FailureContext {
  host: string;
  port: number;
  user: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
]);

/** PostgreSQL SQLSTATEs and MySQL/MariaDB error numbers that mean "refused": authentication or permission. */
const REFUSED_SQLSTATES = new Set(['28000', '28P01', '3D000', '42501']);
const RETRYABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);
const REFUSED_ERRNOS = new Set([1044, 1045, 1142, 1143, 1227, 1370, 3118, 4151, 1129, 1130]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  sql?: unknown;
}

/** Removes the statement text from a driver's error, in place, and returns it. */
export function withoutStatement<T>(error: T): T {
  if (error && typeof error === 'object' && 'sql' in error) {
    delete (error as DriverError).sql;
  }
  return error;
}

/**
 * The typed error for a driver's error, or undefined when it is none of unreachable, refused or
 * certificate (a statement's own error: the caller decides).
 */
export function classifyDatabaseError(error: unknown, where: FailureContext): Error | undefined {
  withoutStatement(error);
  const e = (error ?? {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const message = String(e.message ?? error);
  const options = { cause: error };
  if (isCertificateError(error)) {
    return new DatabaseCertificateError(where.host, where.port, message, options);
  }
  if (code === 'HANDSHAKE_SSL_ERROR') {
    return new DatabaseCertificateError(where.host, where.port, message, options);
  }
  if ((code !== undefined && (NETWORK_CODES.has(code) || RETRYABLE_SQLSTATES.has(code))) || errno === 1040) {
    return new DatabaseUnreachableError(where.host, where.port, `${code ?? errno}: ${message}`, options);
  }
  if (/connection (timeout|terminated)|timeout expired|Connection lost|closed state|socket hang up/i.test(message)) {
    return new DatabaseUnreachableError(where.host, where.port, message, options);
  }
  if ((code !== undefined && REFUSED_SQLSTATES.has(code)) || (errno !== undefined && REFUSED_ERRNOS.has(errno))) {
    return new DatabaseRefusedError(where.host, where.port, where.user, message, options);
  }
  return undefined;
}

/** The typed error for a driver's error, or the driver's error itself (stripped of its statement). */
export function databaseFailure(error: unknown, where: FailureContext): Error {
  return classifyDatabaseError(error, where) ?? (error instanceof Error ? error : new Error(String(error)));
}
