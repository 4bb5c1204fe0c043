/**
 * The SQL a responder runs by hand where Firebreak cannot reach the database (another VPC, a
 * member account): the same restriction, every name quoted here (pg's escapeIdentifier and
 * escapeLiteral, mysql2's escape), so the statements can be pasted as they are.
 */
// Only the escaping functions, not the drivers (the function's entry carries this module; the
// drivers load when a connection is made): pg's own, and the package mysql2's `escape` is.
// (A CommonJS module whose exports Node cannot name from an ES import: through its default.)
import pgUtils from 'pg/lib/utils';
import { escape as mysqlEscape } from 'sql-escaper';

const { escapeIdentifier, escapeLiteral } = pgUtils;
import { DatabaseRequestError } from './errors.ts';
import { checkSessionFilter } from './sessions.ts';
import type { RestrictionSql, SqlDialect } from './types.ts';

function postgresqlStatements(target: { user?: string; clientAddress?: string }): string[] {
  const statements: string[] = [];
  if (target.user !== undefined) {
    statements.push(
      `ALTER ROLE ${escapeIdentifier(target.user)} NOLOGIN;`,
      `SELECT pid, usename, client_addr, pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${escapeLiteral(target.user)} AND pid <> pg_backend_pid();`,
    );
  }
  if (target.clientAddress !== undefined) {
    statements.push(
      `SELECT pid, usename, client_addr, pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = ${escapeLiteral(target.clientAddress)}::inet AND usename <> current_user AND pid <> pg_backend_pid();`,
    );
  }
  return statements;
}

/** MySQL names accounts by user and host: the first statement writes one ALTER USER per account, to run next. */
function mysqlStatements(target: { user?: string; clientAddress?: string }): string[] {
  const statements: string[] = [];
  const endEach = `CONCAT('KILL ', ID, ';') AS kill_statement, CONCAT('CALL mysql.rds_kill(', ID, ');') AS rds_kill_statement`;
  if (target.user !== undefined) {
    const user = mysqlEscape(target.user);
    statements.push(
      `SELECT CONCAT('ALTER USER ', QUOTE(User), '@', QUOTE(Host), ' ACCOUNT LOCK;') AS lock_statement FROM mysql.user WHERE User = ${user} AND Host <> '';`,
      `SELECT ID, USER, HOST, ${endEach} FROM information_schema.PROCESSLIST WHERE USER = ${user} AND ID <> CONNECTION_ID();`,
    );
  }
  if (target.clientAddress !== undefined) {
    statements.push(
      `SELECT ID, USER, HOST, ${endEach} FROM information_schema.PROCESSLIST WHERE (HOST = ${mysqlEscape(target.clientAddress)} OR HOST LIKE ${mysqlEscape(`${target.clientAddress}:%`)}) AND USER <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND ID <> CONNECTION_ID();`,
    );
  }
  return statements;
}

/**
 * The statements that lock the user and end its sessions and those from the client address, for
 * a responder to run as the admin user. MySQL's are two-step: they list the `ALTER USER … ACCOUNT
 * LOCK` and `KILL`/`CALL mysql.rds_kill` statements to run (RDS for MySQL and MariaDB refuse
 * KILL of another user's thread; rds_kill works there).
 *
 * @example
 * ```ts
 * restrictionSql('postgresql', { user: 'app"; DROP TABLE x; --' })[0]
 * // 'ALTER ROLE "app""; DROP TABLE x; --" NOLOGIN;'
 * ```
 */
export const restrictionSql: RestrictionSql = (dialect: SqlDialect, target) => {
  if (target.user === undefined && target.clientAddress === undefined) return [];
  checkSessionFilter(target);
  switch (dialect) {
    case 'postgresql':
      return postgresqlStatements(target);
    case 'mysql':
      return mysqlStatements(target);
    default:
      throw new DatabaseRequestError(`No restriction SQL for dialect ${JSON.stringify(dialect)}`);
  }
};
