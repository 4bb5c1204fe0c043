/**
 * Figures of two tools side by side, as `make bench` prints them: medians with their spread, the
 * ratio of two medians, one cell for several rounds, and a padded plain-text table.
 */

/** The median of a sample (the lower middle value for an even count, as `stats()` in scripts/bench/context.ts). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty sample');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * A sample as one cell: its median, and its range when the sample has more than one value.
 *
 * @example
 * ```ts
 * spread([1200, 900, 1100]) // '1100 ms (900–1200)'
 * ```
 */
export function spread(xs: readonly number[], unit = 'ms'): string {
  if (xs.length === 0) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  const range = s.length > 1 ? ` (${s[0]}–${s[s.length - 1]})` : '';
  return `${median(s)} ${unit}${range}`;
}

/**
 * How many times `numerator`'s median is `denominator`'s, one decimal.
 *
 * @example
 * ```ts
 * ratio([3000], [1000]) // '3.0×'
 * ```
 */
export function ratio(numerator: readonly number[], denominator: readonly number[]): string {
  if (numerator.length === 0 || denominator.length === 0) return 'n/a';
  const d = median(denominator);
  return d === 0 ? 'n/a' : `${(median(numerator) / d).toFixed(1)}×`;
}

/**
 * One cell over several rounds: the value when every round agreed, else each value with how
 * many rounds gave it.
 *
 * @example
 * ```ts
 * summariseRounds(['yes', 'yes']) // 'yes'
 * summariseRounds(['yes', 'no', 'yes']) // 'yes (2 rounds); no (1 round)'
 * ```
 */
export function summariseRounds(cells: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const cell of cells) counts.set(cell, (counts.get(cell) ?? 0) + 1);
  if (counts.size <= 1) return cells[0] ?? '';
  return [...counts].map(([cell, n]) => `${cell} (${n} round${n === 1 ? '' : 's'})`).join('; ');
}

/**
 * A plain-text table, columns padded to their widest cell (the first row is the header).
 *
 * @example
 * ```ts
 * formatTable([['', 'a'], ['x', 'yes']]) // ['   a', 'x  yes']
 * ```
 */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}
