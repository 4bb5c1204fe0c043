/**
 * PLACEHOLDER (wt-rds): the in-database actions (shared/actions/database) are written by another
 * helper against the contract in ./types.ts; the lead replaces this file at merge. Here
 * `connectDatabase` always rejects as unreachable, so the RDS playbook records the SQL as a
 * recommendation; `restrictionSql` gives the quoted SQL a responder would run.
 */
import { DatabaseUnreachableError } from './errors.ts';
import type { DatabaseConnector, RestrictionSql } from './types.ts';

export type * from './types.ts';
export { AdminUserError, DatabaseUnreachableError } from './errors.ts';

export const connectDatabase: DatabaseConnector = async (endpoint) => {
  throw new DatabaseUnreachableError(endpoint.host, endpoint.port);
};

const pgIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const pgLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;
const myLiteral = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export const restrictionSql: RestrictionSql = (dialect, { user, clientAddress }) => {
  const sql: string[] = [];
  if (dialect === 'postgresql') {
    if (user) {
      sql.push(`ALTER ROLE ${pgIdent(user)} NOLOGIN;`);
      sql.push(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${pgLiteral(user)} AND pid <> pg_backend_pid();`);
    }
    if (clientAddress) sql.push(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = ${pgLiteral(clientAddress)}::inet AND pid <> pg_backend_pid();`);
    return sql;
  }
  if (user) {
    sql.push(`-- for each account of the user: SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE user = ${myLiteral(user)};`);
    sql.push(`ALTER USER ${myLiteral(user)}@'%' ACCOUNT LOCK;`);
    sql.push(`-- then KILL (RDS: CALL mysql.rds_kill(id)) each id of: SELECT id FROM information_schema.processlist WHERE user = ${myLiteral(user)};`);
  }
  if (clientAddress) sql.push(`-- and KILL (RDS: CALL mysql.rds_kill(id)) each id of: SELECT id FROM information_schema.processlist WHERE SUBSTRING_INDEX(host, ':', 1) = ${myLiteral(clientAddress)};`);
  return sql;
};
