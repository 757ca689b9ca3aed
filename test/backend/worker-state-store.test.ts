import { describe, expect, it } from 'vitest';
import type { FailoverStateStore, StoredLibraryState } from '../../src/backend/failover-state-store.js';
import { answerStateAsk, isStateAsk } from '../../src/backend/state-store-asks.js';
import { WorkerStateStore } from '../../src/backend/worker-state-store.js';
import { PrimaryLink } from '../../src/supervisor/primary-link.js';
import { ipcPair } from '../support/ipc-pair.js';
import { MemoryStateStore } from './memory-state-store.js';

function workerStore(primary: FailoverStateStore) {
  const pair = ipcPair(async (ask) => (isStateAsk(ask) ? answerStateAsk(primary, ask) : { ok: false, message: 'not a state ask' }));
  const link = new PrimaryLink(pair.channel, 7, 1_000);
  return { store: new WorkerStateStore({ ask: (ask) => link.ask(ask), connected: () => link.connected(), location: link.location }), pair };
}

const moved = (current: string): StoredLibraryState => ({
  current,
  servers: ['10.0.0.1:3306', '10.0.0.2:3306'],
  since: '2026-01-01T00:00:00.000Z',
  leftByFailover: new Map([['10.0.0.1:3306', '2026-01-01T00:00:00.000Z']]),
  epoch: 0,
});

describe('WorkerStateStore (failover state held by the primary of a group)', () => {
  it('lets exactly one of two workers move a library on the same epoch; the other sees what was stored', async () => {
    const primary = new MemoryStateStore();
    const [one, two] = [workerStore(primary.client()), workerStore(primary.client())];
    const results = await Promise.all([one.store.compareAndSet('lib_a', 0, moved('10.0.0.2:3306')), two.store.compareAndSet('lib_a', 0, moved('10.0.0.3:3306'))]);
    expect(results.filter((result) => result.won).length).toBe(1);
    const lost = results.find((result) => !result.won)!;
    expect(lost.state?.epoch).toBe(1);
    expect(lost.state?.current).toBe(primary.rows.get('lib_a')?.current);
  });

  it('carries leftByFailover (a Map) across the JSON channel both ways', async () => {
    const primary = new MemoryStateStore();
    const { store } = workerStore(primary.client());
    await store.compareAndSet('lib_a', 0, moved('10.0.0.2:3306'));
    expect(primary.rows.get('lib_a')?.leftByFailover).toEqual(new Map([['10.0.0.1:3306', '2026-01-01T00:00:00.000Z']]));
    const loaded = await store.load();
    expect(loaded.get('lib_a')).toEqual({ ...moved('10.0.0.2:3306'), epoch: 1 });
  });

  it('is unavailable, and rejects, once the primary cannot be asked', async () => {
    const { store, pair } = workerStore(new MemoryStateStore().client());
    expect(store.available()).toBe(true);
    expect(store.describe()).toEqual({ kind: 'worker', location: 'primary pid 7', lastError: null });
    pair.disconnect();
    await expect(store.compareAndSet('lib_a', 0, moved('x:1'))).rejects.toThrow('the primary holding the failover state cannot be asked');
    expect(store.available()).toBe(false);
    expect(store.describe().lastError).toMatch(/^the primary holding the failover state cannot be asked/);
  });
});
