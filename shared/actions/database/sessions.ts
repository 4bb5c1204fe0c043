/** What both dialects share about sessions: the filter's checks and the users never touched. */
import { isIP } from 'node:net';
import { DatabaseRequestError } from './errors.ts';

/** Which sessions to end: those of a user, those from a client address, or (both given) those of the user from that address. */
export interface SessionFilter {
  user?: string;
  clientAddress?: string;
}

/**
 * RDS's own management user (`rdsadmin`, on every engine) and MySQL's internal threads: never
 * ended, whatever the filter (RDS refuses it anyway, and killing replication or the event
 * scheduler is not containment).
 */
export const UNTOUCHABLE_SESSION_USERS: ReadonlySet<string> = new Set(['rdsadmin', 'system user', 'event_scheduler', 'DELAYED']);

/** Checks the filter: at least one of user and client address, the address an IP address (it is compared, never interpolated). */
export function checkSessionFilter(filter: SessionFilter): void {
  if (filter.user === undefined && filter.clientAddress === undefined) {
    throw new DatabaseRequestError('Refusing to end sessions without a user or a client address: that would end every session');
  }
  if (filter.user !== undefined && filter.user.length === 0) {
    throw new DatabaseRequestError('Refusing to end the sessions of an empty user name');
  }
  if (filter.clientAddress !== undefined && isIP(filter.clientAddress) === 0) {
    throw new DatabaseRequestError(`Refusing to end sessions from ${JSON.stringify(filter.clientAddress)}: not an IP address`);
  }
}

/**
 * The client address of a MySQL `PROCESSLIST.HOST` (`10.0.0.5:51234`, `[::1]:51234`,
 * `10.0.0.5`, `localhost`), or undefined when it names no address (a socket, a system thread).
 */
export function mysqlClientAddress(host: string | null | undefined): string | undefined {
  if (!host) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed?.[1] && isIP(bracketed[1])) return bracketed[1];
  if (isIP(host)) return host;
  const withPort = /^(.*):(\d+)$/.exec(host);
  if (withPort?.[1] && isIP(withPort[1])) return withPort[1];
  return undefined;
}

/** The same address, written the same way (`::ffff:10.0.0.5` is `10.0.0.5`). */
export function sameAddress(a: string, b: string): boolean {
  const normal = (x: string) => x.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return normal(a) === normal(b);
}
