// pg exports its escaping functions from `pg/lib/utils` (its package.json exposes ./lib/*), which
// @types/pg does not describe. Declared here as pg's index re-exports them (pg.escapeIdentifier).
declare module 'pg/lib/utils' {
  /** Quotes a PostgreSQL identifier (doubles every `"`). */
  export function escapeIdentifier(str: string): string;
  /** Quotes a PostgreSQL string literal (doubles `'`; an E'' literal when it holds `\`). */
  export function escapeLiteral(str: string): string;
}
