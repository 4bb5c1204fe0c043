/**
 * What can go wrong inside a database, as Firebreak's typed errors. None of them ever carries the
 * admin password or a password being set: messages name the host, port and user only, and the
 * driver's error (kept as `cause`) is stripped of the statement text it may hold.
 */
import { FirebreakError } from '../../errors/index.ts';

/** Firebreak was asked to lock, end the sessions of or set the password of the admin user it connects as: refused, nothing changed. */
export class AdminUserError extends FirebreakError {
  readonly user: string;
  readonly action: string;
  constructor(user: string, action: string, options?: ErrorOptions) {
    super(`Refusing to ${action} the admin user ${JSON.stringify(user)} Firebreak connects as: it would lock Firebreak out of the database`, {
      ...options,
      code: 'DatabaseAdminUser',
    });
    this.name = 'AdminUserError';
    this.user = user;
    this.action = action;
  }
}

/** The database could not be reached (connect timeout, refused, DNS, connection lost): retryable, and the network steps run anyway. */
export class DatabaseUnreachableError extends FirebreakError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, reason: string, options?: ErrorOptions) {
    super(`The database at ${host}:${port} could not be reached (${reason}): is Firebreak's function in the database's VPC, and does its security group admit it?`, {
      ...options,
      code: 'DatabaseUnreachable',
      retryable: true,
    });
    this.name = 'DatabaseUnreachableError';
    this.host = host;
    this.port = port;
  }
}

/** The database refused the admin user (authentication failed) or a statement (permission denied). */
export class DatabaseRefusedError extends FirebreakError {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  constructor(host: string, port: number, user: string, reason: string, options?: ErrorOptions) {
    super(`The database at ${host}:${port} refused ${JSON.stringify(user)}: ${reason}`, { ...options, code: 'DatabaseRefused' });
    this.name = 'DatabaseRefusedError';
    this.host = host;
    this.port = port;
    this.user = user;
  }
}

/**
 * The server offered TLS but its certificate could not be verified (unknown CA, wrong name,
 * expired): Firebreak does not fall back to plain text then. The RDS CA bundle is built in; a
 * private CA goes in FIREBREAK_DATABASE_CA_BUNDLE (a PEM file).
 */
export class DatabaseCertificateError extends FirebreakError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, reason: string, options?: ErrorOptions) {
    super(
      `The database at ${host}:${port} offered TLS with a certificate Firebreak cannot verify (${reason}); the RDS CA bundle is built in, any other CA goes in FIREBREAK_DATABASE_CA_BUNDLE`,
      { ...options, code: 'DatabaseCertificateUnverified' },
    );
    this.name = 'DatabaseCertificateError';
    this.host = host;
    this.port = port;
  }
}

/** A request Firebreak refuses before touching the database (no session filter, a client address that is not an IP address). */
export class DatabaseRequestError extends FirebreakError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: 'DatabaseRequestInvalid' });
    this.name = 'DatabaseRequestError';
  }
}
