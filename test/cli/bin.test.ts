/**
 * The installed command, end to end: `node bin/mysqlda`, which runs the compiled dist/.
 * dist/ is rebuilt first when it is missing or older than src/ (`npm test` builds before running vitest).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './ensure-built.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mysqlda');
const MYSQLDA_INIT_OUTPUT = path.join(ROOT, 'test', 'config', 'fixtures', 'mysqlda-init.conf');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function mysqlda(args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each case starts node once or more: generous timeouts for a loaded CI machine.
describe('bin/mysqlda', { timeout: 30_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    ensureBuilt();
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-bin-'));
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is executable', async () => {
    expect((await stat(BIN)).mode & 0o111).toBe(0o111);
  });

  it('-v prints the package version', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await mysqlda(['-v'], dir)).toEqual({ code: 0, stdout: `mysqlda v${version}\n`, stderr: '' });
  });

  it('init writes the byte-exact default config, refuses a second time, and overwrites with --force', async () => {
    const file = path.join(dir, 'etc', 'mysqlda.conf');
    const expected = await readFile(MYSQLDA_INIT_OUTPUT);

    const first = await mysqlda(['-f', 'etc/mysqlda.conf', '-a', 'init'], dir);
    expect(first.code).toBe(0);
    expect((await readFile(file)).equals(expected)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    await writeFile(file, '{"edited": true}');
    const second = await mysqlda(['-f', 'etc/mysqlda.conf', '-a', 'init'], dir);
    expect(second).toMatchObject({ code: 1, stderr: `mysqlda: ${file} already exists; use --force to overwrite it\n` });
    expect(await readFile(file, 'utf8')).toBe('{"edited": true}');

    const forced = await mysqlda(['-f', 'etc/mysqlda.conf', '-a', 'init', '--force'], dir);
    expect(forced.code).toBe(0);
    expect((await readFile(file)).equals(expected)).toBe(true);
  });

  it('start --no-daemon with an invalid config prints every problem and exits 1', async () => {
    const file = path.join(dir, 'bad.conf');
    await writeFile(
      file,
      JSON.stringify({
        server: { listen_ip: '127.0.0.1', listen_port: '3306x' },
        auth: { user: 'app', pass: 'Do-Not-Print-Me' },
        forwards: [{ instance: 'lib a', forward: [{ ip: '10.0.0.1', port: 70000 }] }],
      }),
    );
    const result = await mysqlda(['-f', file, '-a', 'start', '--no-daemon'], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `mysqlda: invalid configuration ${file}:\n` +
        '  server.listen_port: must be an integer 1..65535, got "3306x"\n' +
        "  forwards[0].instance: may hold only letters, digits, '_', '.' and '-' (it is written into save files), got \"lib a\"\n" +
        '  forwards[0].forward[0].port: must be an integer 1..65535, got 70000\n',
    );
  });

  it('without -a prints the usage and exits 7, as mysqlda did', async () => {
    const result = await mysqlda([], dir);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/^mysqlda: no action given \(-a init \| start \| .*\)\nUSAGE : mysqlda/);
  });

  it('status, stop, reload and kill exit 3 when nothing runs for the config', async () => {
    const file = path.join(dir, 'idle', 'mysqlda.conf');
    expect((await mysqlda(['-f', file, '-a', 'init'], dir)).code).toBe(0);
    const pidFile = path.join(dir, 'idle', 'mysqlda.pid');
    expect(await mysqlda(['-f', file, '-a', 'status'], dir)).toEqual({
      code: 3,
      stdout: `mysqlda: not running (no pid file ${pidFile})\n`,
      stderr: '',
    });
    for (const action of ['stop', 'reload', 'kill']) {
      expect(await mysqlda(['-f', file, '-a', action], dir)).toEqual({
        code: 3,
        stdout: '',
        stderr: `mysqlda: not running (no pid file ${pidFile})\n`,
      });
    }
  });

  it('a pid file naming a dead process is stale: status says so, stop removes it', async () => {
    const file = path.join(dir, 'stale', 'mysqlda.conf');
    expect((await mysqlda(['-f', file, '-a', 'init'], dir)).code).toBe(0);
    const pidFile = path.join(dir, 'stale', 'mysqlda.pid');
    await writeFile(pidFile, '999999999\n');
    const stale = `mysqlda: not running (the pid file ${pidFile} names pid 999999999, which is not a running mysqlda)\n`;
    expect(await mysqlda(['-f', file, '-a', 'status'], dir)).toEqual({ code: 3, stdout: stale, stderr: '' });
    expect(await mysqlda(['-f', file, '-a', 'stop'], dir)).toEqual({ code: 3, stdout: '', stderr: stale });
    await expect(stat(pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
