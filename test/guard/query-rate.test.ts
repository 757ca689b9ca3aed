import { describe, expect, it } from 'vitest';
import { QueryRate } from '../../src/guard/query-rate.js';

describe('QueryRate', () => {
  it('allows one second of commands at once, then one per 1/rate seconds', () => {
    const rate = new QueryRate(4, 0);
    expect([1, 2, 3, 4, 5].map(() => rate.tryTake(0))).toEqual([true, true, true, true, false]);
    expect(rate.tryTake(200)).toBe(false);
    expect(rate.tryTake(250)).toBe(true);
  });

  it('reserves the next token and tells how long to wait, or refuses without reserving when the wait is too long', () => {
    const rate = new QueryRate(10, 0);
    for (let i = 0; i < 10; i++) rate.tryTake(0);
    expect(rate.reserve(0, 1000)).toBe(100);
    expect(rate.reserve(0, 1000)).toBe(200);
    expect(rate.reserve(0, 250)).toBe(-1);
    expect(rate.reserve(0, 300)).toBe(300);
  });

  it('never stores more than one second of tokens after a quiet period', () => {
    const rate = new QueryRate(2, 0);
    let taken = 0;
    while (rate.tryTake(60_000)) taken++;
    expect(taken).toBe(2);
  });
});
