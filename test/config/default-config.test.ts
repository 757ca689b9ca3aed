import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileExistsError, DEFAULT_CONFIG_TEXT, writeDefaultConfig } from '../../src/config/default-config.js';
import { parseConfigTextWithWarnings } from '../../src/config/load.js';

const MYSQLDA_INIT_OUTPUT = path.join(import.meta.dirname, 'fixtures', 'mysqlda-init.conf');

describe('DEFAULT_CONFIG_TEXT', () => {
  it('is byte for byte what mysqlda -a init wrote', async () => {
    const expected = await readFile(MYSQLDA_INIT_OUTPUT);
    expect(Buffer.from(DEFAULT_CONFIG_TEXT, 'utf8').equals(expected)).toBe(true);
    expect(expected.length).toBe(356);
  });

  it('is a valid configuration without warnings', () => {
    expect(parseConfigTextWithWarnings(DEFAULT_CONFIG_TEXT, '/x/mysqlda.conf').warnings).toEqual([]);
  });
});

describe('writeDefaultConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-init-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing parent directories and a 0600 file', async () => {
    const file = path.join(dir, 'home', 'etc', 'mysqlda.conf');
    expect(await writeDefaultConfig(file)).toBe(file);
    expect(await readFile(file, 'utf8')).toBe(DEFAULT_CONFIG_TEXT);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses to overwrite an existing file and leaves it untouched', async () => {
    const file = path.join(dir, 'mysqlda.conf');
    await writeFile(file, 'mine');
    await expect(writeDefaultConfig(file)).rejects.toBeInstanceOf(ConfigFileExistsError);
    await expect(writeDefaultConfig(file)).rejects.toThrow(`${file} already exists; refusing to overwrite it`);
    expect(await readFile(file, 'utf8')).toBe('mine');
  });

  it('overwrites with force, and resets the mode to 0600', async () => {
    const file = path.join(dir, 'mysqlda.conf');
    await writeFile(file, 'old content', { mode: 0o644 });
    await writeDefaultConfig(file, { force: true });
    expect(await readFile(file, 'utf8')).toBe(DEFAULT_CONFIG_TEXT);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('resolves a relative path against the current directory', async () => {
    const relative = path.relative(process.cwd(), path.join(dir, 'rel.conf'));
    expect(await writeDefaultConfig(relative)).toBe(path.join(dir, 'rel.conf'));
  });
});
