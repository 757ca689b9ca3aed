import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSaveFiles, SaveFileError } from '../../src/store/loader.js';

const FIXTURE = new URL('./fixtures/mysqlda-0.0.7/', import.meta.url).pathname;
const LIBRARIES = ['mysqlda1', 'mysqlda2', 'mysqlda3'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mysqlda-loader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function save(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function loadError(libraries = LIBRARIES): Promise<SaveFileError> {
  const err = await loadSaveFiles(dir, libraries).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SaveFileError);
  return err as SaveFileError;
}

describe('loadSaveFiles on files written by mysqlda 0.0.7', () => {
  it('loads keys, correl objects of every class, and the undated lines of older versions', async () => {
    await cp(FIXTURE, dir, { recursive: true });
    const { directory, warnings, stats } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.libraryOf('13812345678')).toBe('mysqlda1');
    expect(directory.libraryOf('330001')).toBe('mysqlda2');
    expect(directory.libraryOf('中文')).toBe('mysqlda3');
    expect(directory.libraryOf('1')).toBe('mysqlda2'); // undated line
    expect(directory.perLibrary()).toEqual({ mysqlda1: 3, mysqlda2: 2, mysqlda3: 2 });
    expect(directory.keyOfCorrel('card', '6222020000000002')).toBe('13812345678');
    expect(directory.keyOfCorrel('phone', '0571-88888888')).toBe('330001');
    expect(directory.keyOfCorrel('card', 'stale')).toBeUndefined(); // mysqlda.card.save.bak is not a class file
    expect(directory.correlClasses().sort()).toEqual(['card', 'phone']);
    expect(stats).toMatchObject({ keys: 7, correls: 3 });
    expect(warnings).toEqual([]);
  });
});

describe('loadSaveFiles', () => {
  it('starts empty, with a warning, when there is no mysqlda.save', async () => {
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.size()).toBe(0);
    expect(warnings).toEqual([`${join(dir, 'mysqlda.save')} does not exist: starting with no keys`]);
  });

  it('rejects a missing save directory', async () => {
    await expect(loadSaveFiles(join(dir, 'nope'), LIBRARIES)).rejects.toThrow(/ENOENT/);
  });

  it('keeps a complete torn last line and adds its newline', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:01 b mysqlda2');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.libraryOf('b')).toBe('mysqlda2');
    expect(warnings).toEqual([`${path}:2: the last line has no newline (interrupted write); it is complete and kept`]);
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:01 b mysqlda2\n');
  });

  it('cuts off an incomplete torn last line', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:01 b');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.libraryOf('b')).toBeUndefined();
    expect(warnings).toEqual([
      `${path}:2: the last line is incomplete (interrupted write) and is removed: ` +
        'expected 4 fields (date time key library), found 3',
    ]);
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 a mysqlda1\n');
  });

  it('cuts off a torn last line whose library name was cut short', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:01 b mysql');
    const { directory } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.libraryOf('b')).toBeUndefined();
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 a mysqlda1\n');
  });

  it('cuts off a torn last line that reads like an undated record but does not apply', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:0');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.size()).toBe(1);
    expect(warnings[0]).toMatch(/:2: the last line is incomplete .* does not apply/);
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 a mysqlda1\n');
  });

  it('repairs a torn correl file too', async () => {
    await save('mysqlda.save', '2017-09-03 12:00:00 k mysqlda1\n');
    const path = await save('mysqlda.card.save', '2017-09-03 12:00:00 o1 k\n2017-09-03 12:00:00 o2');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.correlCount('card')).toBe(1);
    expect(warnings).toEqual([
      `${path}:2: the last line is incomplete (interrupted write) and is removed: ` +
        'expected 4 fields (date time object key), found 3',
    ]);
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 o1 k\n');
  });

  it('accepts a key recorded twice for the same library, with a warning', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 k mysqlda1\n2017-09-04 12:00:00 k mysqlda1\n');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.keyCount('mysqlda1')).toBe(1);
    expect(warnings).toEqual([`${path}: 1 line(s) repeat an existing binding (harmless; first at line 2)`]);
  });

  it('collects every malformed line as file:line errors and changes no file', async () => {
    const text = [
      '2017-09-03 12:00:00 ok mysqlda1',
      `2017-09-03 12:00:00 ${'k'.repeat(65)} mysqlda1`,
      '2017-09-03 12:00:00 a\u0001b mysqlda1',
      '2017-09-03 12:00:00 three',
      '2017-02-30x 12:00:00 k mysqlda1',
      '2017-09-03 12:00:00 evil mysqlda1 extra',
      '2017-09-03 12:00:00 torn',
    ].join('\n');
    const path = await save('mysqlda.save', text);
    const err = await loadError();
    expect(err.problems).toEqual([
      `${path}:2: key is longer than 64 bytes`,
      `${path}:3: key contains a control character: "a\\u0001b"`,
      `${path}:4: expected 4 fields (date time key library), found 3`,
      `${path}:5: bad date "2017-02-30x"`,
      `${path}:6: expected 4 fields (date time key library), found 5`,
    ]);
    expect(err.message).toContain(`cannot load the save files in ${dir} (5 problems):\n  ${path}:2: key is longer`);
    expect(await readFile(path, 'utf8')).toBe(text); // the torn last line was not repaired either
  });

  it('reports a key assigned to two different libraries with both line numbers', async () => {
    const path = await save(
      'mysqlda.save',
      '2017-09-03 12:00:00 x mysqlda3\n2017-09-03 12:00:00 k mysqlda1\n2017-09-03 12:00:00 k mysqlda2\n',
    );
    expect((await loadError()).problems).toEqual([
      `${path}:3: key 'k' is assigned to library 'mysqlda2' here but to 'mysqlda1' at line 2`,
    ]);
  });

  it('reports a library that is not in the config once, with how many keys it has', async () => {
    const path = await save(
      'mysqlda.save',
      '2017-09-03 12:00:00 a mysqlda1\n2017-09-03 12:00:00 b gone\n2017-09-03 12:00:00 c gone\n',
    );
    expect((await loadError()).problems).toEqual([
      `${path}:2: library 'gone' is not in the config (configured: mysqlda1, mysqlda2, mysqlda3); ` +
        '2 line(s) of this file assign keys to it',
    ]);
  });

  it('reports correl lines whose key has no library and objects bound to two keys', async () => {
    await save('mysqlda.save', '2017-09-03 12:00:00 k1 mysqlda1\n2017-09-03 12:00:00 k2 mysqlda2\n');
    const path = await save(
      'mysqlda.card.save',
      [
        '2017-09-03 12:00:00 o1 k1',
        '2017-09-03 12:00:00 o2 ghost',
        '2017-09-03 12:00:00 o1 k1',
        '2017-09-03 12:00:00 o1 k2',
        '',
      ].join('\n'),
    );
    expect((await loadError()).problems).toEqual([
      `${path}:2: key 'ghost' of object 'o2' has no library in mysqlda.save`,
      `${path}:4: object 'o1' is bound to key 'k2' here but to key 'k1' at line 1`,
    ]);
  });

  it('ignores files that are not save files and warns about over-long class names', async () => {
    await save('mysqlda.save', '2017-09-03 12:00:00 k mysqlda1\n');
    await save('mysqlda.card.save.bak', 'garbage\n');
    await save('mysqlda.a.b.save', 'garbage\n');
    await save('notes.txt', 'garbage\n');
    const long = `mysqlda.${'c'.repeat(65)}.save`;
    await save(long, 'garbage\n');
    const { warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(warnings).toEqual([`${join(dir, long)}: ignored, class is longer than 64 bytes`]);
  });

  it('tolerates blank lines and CRLF endings', async () => {
    const path = await save('mysqlda.save', '2017-09-03 12:00:00 a mysqlda1\r\n\n   \n2017-09-03 12:00:00 b mysqlda2\r\n');
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.size()).toBe(2);
    expect(warnings).toEqual([`${path}: 2 blank line(s) ignored`]);
  });

  it('lists at most 50 problems in the message but keeps them all', async () => {
    await save('mysqlda.save', 'bad\n'.repeat(60));
    const err = await loadError();
    expect(err.problems).toHaveLength(60);
    expect(err.message).toMatch(/\(60 problems\)[\s\S]*… and 10 more$/);
  });
});

