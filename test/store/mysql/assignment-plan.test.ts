import { describe, expect, it } from 'vitest';
import { chooseLibrary } from '../../../src/routing/assignment.js';
import { planAssignments } from '../../../src/store/mysql/assignment-plan.js';

const TWO = [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }];

describe('planAssignments', () => {
  it('keeps the rows found and assigns the other keys, each seeing the counts the keys before it left', () => {
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const plan = planAssignments(keys, new Map([['k3', 'b']]), new Map([['a', 4], ['b', 5]]), TWO);
    expect(plan.found).toEqual(new Map([['k3', 'b']]));
    expect(plan.assigned.map((a) => a.key)).toEqual(keys.filter((k) => k !== 'k3'));
    // Sequential choice over running counts, exactly as one proxy assigning them one by one would.
    const counts = { a: 4, b: 5 };
    for (const { key, library } of plan.assigned) {
      expect(library).toBe(chooseLibrary(key, TWO.map((l) => ({ ...l, keyCount: counts[l.name as 'a' | 'b'] }))));
      counts[library as 'a' | 'b']++;
    }
    expect(plan.countsAfter).toEqual(new Map([['a', counts.a], ['b', counts.b]]));
    expect(counts.a + counts.b).toBe(18);
    expect(Math.abs(counts.a - counts.b)).toBeLessThanOrEqual(1);
    expect([...plan.increments.values()].reduce((x, y) => x + y, 0)).toBe(9);
  });

  it('gives a library that has no counts row yet (added by reload) every key until it has caught up', () => {
    const three = [...TWO, { name: 'c', weight: 1 }];
    const keys = Array.from({ length: 100 }, (_, i) => `new${i}`);
    const plan = planAssignments(keys, new Map(), new Map([['a', 100], ['b', 100]]), three);
    expect(plan.assigned.every((a) => a.library === 'c')).toBe(true);
    expect(plan.increments).toEqual(new Map([['c', 100]]));
    expect(plan.countsAfter).toEqual(new Map([['a', 100], ['b', 100], ['c', 100]]));
  });

  it('keeps the counts of libraries not configured here out of the choice but in the counts after', () => {
    const plan = planAssignments(['x'], new Map(), new Map([['a', 1], ['gone', 50]]), [{ name: 'a', weight: 1 }]);
    expect(plan.assigned).toEqual([{ key: 'x', library: 'a' }]);
    expect(plan.countsAfter).toEqual(new Map([['a', 2], ['gone', 50]]));
  });

  it('honours weights', () => {
    const weighted = [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }];
    const plan = planAssignments(Array.from({ length: 400 }, (_, i) => `w${i}`), new Map(), new Map(), weighted);
    expect(plan.countsAfter.get('a')).toBeGreaterThanOrEqual(299);
    expect(plan.countsAfter.get('a')).toBeLessThanOrEqual(301);
  });
});
