import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredLibraryState } from '../../src/backend/failover-state-store.js';
import { FileStateStore } from '../../src/backend/file-state-store.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-file-state-'));
  file = path.join(dir, 'mysqlda.state.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const state = (current: string, leftByFailover: [string, string][] = []): StoredLibraryState => ({
  current,
  servers: ['m:1', 'r:1'],
  since: '2026-01-01T00:00:00.000Z',
  leftByFailover: new Map(leftByFailover),
  epoch: 99, // ignored: the store sets it
});

describe('FileStateStore (mysqlda.state.json)', () => {
  it('decides a compare-and-set at once on the epoch it holds, and writes the file in the format older versions read', async () => {
    const store = await FileStateStore.open(file, (error) => {
      throw error;
    });
    expect(store.compareAndSetNow('lib', 0, state('m:1'))).toMatchObject({ won: true, state: { current: 'm:1', epoch: 1 } });
    expect(store.compareAndSetNow('lib', 0, state('r:1'))).toMatchObject({ won: false, state: { current: 'm:1', epoch: 1 } });
    expect(await store.compareAndSet('lib', 1, state('r:1', [['m:1', '2026-01-02T00:00:00.000Z']]))).toMatchObject({ won: true, state: { epoch: 2 } });
    await store.flush();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      version: 1,
      libraries: { lib: { current: 'r:1', servers: ['m:1', 'r:1'], since: '2026-01-01T00:00:00.000Z', left_by_failover: { 'm:1': '2026-01-02T00:00:00.000Z' } } },
    });
    expect(store.available()).toBe(true);
  });

  it('loads the file with every library at epoch 1, and forgets the libraries a reload removed', async () => {
    const first = await FileStateStore.open(file, () => undefined);
    first.compareAndSetNow('a', 0, state('m:1'));
    first.compareAndSetNow('b', 0, state('r:1'));
    await first.flush();
    const second = await FileStateStore.open(file, () => undefined);
    expect([...(await second.load())].map(([name, library]) => [name, library.current, library.epoch])).toEqual([
      ['a', 'm:1', 1],
      ['b', 'r:1', 1],
    ]);
    second.forget(['b']);
    await second.flush();
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).libraries)).toEqual(['b']);
  });
});
