import { describe, expect, it } from 'vitest';
import { DatabaseRequestError, dialectOf, restrictionSql } from '../../../../shared/actions/database/index.ts';

describe('Action: database dialects', () => {
  it.each([
    ['postgres', 'postgresql'],
    ['aurora-postgresql', 'postgresql'],
    ['mysql', 'mysql'],
    ['mariadb', 'mysql'],
    ['aurora-mysql', 'mysql'],
    ['aurora', 'mysql'],
    [' Aurora-PostgreSQL ', 'postgresql'],
  ])('names the SQL dialect of engine %s', (engine, dialect) => {
    expect(dialectOf(engine)).toBe(dialect);
  });

  it.each(['oracle-ee', 'sqlserver-se', 'db2-se', 'docdb', 'neptune', '', 'constructor', '__proto__'])('has no dialect for engine %j', (engine) => {
    expect(dialectOf(engine)).toBeUndefined();
  });
});

describe('Action: restriction SQL for a responder', () => {
  it('locks a PostgreSQL role and ends its sessions and those from the client address', () => {
    // Act
    const sql = restrictionSql('postgresql', { user: 'app_user', clientAddress: '198.51.100.7' });

    // Assess
    expect(sql).toEqual([
      'ALTER ROLE "app_user" NOLOGIN;',
      "SELECT pid, usename, client_addr, pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app_user' AND pid <> pg_backend_pid();",
      "SELECT pid, usename, client_addr, pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = '198.51.100.7'::inet AND usename <> current_user AND pid <> pg_backend_pid();",
    ]);
  });

  it('quotes a hostile PostgreSQL role name as an identifier and as a literal', () => {
    // Act
    const [lock, end] = restrictionSql('postgresql', { user: `x"; DROP TABLE t; --'\\` });

    // Assess: identifiers double their double quotes; a literal with a backslash becomes an E'' string with it doubled
    expect(lock).toBe(`ALTER ROLE "x""; DROP TABLE t; --'\\" NOLOGIN;`);
    expect(end).toContain(` E'x"; DROP TABLE t; --''\\\\' `);
  });

  it('writes MySQL statements that list the ALTER USER and KILL/rds_kill statements to run, names escaped', () => {
    // Act
    const sql = restrictionSql('mysql', { user: "o'brien\\", clientAddress: '203.0.113.9' });

    // Assess
    expect(sql).toEqual([
      "SELECT CONCAT('ALTER USER ', QUOTE(User), '@', QUOTE(Host), ' ACCOUNT LOCK;') AS lock_statement FROM mysql.user WHERE User = 'o\\'brien\\\\' AND Host <> '';",
      "SELECT ID, USER, HOST, CONCAT('KILL ', ID, ';') AS kill_statement, CONCAT('CALL mysql.rds_kill(', ID, ');') AS rds_kill_statement FROM information_schema.PROCESSLIST WHERE USER = 'o\\'brien\\\\' AND ID <> CONNECTION_ID();",
      "SELECT ID, USER, HOST, CONCAT('KILL ', ID, ';') AS kill_statement, CONCAT('CALL mysql.rds_kill(', ID, ');') AS rds_kill_statement FROM information_schema.PROCESSLIST WHERE (HOST = '203.0.113.9' OR HOST LIKE '203.0.113.9:%') AND USER <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND ID <> CONNECTION_ID();",
    ]);
  });

  it('writes only the session statement when the finding names a client address and no user', () => {
    expect(restrictionSql('postgresql', { clientAddress: '2001:db8::1' })).toEqual([
      "SELECT pid, usename, client_addr, pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = '2001:db8::1'::inet AND usename <> current_user AND pid <> pg_backend_pid();",
    ]);
    expect(restrictionSql('mysql', { user: 'u' })).toHaveLength(2);
  });

  it('writes nothing when there is neither user nor address, and refuses an address that is not one', () => {
    expect(restrictionSql('mysql', {})).toEqual([]);
    expect(() => restrictionSql('postgresql', { clientAddress: "1.2.3.4'::inet OR true; --" })).toThrow(DatabaseRequestError);
    expect(() => restrictionSql('postgresql', { user: '' })).toThrow(DatabaseRequestError);
    expect(() => restrictionSql('oracle' as never, { user: 'u' })).toThrow(/No restriction SQL/);
  });
});
