/**
 * Free text from outside (finding titles, tag values, reasons, message bodies) stored or
 * shown by Firebreak: control characters become spaces, so a value can never forge a log
 * line or a terminal escape, and the length is bounded.
 *
 * @example
 * ```ts
 * cleanText('evil\u001b[2Jtitle\n', 8) // 'evil [2J'
 * cleanText('ok 😀', 4) // 'ok ' (never half an emoji)
 * ```
 */
export function cleanText(value: string, max: number): string {
  // Cut on a code point, and never keep a lone surrogate: stored text must be valid UTF-8.
  const cut = value.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, max).replace(/[\ud800-\udbff]$/, '');
  return cut.replace(/\p{Cs}/gu, '\ufffd');
}