describe('loadSaveFiles on files larger than one read', () => {
  /** Lines of varied length, so records straddle the 1 MB read buffer at varied places. */
  function coreLines(count: number): string {
    let text = '';
    for (let i = 0; i < count; i++) text += `2026-01-01 00:00:00 key-${i}-${'z'.repeat(i % 37)} mysqlda${(i % 3) + 1}\n`;
    return text;
  }

  it('loads every key of a multi-megabyte mysqlda.save, and its aliases', async () => {
    const count = 60_000; // about 3.5 MB
    await save('mysqlda.save', coreLines(count));
    let correl = '';
    for (let i = 0; i < count; i += 3) correl += `2026-01-01 00:00:00 account-${i} key-${i}-${'z'.repeat(i % 37)}\n`;
    await save('mysqlda.account.save', correl);
    const { directory, warnings, stats } = await loadSaveFiles(dir, LIBRARIES);
    expect(warnings).toEqual([]);
    expect(stats).toMatchObject({ keys: count, correls: count / 3 });
    for (let i = 0; i < count; i += 997) {
      expect(directory.libraryOf(`key-${i}-${'z'.repeat(i % 37)}`)).toBe(`mysqlda${(i % 3) + 1}`);
    }
    expect(directory.keyOfCorrel('account', 'account-59997')).toBe(`key-59997-${'z'.repeat(59997 % 37)}`);
    expect(directory.perLibrary()).toEqual({ mysqlda1: count / 3, mysqlda2: count / 3, mysqlda3: count / 3 });
  });

  it('cuts a torn last line at its offset in the file, far past the first read', async () => {
    const whole = coreLines(40_000);
    const path = await save('mysqlda.save', `${whole}2026-01-01 00:00:00 torn`);
    const { directory, warnings } = await loadSaveFiles(dir, LIBRARIES);
    expect(directory.size()).toBe(40_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/:40001: the last line is incomplete/);
    expect(await readFile(path, 'utf8')).toBe(whole);
  });

  it('names the first line of a key assigned twice, however far apart the lines are', async () => {
    await save('mysqlda.save', `2026-01-01 00:00:00 twice mysqlda1\n${coreLines(30_000)}2026-01-01 00:00:00 twice mysqlda2\n`);
    const err = await loadError();
    expect(err.problems).toEqual([
      `${join(dir, 'mysqlda.save')}:30002: key 'twice' is assigned to library 'mysqlda2' here but to 'mysqlda1' at line 1`,
    ]);
  });
});

describe('loadSaveFiles on a save file that is not a file', () => {
  it('reports a directory named mysqlda.save as unreadable, naming the system error', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'mysqlda.save'));
    const err = await loadError();
    expect(err.problems).toEqual([expect.stringMatching(/mysqlda\.save: cannot read: EISDIR/)]);
  });
});
