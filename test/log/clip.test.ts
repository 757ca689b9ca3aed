import { describe, expect, it } from 'vitest';
import { clip, CLIPPED_VALUE_BYTES } from '../../src/log/clip.js';

describe('clip', () => {
  it('leaves values of up to 256 bytes as they are', () => {
    for (const value of ['', 'calvin', 'a'.repeat(256), 'é'.repeat(128), '€'.repeat(85)]) expect(clip(value)).toBe(value);
  });

  it('cuts a long value to 256 bytes and notes how many bytes were cut off', () => {
    expect(clip('a'.repeat(1 << 20))).toBe(`${'a'.repeat(256)}…(+1048320 bytes)`);
    expect(clip('b'.repeat(257))).toBe(`${'b'.repeat(256)}…(+1 bytes)`);
  });

  it('cuts on a character boundary, counting bytes of UTF-8', () => {
    // '€' is 3 bytes: 85 of them are 255 bytes, the 86th would cross 256.
    const clipped = clip('€'.repeat(100));
    expect(clipped).toBe(`${'€'.repeat(85)}…(+45 bytes)`);
    expect(Buffer.byteLength(clipped.slice(0, clipped.indexOf('…')), 'utf8')).toBeLessThanOrEqual(CLIPPED_VALUE_BYTES);
    expect(clip('x' + '😀'.repeat(100))).toBe(`x${'😀'.repeat(63)}…(+148 bytes)`);
  });

  it('takes another bound', () => {
    expect(clip('abcdef', 3)).toBe('abc…(+3 bytes)');
    expect(clip('abc', 3)).toBe('abc');
  });

  it('keeps a value of 1 MB in any script under 300 bytes', () => {
    for (const unit of ['x', 'é', '€', '😀']) expect(Buffer.byteLength(clip(unit.repeat(1 << 18)), 'utf8')).toBeLessThan(300);
  });
});
