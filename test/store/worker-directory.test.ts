import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerDirectoryAsk, isDirectoryAsk, type DirectoryAnswer } from '../../src/store/directory-asks.js';
import { DurableDirectory } from '../../src/store/durable-directory.js';
import { DirectoryError } from '../../src/store/key-directory.js';
import { WorkerDirectory } from '../../src/store/worker-directory.js';
import { PrimaryLink } from '../../src/supervisor/primary-link.js';
import { ipcPair, type IpcPair } from '../support/ipc-pair.js';

const LIBRARIES = [
  { name: 'lib_a', weight: 1 },
  { name: 'lib_b', weight: 2 },
];

let dir: string;
let owner: DurableDirectory;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-worker-dir-'));
  owner = await DurableDirectory.open({ saveDir: dir, libraries: LIBRARIES });
});

afterEach(async () => {
  await owner.close();
  await rm(dir, { recursive: true, force: true });
});

/** A worker's directory whose asks go, as JSON over a fake channel, to the owner of the save files. */
function worker(): { directory: WorkerDirectory; pair: IpcPair; link: PrimaryLink } {
  const pair = ipcPair(async (ask) => {
    if (!isDirectoryAsk(ask)) return { ok: false, message: 'not a directory ask' };
    return answerDirectoryAsk(owner, ask);
  });
  const link = new PrimaryLink(pair.channel, 4242, 1_000);
  const directory = new WorkerDirectory({ location: link.location, connected: () => link.connected(), ask: (ask) => link.ask<DirectoryAnswer>(ask) }, LIBRARIES);
  return { directory, pair, link };
}

describe('WorkerDirectory (a group worker asking the owner of the save files)', () => {
  it('gives every worker the same library for keys they race for, assigned and saved once', async () => {
    const workers = [worker(), worker()];
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const results = await Promise.all(workers.flatMap(({ directory }) => [...keys, ...keys].map(async (key) => ({ key, ...(await directory.resolveKey(key)) }))));
    const byKey = new Map<string, Set<string>>();
    for (const { key, library } of results) byKey.set(key, (byKey.get(key) ?? new Set()).add(library));
    expect([...byKey.values()].every((libraries) => libraries.size === 1)).toBe(true);
    expect(results.filter((result) => result.isNew).length).toBe(keys.length);
    for (const key of keys) expect(byKey.get(key)).toEqual(new Set([owner.lookupKey(key)]));
    const saved = (await readFile(path.join(dir, 'mysqlda.save'), 'utf8')).trim().split('\n');
    expect(saved.length).toBe(keys.length);
  });

  it('asks once per key: later lookups and resolves are answered from memory', async () => {
    const { directory, pair } = worker();
    const [first, second] = await Promise.all([directory.resolveKey('k1'), directory.resolveKey('k1')]);
    expect(first.isNew).toBe(true);
    expect(second).toEqual({ library: first.library, isNew: false });
    expect(await directory.resolveKey('k1')).toEqual({ library: first.library, isNew: false });
    expect(directory.lookupKey('k1')).toBe(first.library);
    expect(pair.asks).toEqual([{ op: 'resolve-key', key: 'k1' }]);
  });

  it("learns another worker's keys and aliases from the owner; an unbound alias is asked again", async () => {
    const one = worker();
    const two = worker();
    const { library } = await one.directory.resolveKey('acct-1');
    await one.directory.bindCorrel('account_no', '6222', 'acct-1');
    expect(two.directory.lookupKey('acct-1')).toBeUndefined();
    expect(await two.directory.resolveKey('acct-1')).toEqual({ library, isNew: false });
    expect(await two.directory.findCorrel('account_no', '6222')).toBe('acct-1');
    expect(two.directory.lookupCorrel('account_no', '6222')).toBe('acct-1');
    expect(await two.directory.findCorrel('account_no', '7333')).toBeUndefined();
    await one.directory.bindCorrel('account_no', '7333', 'acct-1');
    expect(await two.directory.findCorrel('account_no', '7333')).toBe('acct-1');
  });

  it("passes the owner's refusals on as the same DirectoryError codes", async () => {
    const { directory } = worker();
    await expect(directory.bindCorrel('account_no', '1', 'nobody')).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    await directory.resolveKey('a');
    await directory.resolveKey('b');
    await directory.bindCorrel('account_no', '1', 'a');
    await expect(worker().directory.bindCorrel('account_no', '1', 'b')).rejects.toMatchObject({ code: 'CORREL_CONFLICT' });
    await expect(directory.resolveKey('two words')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('is UNAVAILABLE for new keys once the owner cannot be asked, and still routes the keys it knows', async () => {
    const { directory, pair } = worker();
    const { library } = await directory.resolveKey('known');
    pair.disconnect();
    const error = await directory.resolveKey('new').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DirectoryError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('primary pid 4242') });
    expect(await directory.resolveKey('known')).toEqual({ library, isNew: false });
    expect(directory.state()).toMatchObject({ kind: 'worker', available: false, location: 'primary pid 4242' });
  });

  it('is UNAVAILABLE when the owner does not answer in time', async () => {
    const { directory, pair } = worker();
    pair.hold(true);
    await expect(directory.resolveKey('slow')).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('no answer within 1 s') });
  });

  it("counts the keys it has seen per library (the owner's stats are the whole directory's)", async () => {
    const { directory } = worker();
    await directory.resolveKey('x');
    const stats = directory.stats();
    expect(stats.keys).toBe(1);
    expect(Object.keys(stats.perLibrary).sort()).toEqual(['lib_a', 'lib_b']);
  });
});
