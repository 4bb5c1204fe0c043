import { describe, expect, it } from 'vitest';
import { cleanText } from '../../../shared/findings/index.ts';

describe('Function: cleanText', () => {
  it('turns control characters into spaces, so stored text cannot forge a log line or a terminal escape', () => {
    expect(cleanText('a\nb\u001b[2Jc\u007f', 100)).toBe('a b [2Jc ');
  });

  it('cuts at the limit without leaving half of a character behind', () => {
    expect(cleanText('ok 😀 more', 4)).toBe('ok ');
    expect(cleanText('ok 😀 more', 5)).toBe('ok 😀');
  });

  it('replaces a lone surrogate, which is not valid UTF-8, with U+FFFD', () => {
    expect(cleanText('a\ud800b\udc00', 10)).toBe('a\ufffdb\ufffd');
  });
});
