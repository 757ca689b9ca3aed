import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { removeTree } from '../../tools/sandbox/tree.js';

const FIXTURE = path.resolve(import.meta.dirname, '../store/fixtures/directory-transfer');
const LIBRARIES = ['mysqlda1', 'mysqlda2', 'mysqlda3'];

let dir: string;
let server: MariadbServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-transfer-'));
  server = await MariadbServer.start({ baseDir: path.join(dir, 'servers'), name: 'directory', serverId: 1 });
});

afterAll(async () => {
  await server?.stop();
  if (dir) await removeTree(dir);
});

/** A config whose libraries are never contacted (import and export only talk to the directory). */
async function writeConfig(name: string, saveDir: string, database: string): Promise<string> {
  const configPath = path.join(dir, `${name}.conf`);
  const document = {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'calvin', pass: 'calvin', db: 'calvindb' },
    storage: { save_dir: saveDir, directory: { mysql: { servers: [{ ip: '127.0.0.1', port: server.port }], user: 'root', pass: '', db: database } } },
    forwards: LIBRARIES.map((instance, i) => ({ instance, forward: [{ ip: '127.0.0.1', port: 40000 + i }] })),
  };
  await writeFile(configPath, JSON.stringify(document, null, 2), { mode: 0o600 });
  return configPath;
}

