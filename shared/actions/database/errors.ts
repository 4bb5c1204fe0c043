/**
 * PLACEHOLDER (wt-rds): the typed errors of the in-database actions, written by another helper;
 * the lead replaces this file at merge. Only the names the RDS playbook relies on are here.
 */
import { FirebreakError } from '../../errors/index.ts';

/** Firebreak was asked to lock, or change the password of, the admin user it connects with. */
export class AdminUserError extends FirebreakError {
  readonly user: string;
  constructor(user: string, options?: ErrorOptions) {
    super(`refusing to lock or change the admin user Firebreak connects with (${JSON.stringify(user)})`, { ...options, code: 'AdminUser' });
    this.name = 'AdminUserError';
    this.user = user;
  }
}

/** The database could not be reached (refused, timed out, no route: another VPC, a member account). */
export class DatabaseUnreachableError extends FirebreakError {
  readonly host: string;
  readonly port: number;
  constructor(host: string, port: number, options?: ErrorOptions) {
    super(`the database at ${host}:${port} could not be reached`, { ...options, code: 'DatabaseUnreachable', retryable: false });
    this.name = 'DatabaseUnreachableError';
    this.host = host;
    this.port = port;
  }
}
