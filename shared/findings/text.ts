/**
 * Free text from outside (finding titles, tag values, reasons, message bodies) stored or
 * shown by Firebreak: control characters become spaces, so a value can never forge a log
 * line or a terminal escape, and the length is bounded.
 *
 * @example
 * ```ts
 * cleanText('evil\u001b[2Jtitle\n', 8) // 'evil [2J'
 * ```
 */
export function cleanText(value: string, max: number): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, max);
}
