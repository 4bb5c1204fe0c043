// pg exports its escaping functions from `pg/lib/utils` (its package.json exposes ./lib/*), which
// @types/pg does not describe. Declared here as pg's index re-exports them (pg.escapeIdentifier).
// A CommonJS module: imported through its default export (module.exports).
declare module 'pg/lib/utils' {
  const utils: {
    /** Quotes a PostgreSQL identifier (doubles every `"`). */
    escapeIdentifier(str: string): string;
    /** Quotes a PostgreSQL string literal (doubles `'`; an E'' literal when it holds `\`). */
    escapeLiteral(str: string): string;
  };
  export default utils;
}
