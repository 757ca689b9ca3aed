import { describe, expect, it } from 'vitest';
import { BatchQueue } from '../../../src/store/mysql/batch-queue.js';

/** A batch function whose batches the test settles by hand. */
function manualWork() {
  const batches: { items: readonly string[]; settle(error?: Error): void }[] = [];
  const work = (items: readonly string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      batches.push({ items, settle: (error) => (error ? reject(error) : resolve(new Map(items.map((item) => [item, `lib-of-${item}`])))) });
    });
  return { batches, work };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchQueue', () => {
  it('starts a batch at once, and groups what arrives meanwhile into the next one', async () => {
    const { batches, work } = manualWork();
    const queue = new BatchQueue(work, 100);
    const first = queue.request('a');
    const later = ['b', 'c', 'd'].map((item) => queue.request(item));
    expect(batches.map((b) => b.items)).toEqual([['a']]);
    batches[0].settle();
    expect(await first).toBe('lib-of-a');
    await tick();
    expect(batches.map((b) => b.items)).toEqual([['a'], ['b', 'c', 'd']]);
    batches[1].settle();
    expect(await Promise.all(later)).toEqual(['lib-of-b', 'lib-of-c', 'lib-of-d']);
    expect(queue.pending).toBe(0);
  });

  it('answers every request for one item from one batch slot', async () => {
    const { batches, work } = manualWork();
    const queue = new BatchQueue(work, 100);
    void queue.request('x');
    const twice = [queue.request('y'), queue.request('y')];
    batches[0].settle();
    await tick();
    expect(batches[1].items).toEqual(['y']);
    batches[1].settle();
    expect(await Promise.all(twice)).toEqual(['lib-of-y', 'lib-of-y']);
  });

  it('takes at most maxItems per batch', async () => {
    const { batches, work } = manualWork();
    const queue = new BatchQueue(work, 2);
    void queue.request('hold');
    const rest = ['a', 'b', 'c'].map((item) => queue.request(item));
    batches[0].settle();
    await tick();
    expect(batches[1].items).toEqual(['a', 'b']);
    batches[1].settle();
    await tick();
    expect(batches[2].items).toEqual(['c']);
    batches[2].settle();
    expect(await Promise.all(rest)).toHaveLength(3);
  });

  it('rejects every request of a failed batch and goes on with the next', async () => {
    const { batches, work } = manualWork();
    const queue = new BatchQueue(work, 100);
    const failed = queue.request('a');
    const next = queue.request('b');
    batches[0].settle(new Error('directory down'));
    await expect(failed).rejects.toThrow('directory down');
    await tick();
    batches[1].settle();
    expect(await next).toBe('lib-of-b');
  });
});
