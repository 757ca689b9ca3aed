import { describe, expect, it } from 'vitest';
import { chooseLibrary, keyHash, type LibraryLoad } from '../../src/routing/assignment.js';

/** Assign `count` fresh keys one after another, updating the loads as the directory would. */
function assignFresh(loads: LibraryLoad[], count: number, prefix: string): Map<string, number> {
  const received = new Map<string, number>(loads.map((l) => [l.name, 0]));
  const byName = new Map(loads.map((l) => [l.name, l]));
  for (let i = 0; i < count; i++) {
    const name = chooseLibrary(`${prefix}${i}`, loads);
    byName.get(name)!.keyCount++;
    received.set(name, received.get(name)! + 1);
  }
  return received;
}

function libraries(...weights: number[]): LibraryLoad[] {
  return weights.map((weight, i) => ({ name: `lib${i + 1}`, weight, keyCount: 0 }));
}

describe('keyHash', () => {
  it('is the first 48 bits of SHA-1 of the UTF-8 key, as a fraction of 2^48', () => {
    expect(keyHash('1')).toBe(0x356a192b7913 / 2 ** 48);
    expect(keyHash('13812345678')).toBe(0x1cc0e18ddc5e / 2 ** 48);
    expect(keyHash('中文')).toBe(0x7be2d2d20c10 / 2 ** 48);
  });

  it('stays in [0, 1)', () => {
    const outside = [];
    for (let i = 0; i < 10_000; i++) {
      const h = keyHash(`k${i}`);
      if (!(h >= 0 && h < 1)) outside.push(h);
    }
    expect(outside).toEqual([]);
  });
});

describe('chooseLibrary', () => {
  it.each([{ n: 3 }, { n: 5 }])('keeps $n equal libraries within ±1% of the mean over 100k fresh keys', ({ n }) => {
    const loads = libraries(...Array<number>(n).fill(1));
    const received = assignFresh(loads, 100_000, 'customer-');
    const mean = 100_000 / n;
    for (const count of received.values()) expect(Math.abs(count - mean)).toBeLessThanOrEqual(mean * 0.01);
  });

  it('gives a weight-2 library twice the keys of weight-1 libraries (±2%)', () => {
    const loads = libraries(2, 1, 1);
    const received = assignFresh(loads, 100_000, 'w-');
    for (const name of ['lib2', 'lib3']) {
      expect(Math.abs(received.get(name)! - 25_000)).toBeLessThanOrEqual(25_000 * 0.02);
    }
    expect(Math.abs(received.get('lib1')! - 50_000)).toBeLessThanOrEqual(50_000 * 0.02);
  });

  it('fills a newly joined empty library first, then keeps all five within 5% after 40k more keys', () => {
    const loads = libraries(1, 1, 1, 1, 1);
    for (const l of loads.slice(0, 4)) l.keyCount = 10_000;
    const fresh = loads[4];

    let catchUpKeys = 0;
    let toFresh = 0;
    while (fresh.keyCount < 10_000) {
      const name = chooseLibrary(`late-${catchUpKeys++}`, loads);
      loads.find((l) => l.name === name)!.keyCount++;
      if (name === fresh.name) toFresh++;
    }
    expect(toFresh / catchUpKeys).toBeGreaterThanOrEqual(0.5);

    assignFresh(loads, 40_000, 'after-');
    const mean = loads.reduce((sum, l) => sum + l.keyCount, 0) / loads.length;
    for (const l of loads) expect(Math.abs(l.keyCount - mean)).toBeLessThanOrEqual(mean * 0.05);
  });

  it('gives the same answer for the same key and the same loads', () => {
    const loads: LibraryLoad[] = [
      { name: 'a', weight: 1, keyCount: 120 },
      { name: 'b', weight: 3, keyCount: 300 },
      { name: 'c', weight: 2, keyCount: 250 },
    ];
    for (let i = 0; i < 1000; i++) {
      const key = `same-${i}`;
      expect(chooseLibrary(key, loads)).toBe(chooseLibrary(key, structuredClone(loads)));
    }
  });

  it('always answers the only library when there is one', () => {
    const loads = [{ name: 'only', weight: 7, keyCount: 12345 }];
    for (let i = 0; i < 100; i++) expect(chooseLibrary(`k${i}`, loads)).toBe('only');
  });

  it('spreads keys by their hash when the libraries are balanced', () => {
    const loads = libraries(1, 1, 1, 1);
    for (const l of loads) l.keyCount = 1000;
    const hits = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const name = chooseLibrary(`probe-${i}`, loads); // loads unchanged: each key drawn on the same state
      hits.set(name, (hits.get(name) ?? 0) + 1);
    }
    for (const l of loads) expect(Math.abs(hits.get(l.name)! - 1000)).toBeLessThan(150);
  });

  it('never chooses a library that is already above its share', () => {
    const loads: LibraryLoad[] = [
      { name: 'full', weight: 1, keyCount: 500 },
      { name: 'low', weight: 1, keyCount: 100 },
    ];
    for (let i = 0; i < 200; i++) expect(chooseLibrary(`x${i}`, loads)).toBe('low');
  });

  it('rejects empty input, bad weights and bad counts', () => {
    expect(() => chooseLibrary('k', [])).toThrow(RangeError);
    for (const weight of [0, -1, Number.NaN, Infinity]) {
      expect(() => chooseLibrary('k', [{ name: 'a', weight, keyCount: 0 }])).toThrow(/weights must be > 0/);
    }
    expect(() => chooseLibrary('k', [{ name: 'a', weight: 1, keyCount: -1 }])).toThrow(/key count/);
  });
});
