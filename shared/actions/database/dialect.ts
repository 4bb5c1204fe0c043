import type { SqlDialect } from './types.ts';

const DIALECTS: Readonly<Record<string, SqlDialect>> = {
  postgres: 'postgresql',
  'aurora-postgresql': 'postgresql',
  mysql: 'mysql',
  mariadb: 'mysql',
  'aurora-mysql': 'mysql',
  // Aurora MySQL 5.6, the engine's name before `aurora-mysql`.
  aurora: 'mysql',
};

/**
 * The SQL dialect of an RDS engine name (`DBInstance.Engine`, `DBCluster.Engine`), or undefined
 * for engines Firebreak cannot act inside (Oracle, SQL Server, Db2): their restriction is left to
 * a responder.
 *
 * @example
 * ```ts
 * dialectOf('aurora-postgresql') // 'postgresql'
 * dialectOf('mariadb') // 'mysql'
 * dialectOf('sqlserver-ee') // undefined
 * ```
 */
export function dialectOf(engine: string): SqlDialect | undefined {
  return Object.hasOwn(DIALECTS, engine.trim().toLowerCase()) ? DIALECTS[engine.trim().toLowerCase()] : undefined;
}
