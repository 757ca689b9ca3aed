import { afterEach, describe, expect, it } from 'vitest';
import { RepeatedFailures, type RepeatedFailuresOptions } from '../../src/log/repeated-failures.js';

let clock = 0;
let opened: RepeatedFailures[] = [];
afterEach(() => {
  for (const failures of opened) failures.close();
  opened = [];
});

function failuresLog(options: RepeatedFailuresOptions = {}) {
  clock = 1_000_000;
  const lines: { fields: Record<string, unknown>; msg: string }[] = [];
  const failures = new RepeatedFailures((fields, msg) => lines.push({ fields, msg }), { now: () => clock, ...options });
  opened.push(failures);
  return { failures, lines, msgs: () => lines.map((l) => l.msg) };
}

describe('RepeatedFailures', () => {
  it('writes the first failure at once and sums up its repeats in one line when the interval is over', () => {
    const { failures, lines, msgs } = failuresLog();
    for (let i = 0; i < 1000; i++) failures.report('10.0.0.9', 'login refused: 1045', { user: `u${i}` }, `refused u${i}`);
    expect(msgs()).toEqual(['refused u0']);
    clock += 9_999;
    failures.sweep();
    expect(lines).toHaveLength(1);
    clock += 1;
    failures.sweep();
    expect(msgs()).toEqual(['refused u0', '999 more like this (login refused: 1045) from 10.0.0.9 in the last 10 s']);
    expect(lines[1].fields).toEqual({ client: '10.0.0.9', kind: 'login refused: 1045', repeated: 999 });
  });

  it('writes one more first line per interval while a failure goes on, and nothing for an interval without repeats', () => {
    const { failures, msgs } = failuresLog();
    failures.report('a', 'k', {}, 'first');
    clock += 10_000;
    failures.sweep();
    expect(msgs()).toEqual(['first']);
    failures.report('a', 'k', {}, 'second');
    failures.report('a', 'k', {}, 'third');
    clock += 15_000; // a repeat after the interval sums up the last one before writing its own line
    failures.report('a', 'k', {}, 'fourth');
    expect(msgs()).toEqual(['first', 'second', '1 more like this (k) from a in the last 15 s', 'fourth']);
  });

  it('keeps each address and kind apart', () => {
    const { failures, msgs } = failuresLog();
    failures.report('a', 'k1', {}, 'a k1');
    failures.report('a', 'k2', {}, 'a k2');
    failures.report('b', 'k1', {}, 'b k1');
    failures.report('a', 'k1', {}, 'a k1 again');
    expect(msgs()).toEqual(['a k1', 'a k2', 'b k1']);
    failures.close();
    expect(msgs()).toEqual(['a k1', 'a k2', 'b k1', '1 more like this (k1) from a in the last 1 s']);
  });

  it('tracks a bounded number of kinds, summing up the oldest early to make room', () => {
    const { failures, msgs } = failuresLog({ maxKinds: 2 });
    failures.report('a', 'k', {}, 'a');
    failures.report('a', 'k', {}, 'a');
    failures.report('b', 'k', {}, 'b');
    failures.report('c', 'k', {}, 'c');
    expect(msgs()).toEqual(['a', 'b', '1 more like this (k) from a in the last 1 s', 'c']);
  });

  it('writes a bounded number of first lines per interval, counting a flood from distinct addresses in one line', () => {
    const { failures, msgs } = failuresLog({ maxFirstLines: 3 });
    for (let i = 0; i < 10_000; i++) failures.report(`10.0.${i >> 8}.${i & 255}`, 'k', {}, `from ${i}`);
    expect(msgs()).toEqual(['from 0', 'from 1', 'from 2']);
    clock += 10_000;
    failures.sweep();
    expect(msgs().slice(3)).toEqual(['9997 more failures from many clients in the last 10 s, not logged one by one']);
    failures.report('new', 'k', {}, 'a new interval writes first lines again');
    expect(msgs()).toHaveLength(5);
  });
});
