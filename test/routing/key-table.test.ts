import { describe, expect, it } from 'vitest';
import { KeyTable, MAX_KEY_TABLE_BYTES } from '../../src/routing/key-table.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

describe('KeyTable', () => {
  it('finds what was inserted, by bytes and by string, and nothing else', () => {
    const table = new KeyTable(1);
    const entry = table.insert(bytes('13812345678'), 0, 11, 7);
    expect(table.added).toBe(true);
    expect(table.find(bytes('13812345678'), 0, 11)).toBe(entry);
    expect(table.findString('13812345678')).toBe(entry);
    expect(table.value(entry)).toBe(7);
    expect(table.keyOf(entry)).toBe('13812345678');
    expect(table.findString('1381234567')).toBe(-1);
    expect(table.findString('138123456789')).toBe(-1);
    expect(table.size).toBe(1);
  });

  it('reads a key out of the middle of a larger buffer', () => {
    const table = new KeyTable(2);
    const line = bytes('2026-01-01 00:00:00 alice@example.com mysqlda1\n');
    const entry = table.insert(line, 20, 37, 0);
    expect(table.keyOf(entry)).toBe('alice@example.com');
    expect(table.findString('alice@example.com')).toBe(entry);
  });

  it('returns the existing entry, value untouched, when a key is inserted again', () => {
    const table = new KeyTable(3);
    const first = table.insertString('k', 1);
    const again = table.insertString('k', 2);
    expect(table.added).toBe(false);
    expect(again).toBe(first);
    expect(table.value(first)).toBe(1);
    expect(table.size).toBe(1);
  });

  it('keeps UTF-8 keys apart from their look-alikes', () => {
    const table = new KeyTable(4);
    const keys = ['张三', 'Zoë', 'Zoe', 'zoë', '😀', 'a😀b', 'ö'.normalize('NFD'), 'ö'.normalize('NFC')];
    keys.forEach((key, i) => table.insertString(key, i));
    expect(table.size).toBe(keys.length);
    keys.forEach((key, i) => {
      expect(table.value(table.findString(key))).toBe(i);
      expect(table.keyOf(table.findString(key))).toBe(key);
    });
    expect(table.find(bytes('张三'), 0, 6)).toBe(table.findString('张三'));
  });

  it('refuses empty and over-long keys, and never finds them', () => {
    const table = new KeyTable(5);
    const long = 'x'.repeat(MAX_KEY_TABLE_BYTES + 1);
    expect(() => table.insertString('', 0)).toThrow(RangeError);
    expect(() => table.insertString(long, 0)).toThrow(RangeError);
    expect(() => table.insertString('é'.repeat(128), 0)).toThrow(RangeError); // 256 bytes from 128 characters
    expect(table.findString('')).toBe(-1);
    expect(table.findString(long)).toBe(-1);
    table.insertString('x'.repeat(MAX_KEY_TABLE_BYTES), 1);
    expect(table.findString('x'.repeat(MAX_KEY_TABLE_BYTES))).toBeGreaterThanOrEqual(0);
  });

  it('removes an entry so that it is no longer found, and can add the key back', () => {
    const table = new KeyTable(6);
    const entry = table.insertString('gone', 1);
    table.insertString('stays', 2);
    table.remove(entry);
    table.remove(entry); // twice is harmless
    expect(table.isLive(entry)).toBe(false);
    expect(table.findString('gone')).toBe(-1);
    expect(table.size).toBe(1);
    const back = table.insertString('gone', 3);
    expect(table.added).toBe(true);
    expect(back).not.toBe(entry);
    expect(table.value(table.findString('gone'))).toBe(3);
    expect(table.value(table.findString('stays'))).toBe(2);
  });

  it('changes a value in place', () => {
    const table = new KeyTable(7);
    const entry = table.insertString('k', 1);
    table.setValue(entry, 9);
    expect(table.value(table.findString('k'))).toBe(9);
  });

  it('grows through many keys and still finds each one', () => {
    const table = new KeyTable(8);
    const n = 50_000;
    for (let i = 0; i < n; i++) table.insertString(`customer${i}`, i);
    expect(table.size).toBe(n);
    for (let i = 0; i < n; i++) expect(table.value(table.findString(`customer${i}`))).toBe(i);
    expect(table.findString(`customer${n}`)).toBe(-1);
    // Compact: the key bytes (about 13 each) plus the index and entries, far below a Map's ~150 bytes a key.
    expect(table.byteSize / n).toBeLessThan(80);
  });

  it('agrees with a Map over a long random mix of inserts, look-ups and removals', () => {
    for (const seed of [11, 12, 13]) {
      const next = random(seed);
      const table = new KeyTable(seed);
      const model = new Map<string, number>();
      const entries = new Map<string, number>();
      for (let step = 0; step < 20_000; step++) {
        const key = `k${Math.floor(next() * 3_000)}`;
        const action = next();
        if (action < 0.5) {
          const entry = table.insertString(key, step);
          expect(table.added).toBe(!model.has(key));
          if (!model.has(key)) {
            model.set(key, step);
            entries.set(key, entry);
          }
        } else if (action < 0.7) {
          const entry = entries.get(key);
          if (entry !== undefined) {
            table.remove(entry);
            model.delete(key);
            entries.delete(key);
          }
        } else {
          const entry = table.findString(key);
          expect(entry === -1 ? undefined : table.value(entry)).toBe(model.get(key));
        }
      }
      expect(table.size).toBe(model.size);
      for (const [key, value] of model) expect(table.value(table.findString(key))).toBe(value);
    }
  });

  it('survives heavy removal without growing its index for ever', () => {
    const table = new KeyTable(9);
    for (let round = 0; round < 200; round++) {
      const entries = [];
      for (let i = 0; i < 100; i++) entries.push(table.insertString(`r${round}-${i}`, i));
      for (const entry of entries) table.remove(entry);
    }
    expect(table.size).toBe(0);
    // 20,000 keys went through, never more than 100 at once: the index is sized for the 100.
    expect(table.slotCount).toBeLessThanOrEqual(512);
    table.insertString('last', 1);
    expect(table.findString('last')).toBeGreaterThanOrEqual(0);
  });

  it('hashes with its own seed: two tables place the same keys differently but both find them', () => {
    const a = new KeyTable();
    const b = new KeyTable();
    for (let i = 0; i < 1_000; i++) {
      a.insertString(`k${i}`, i);
      b.insertString(`k${i}`, i);
    }
    for (let i = 0; i < 1_000; i++) expect(a.value(a.findString(`k${i}`))).toBe(b.value(b.findString(`k${i}`)));
  });
});
