import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectoryError, DurableDirectory, type LibraryWeight } from '../../src/store/durable-directory.js';
import { SaveFileError } from '../../src/store/loader.js';
import { SaveFileWriter } from '../../src/store/save-file.js';
import { clearImmutable, immutableFilesWork, setImmutable } from '../support/immutable-file.js';

const canMakeImmutable = immutableFilesWork();

const LIBRARIES: LibraryWeight[] = [
  { name: 'mysqlda1', weight: 1 },
  { name: 'mysqlda2', weight: 1 },
  { name: 'mysqlda3', weight: 2 },
];

let dir: string;
let opened: DurableDirectory[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mysqlda-durable-'));
  opened = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  if (canMakeImmutable) for (const file of ['mysqlda.save', 'mysqlda.card.save']) clearImmutable(join(dir, file));
  await Promise.all(opened.map((d) => d.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openDirectory(libraries = LIBRARIES, log?: (msg: string) => void): Promise<DurableDirectory> {
  const d = await DurableDirectory.open({ saveDir: dir, libraries, log });
  opened.push(d);
  return d;
}

async function coreLines(): Promise<string[]> {
  return (await readFile(join(dir, 'mysqlda.save'), 'utf8')).split('\n').filter(Boolean);
}

async function rejection(promise: Promise<unknown>): Promise<DirectoryError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DirectoryError);
  return err as DirectoryError;
}

describe('DurableDirectory keys', () => {
  it('assigns a new key once and gives the same library after close and reopen', async () => {
    const first = await openDirectory();
    const assigned = await first.resolveKey('13812345678');
    expect(assigned.isNew).toBe(true);
    expect(await first.resolveKey('13812345678')).toEqual({ library: assigned.library, isNew: false });
    await first.close();

    const second = await openDirectory();
    expect(second.lookupKey('13812345678')).toBe(assigned.library);
    expect(await second.resolveKey('13812345678')).toEqual({ library: assigned.library, isNew: false });
    expect(await coreLines()).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d 13812345678 ${assigned.library}$`))]);
  });

  it('persists 64 concurrent new keys, each on its own line', async () => {
    const d = await openDirectory();
    const keys = Array.from({ length: 64 }, (_, i) => `customer-${i}`);
    const results = await Promise.all(keys.map((k) => d.resolveKey(k)));
    expect(results.every((r) => r.isNew)).toBe(true);
    await d.close();

    const lines = await coreLines();
    expect(lines).toHaveLength(64);
    const reopened = await openDirectory();
    keys.forEach((k, i) => expect(reopened.lookupKey(k)).toBe(results[i].library));
    expect(reopened.stats()).toEqual({ keys: 64, perLibrary: { mysqlda1: 16, mysqlda2: 16, mysqlda3: 32 }, correlObjects: 0 });
  });

  it('shares one assignment and one line among concurrent calls for the same new key', async () => {
    const d = await openDirectory();
    const results = await Promise.all(Array.from({ length: 10 }, () => d.resolveKey('same')));
    expect(new Set(results.map((r) => r.library)).size).toBe(1);
    expect(results.filter((r) => r.isNew)).toHaveLength(1);
    expect(await coreLines()).toHaveLength(1);
  });

  it('does not report a key while its assignment is still being written', async () => {
    const d = await openDirectory();
    const pending = d.resolveKey('k');
    expect(d.lookupKey('k')).toBeUndefined();
    const { library } = await pending;
    expect(d.lookupKey('k')).toBe(library);
  });

  it('rolls a key back out of memory when its save fails, and can assign it later', async () => {
    const d = await openDirectory();
    await d.resolveKey('before');
    const statsBefore = d.stats();
    vi.spyOn(SaveFileWriter.prototype, 'append').mockRejectedValueOnce(new Error('EIO: i/o error'));
    const err = await rejection(d.resolveKey('unlucky'));
    expect(err.code).toBe('PERSIST_FAILED');
    expect(err.message).toBe("could not save the library of key 'unlucky': EIO: i/o error");
    expect(d.lookupKey('unlucky')).toBeUndefined();
    expect(d.stats()).toEqual(statsBefore);

    expect((await d.resolveKey('unlucky')).isNew).toBe(true);
    expect((await coreLines()).filter((l) => l.includes(' unlucky '))).toHaveLength(1);
  });

  it.skipIf(!canMakeImmutable)('refuses new keys while mysqlda.save is immutable (EPERM) and assigns them once it is writable again', async () => {
    const d = await openDirectory();
    const { library: early } = await d.resolveKey('early');
    setImmutable(join(dir, 'mysqlda.save'), true);
    for (const key of ['refused', 'refused', 'late']) {
      const err = await rejection(d.resolveKey(key));
      expect(err.code).toBe('PERSIST_FAILED');
      expect(err.message).toMatch(/EPERM/);
      expect(d.lookupKey(key)).toBeUndefined();
    }
    expect(await d.resolveKey('early')).toEqual({ library: early, isNew: false }); // known keys still resolve
    setImmutable(join(dir, 'mysqlda.save'), false);
    const late = await d.resolveKey('late');
    expect(late.isNew).toBe(true);
    await d.close();

    expect((await coreLines()).map((l) => l.split(' ').slice(2).join(' '))).toEqual([`early ${early}`, `late ${late.library}`]);
    const reopened = await openDirectory();
    expect(reopened.lookupKey('refused')).toBeUndefined();
    expect(reopened.lookupKey('late')).toBe(late.library);
  });

  it('refuses keys the save file could not hold', async () => {
    const d = await openDirectory();
    for (const bad of ['', 'a b', 'evil\nmysqlda1', 'k'.repeat(65)]) {
      expect((await rejection(d.resolveKey(bad))).code).toBe('INVALID_ARGUMENT');
    }
    expect(d.stats().keys).toBe(0);
  });

  it('balances new keys by weight', async () => {
    const d = await openDirectory();
    await Promise.all(Array.from({ length: 400 }, (_, i) => d.resolveKey(`w${i}`)));
    expect(d.stats().perLibrary).toEqual({ mysqlda1: 100, mysqlda2: 100, mysqlda3: 200 });
  });
});

describe('DurableDirectory correl objects', () => {
  it('binds an object to a known key, persists it in mysqlda.<class>.save and reloads it', async () => {
    const d = await openDirectory();
    await d.resolveKey('330001');
    await d.bindCorrel('card', '6222020000000001', '330001');
    expect(d.lookupCorrel('card', '6222020000000001')).toBe('330001');
    expect(d.lookupCorrel('card', 'other')).toBeUndefined();
    expect(d.lookupCorrel('nope', '6222020000000001')).toBeUndefined();
    await d.close();

    const text = await readFile(join(dir, 'mysqlda.card.save'), 'utf8');
    expect(text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 6222020000000001 330001\n$/);
    const reopened = await openDirectory();
    expect(reopened.lookupCorrel('card', '6222020000000001')).toBe('330001');
    expect(reopened.stats().correlObjects).toBe(1);
  });

  it.skipIf(!canMakeImmutable)('refuses new bindings while their class file is immutable (EPERM) and saves them once it is writable again', async () => {
    const d = await openDirectory();
    await d.resolveKey('k');
    await d.bindCorrel('card', 'first', 'k');
    setImmutable(join(dir, 'mysqlda.card.save'), true);
    expect((await rejection(d.bindCorrel('card', 'second', 'k'))).code).toBe('PERSIST_FAILED');
    expect(d.lookupCorrel('card', 'second')).toBeUndefined();
    setImmutable(join(dir, 'mysqlda.card.save'), false);
    await d.bindCorrel('card', 'second', 'k');
    await d.close();
    const lines = (await readFile(join(dir, 'mysqlda.card.save'), 'utf8')).split('\n');
    expect(lines.map((l) => l.split(' ').slice(2).join(' '))).toEqual(['first k', 'second k', '']);
  });

  it('requires the key to have a library', async () => {
    const d = await openDirectory();
    const err = await rejection(d.bindCorrel('card', 'o', 'ghost'));
    expect(err.code).toBe('UNKNOWN_KEY');
    expect(err.message).toBe("key 'ghost' has no library yet (select library ghost first)");
    expect(d.stats().correlObjects).toBe(0);
  });

  it('waits for a key that is still being assigned', async () => {
    const d = await openDirectory();
    const assigning = d.resolveKey('fresh');
    await d.bindCorrel('card', 'o', 'fresh');
    await assigning;
    expect(d.lookupCorrel('card', 'o')).toBe('fresh');
  });

  it('treats the same binding again as a no-op and another key as a conflict', async () => {
    const d = await openDirectory();
    await d.resolveKey('k1');
    await d.resolveKey('k2');
    await d.bindCorrel('card', 'o', 'k1');
    await d.bindCorrel('card', 'o', 'k1');
    const err = await rejection(d.bindCorrel('card', 'o', 'k2'));
    expect(err.code).toBe('CORREL_CONFLICT');
    expect(err.message).toBe("card object 'o' is already bound to key 'k1'");
    expect(d.lookupCorrel('card', 'o')).toBe('k1');
    await d.close();
    expect((await readFile(join(dir, 'mysqlda.card.save'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('shares one write among concurrent identical binds, and lets concurrent rivals see the winner', async () => {
    const d = await openDirectory();
    await d.resolveKey('k1');
    await d.resolveKey('k2');
    const results = await Promise.allSettled([
      ...Array.from({ length: 5 }, () => d.bindCorrel('card', 'o', 'k1')),
      d.bindCorrel('card', 'o', 'k2'),
    ]);
    expect(results.slice(0, 5).every((r) => r.status === 'fulfilled')).toBe(true);
    expect((results[5] as PromiseRejectedResult).reason).toMatchObject({ code: 'CORREL_CONFLICT' });
    await d.close();
    expect((await readFile(join(dir, 'mysqlda.card.save'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('rolls a binding back when its file cannot be written', async () => {
    const d = await openDirectory();
    await d.resolveKey('k');
    await mkdir(join(dir, 'mysqlda.broken.save')); // a directory where the file should be
    const err = await rejection(d.bindCorrel('broken', 'o', 'k'));
    expect(err.code).toBe('PERSIST_FAILED');
    expect(d.lookupCorrel('broken', 'o')).toBeUndefined();
    expect(d.stats().correlObjects).toBe(0);
  });

  it('refuses class names that are not safe file names', async () => {
    const d = await openDirectory();
    await d.resolveKey('k');
    for (const cls of ['../etc', 'a.b', '']) {
      expect((await rejection(d.bindCorrel(cls, 'o', 'k'))).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('DurableDirectory files', () => {
  it('creates its save files with mode 0600', async () => {
    const d = await openDirectory();
    await d.resolveKey('k');
    await d.bindCorrel('card', 'o', 'k');
    expect((await stat(join(dir, 'mysqlda.save'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'mysqlda.card.save'))).mode & 0o777).toBe(0o600);
  });

  it('tightens world-writable save files left by mysqlda and says so', async () => {
    await writeFile(join(dir, 'mysqlda.save'), '2017-09-03 12:00:00 k mysqlda1\n');
    await chmod(join(dir, 'mysqlda.save'), 0o777); // what mysqlda's daemon (umask 0) left behind
    await writeFile(join(dir, 'mysqlda.card.save'), '2017-09-03 12:00:00 o k\n');
    await chmod(join(dir, 'mysqlda.card.save'), 0o666);
    const messages: string[] = [];
    await openDirectory(LIBRARIES, (m) => messages.push(m));
    expect((await stat(join(dir, 'mysqlda.save'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'mysqlda.card.save'))).mode & 0o777).toBe(0o600);
    expect(messages).toEqual([
      `${join(dir, 'mysqlda.save')} was mode 0777; changed it to 0600`,
      `${join(dir, 'mysqlda.card.save')} was mode 0666; changed it to 0600`,
    ]);
  });

  it('recovers from a crash that tore the last line, and appends the next record on its own line', async () => {
    await writeFile(join(dir, 'mysqlda.save'), '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:01 b mysq');
    const messages: string[] = [];
    const d = await openDirectory(LIBRARIES, (m) => messages.push(m));
    expect(messages[0]).toMatch(/mysqlda\.save:2: the last line is incomplete/);
    expect(d.lookupKey('a')).toBe('mysqlda1');
    expect(d.lookupKey('b')).toBeUndefined();
    await d.resolveKey('c');
    const lines = await coreLines();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^\S+ \S+ c mysqlda\d$/);
  });

  it('keeps a torn last line that is complete and appends after it on a new line', async () => {
    await writeFile(join(dir, 'mysqlda.save'), '2017-09-03 12:00:00 a mysqlda2');
    const d = await openDirectory();
    expect(d.lookupKey('a')).toBe('mysqlda2');
    await d.resolveKey('b');
    expect((await coreLines()).map((l) => l.split(' ')[2])).toEqual(['a', 'b']);
  });

  it('refuses to open when a library that owns keys was removed from the config', async () => {
    await writeFile(join(dir, 'mysqlda.save'), '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:00 b old\n');
    const err = await DurableDirectory.open({ saveDir: dir, libraries: LIBRARIES }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SaveFileError);
    expect((err as Error).message).toContain(
      `${join(dir, 'mysqlda.save')}:2: library 'old' is not in the config (configured: mysqlda1, mysqlda2, mysqlda3)`,
    );
  });

  it('refuses a save directory that does not exist', async () => {
    const err = await rejection(DurableDirectory.open({ saveDir: join(dir, 'typo'), libraries: LIBRARIES }));
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toBe(`save directory ${join(dir, 'typo')} does not exist; create it (mode 0700)`);
  });

  it('refuses bad library lists', async () => {
    for (const libraries of [[], [{ name: 'a', weight: 0 }], [{ name: 'a', weight: 1 }, { name: 'a', weight: 1 }], [{ name: 'a b', weight: 1 }]]) {
      expect((await rejection(DurableDirectory.open({ saveDir: dir, libraries }))).code).toBe('INVALID_CONFIG');
    }
  });
});

describe('DurableDirectory reload and close', () => {
  it('sends new keys to a library added by reload until it catches up', async () => {
    const d = await openDirectory(LIBRARIES.slice(0, 2));
    await Promise.all(Array.from({ length: 100 }, (_, i) => d.resolveKey(`old${i}`)));
    d.setLibraries([...LIBRARIES.slice(0, 2), { name: 'mysqlda4', weight: 1 }]);
    const placed = await Promise.all(Array.from({ length: 40 }, (_, i) => d.resolveKey(`new${i}`)));
    expect(placed.every((p) => p.library === 'mysqlda4')).toBe(true);
  });

  it('refuses a reload that removes a library owning keys, and changes nothing', async () => {
    const d = await openDirectory();
    await Promise.all(Array.from({ length: 8 }, (_, i) => d.resolveKey(`k${i}`)));
    let err: unknown;
    try {
      d.setLibraries(LIBRARIES.slice(0, 2));
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'LIBRARY_IN_USE', message: "cannot remove libraries that still own keys: 'mysqlda3' (4 keys)" });
    expect(Object.keys(d.stats().perLibrary)).toEqual(['mysqlda1', 'mysqlda2', 'mysqlda3']);
  });

  it('finishes writes in flight on close and refuses calls afterwards', async () => {
    const d = await openDirectory();
    const pending = d.resolveKey('last');
    await d.close();
    expect((await pending).isNew).toBe(true);
    expect((await rejection(d.resolveKey('after'))).code).toBe('CLOSED');
    expect(await coreLines()).toHaveLength(1);
  });

  it('writes each record with a single append of one whole line', async () => {
    const d = await openDirectory();
    const spy = vi.spyOn(SaveFileWriter.prototype, 'append');
    await d.resolveKey('k');
    await d.bindCorrel('card', 'o', 'k');
    expect(spy.mock.calls.map(([line]) => line)).toEqual([
      expect.stringMatching(/^[^\n]+ k mysqlda\d\n$/),
      expect.stringMatching(/^[^\n]+ o k\n$/),
    ]);
  });
});