async function mysqlda(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { cwd: dir, stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

async function copyFixture(name: string): Promise<string> {
  const saveDir = path.join(dir, name);
  await cp(FIXTURE, saveDir, { recursive: true });
  return saveDir;
}

async function tableSnapshot(database: string): Promise<unknown> {
  return {
    keys: await server.query(`SELECT core_key, library, assigned_at FROM ${database}.mysqlda_keys ORDER BY core_key`),
    aliases: await server.query(`SELECT correl_class, correl_object, core_key, bound_at FROM ${database}.mysqlda_correl_objects ORDER BY correl_class, correl_object`),
    counts: await server.query(`SELECT library, key_count FROM ${database}.mysqlda_library_counts ORDER BY library`),
    states: await server.query(`SELECT library, current_server, servers, left_by_failover, epoch, since FROM ${database}.mysqlda_library_state ORDER BY library`),
  };
}

describe('mysqlda -a directory-import / directory-export', () => {
  it('imports the save files and the state file, then exports them byte for byte (primary-key order)', async () => {
    const saveDir = await copyFixture('roundtrip');
    const configPath = await writeConfig('roundtrip', saveDir, 'roundtrip_dir');

    const imported = await mysqlda('-f', configPath, '-a', 'directory-import');
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/keys 6 read, 6 new, 0 already there; correl objects 4 read, 4 new, 0 already there; library states 2 new, 0 kept; 0 conflict\(s\), 0 problem\(s\)/);

    const counts = await server.query('SELECT library, key_count FROM roundtrip_dir.mysqlda_library_counts ORDER BY library');
    expect(counts).toEqual([
      { library: 'mysqlda1', key_count: 2 },
      { library: 'mysqlda2', key_count: 2 },
      { library: 'mysqlda3', key_count: 2 },
    ]);
    const [state] = await server.query("SELECT epoch, current_server FROM roundtrip_dir.mysqlda_library_state WHERE library = 'mysqlda1'");
    expect(state).toEqual({ epoch: 1, current_server: '127.0.0.1:3307' });

    const exportDir = path.join(dir, 'roundtrip-export');
    const exported = await mysqlda('-f', configPath, '-a', 'directory-export', '--to', exportDir);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/6 keys; correl objects card 2, phone 2; 2 library state\(s\); 4 file\(s\) written/);
    expect((await readdir(exportDir)).sort()).toEqual((await readdir(FIXTURE)).sort());
    for (const name of await readdir(FIXTURE)) {
      expect(await readFile(path.join(exportDir, name)), name).toEqual(await readFile(path.join(FIXTURE, name)));
    }
  });

  it('changes nothing when run twice: every record is already there, 0 new', async () => {
    const saveDir = await copyFixture('twice');
    const configPath = await writeConfig('twice', saveDir, 'twice_dir');
    expect((await mysqlda('-f', configPath, '-a', 'directory-import')).code).toBe(0);
    const before = await tableSnapshot('twice_dir');

    const again = await mysqlda('-f', configPath, '-a', 'directory-import');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/keys 6 read, 0 new, 6 already there; correl objects 4 read, 0 new, 4 already there; library states 0 new, 2 kept; 0 conflict/);
    expect(await tableSnapshot('twice_dir')).toEqual(before);
  });

  it('reports every conflicting line as file:line, imports the rest, and exits 1', async () => {
    const saveDir = await copyFixture('conflicts');
    const configPath = await writeConfig('conflicts', saveDir, 'conflicts_dir');
    expect((await mysqlda('-f', configPath, '-a', 'directory-import')).code).toBe(0);

    const other = path.join(dir, 'conflicts-other');
    await mkdir(other);
    await writeFile(
      path.join(other, 'mysqlda.save'),
      '2020-01-01 00:00:00 13812345678 mysqlda2\n' + // bound to mysqlda1 in the table
        '2020-01-01 00:00:00 fresh mysqlda1\n' +
        '2020-01-01 00:00:00 fresh mysqlda3\n' + // contradicts the line before
        'not a record\n' +
        '2020-01-01 00:00:00 elsewhere mysqlda9\n', // library not in the config
    );
    await writeFile(
      path.join(other, 'mysqlda.phone.save'),
      '2020-01-01 00:00:00 0571-88888888 fresh\n' + // bound to 330001 in the table
        '2020-01-01 00:00:00 0571-00000000 nobody\n' + // key without a library
        '2020-01-01 00:00:00 0571-11111111 fresh\n',
    );
    const result = await mysqlda('-f', configPath, '-a', 'directory-import', '--from', other);
    expect(result.code).toBe(1);
    const core = path.join(other, 'mysqlda.save');
    const phone = path.join(other, 'mysqlda.phone.save');
    expect(result.stderr).toContain(`${core}:1: key '13812345678' is bound to library 'mysqlda1' in the directory, not 'mysqlda2' as here: not imported`);
    expect(result.stderr).toContain(`${core}:3: key 'fresh' is assigned to library 'mysqlda3' here but to 'mysqlda1' at line 2: not imported`);
    expect(result.stderr).toContain(`${core}:4: expected 4 fields`);
    expect(result.stderr).toContain(`${core}:5: library 'mysqlda9' is not in the config`);
    expect(result.stderr).toContain(`${phone}:1: object '0571-88888888' is bound to key '330001' in the directory, not 'fresh' as here: not imported`);
    expect(result.stderr).toContain(`${phone}:2: key 'nobody' of object '0571-00000000' has no library in the directory: not imported`);
    expect(result.stdout).toMatch(/keys 4 read, 1 new, 0 already there; correl objects 3 read, 1 new, 0 already there; .* 4 conflict\(s\), 2 problem\(s\)/);

    const [fresh] = await server.query("SELECT library FROM conflicts_dir.mysqlda_keys WHERE core_key = 'fresh'");
    expect(fresh).toEqual({ library: 'mysqlda1' });
    const counts = await server.query('SELECT library, key_count FROM conflicts_dir.mysqlda_library_counts ORDER BY library');
    expect(counts).toEqual([
      { library: 'mysqlda1', key_count: 3 },
      { library: 'mysqlda2', key_count: 2 },
      { library: 'mysqlda3', key_count: 2 },
    ]);
  });

  it('refuses to overwrite non-empty save files without --force, and overwrites them with it', async () => {
    const saveDir = await copyFixture('overwrite');
    const configPath = await writeConfig('overwrite', saveDir, 'overwrite_dir');
    expect((await mysqlda('-f', configPath, '-a', 'directory-import')).code).toBe(0);
    await writeFile(path.join(saveDir, 'mysqlda.save'), '2020-01-01 00:00:00 only mysqlda1\n');

    const refused = await mysqlda('-f', configPath, '-a', 'directory-export');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already exist.*--force/);
    expect(await readFile(path.join(saveDir, 'mysqlda.save'), 'utf8')).toBe('2020-01-01 00:00:00 only mysqlda1\n');

    const forced = await mysqlda('-f', configPath, '-a', 'directory-export', '--force');
    expect(forced.code).toBe(0);
    expect(await readFile(path.join(saveDir, 'mysqlda.save'))).toEqual(await readFile(path.join(FIXTURE, 'mysqlda.save')));
    expect((await readdir(saveDir)).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('says what is missing: a config without storage.directory.mysql, a save directory that does not exist', async () => {
    const configPath = await writeConfig('missing', path.join(dir, 'nowhere'), 'missing_dir');
    const noSaveDir = await mysqlda('-f', configPath, '-a', 'directory-import');
    expect(noSaveDir.code).toBe(1);
    expect(noSaveDir.stderr).toContain(`cannot read the save directory ${path.join(dir, 'nowhere')}: no such directory`);

    const filesOnly = path.join(dir, 'files-only.conf');
    const document = JSON.parse(await readFile(configPath, 'utf8'));
    delete document.storage.directory;
    await writeFile(filesOnly, JSON.stringify(document), { mode: 0o600 });
    const noDirectory = await mysqlda('-f', filesOnly, '-a', 'directory-export');
    expect(noDirectory.code).toBe(1);
    expect(noDirectory.stderr).toContain('names no MySQL directory');
  });

  it('round-trips files written by mysqlda 0.0.7 as sets of records', async () => {
    const saveDir = path.join(dir, 'legacy');
    await cp(path.resolve(import.meta.dirname, '../store/fixtures/mysqlda-0.0.7'), saveDir, { recursive: true });
    const configPath = await writeConfig('legacy', saveDir, 'legacy_dir');
    const imported = await mysqlda('-f', configPath, '-a', 'directory-import');
    expect(imported.code).toBe(0);
    const exportDir = path.join(dir, 'legacy-export');
    expect((await mysqlda('-f', configPath, '-a', 'directory-export', '--to', exportDir)).code).toBe(0);
    for (const name of ['mysqlda.save', 'mysqlda.card.save', 'mysqlda.phone.save']) {
      const records = async (file: string) => new Set((await readFile(file, 'utf8')).split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/).join(' ')));
      expect(await records(path.join(exportDir, name)), name).toEqual(await records(path.join(saveDir, name)));
    }
  });
});
