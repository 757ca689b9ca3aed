/**
 * The installed command, end to end: `node bin/mysqlda`, which runs the compiled dist/.
 * dist/ is rebuilt first when it is missing or older than src/ (`npm test` builds before running vitest).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mysqlda');
const MYSQLDA_INIT_OUTPUT = path.join(ROOT, 'test', 'config', 'fixtures', 'mysqlda-init.conf');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function ensureBuilt(): void {
  const entry = path.join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(path.join(ROOT, 'src'))) return;
  // Type errors elsewhere in the tree do not stop tsc from emitting; what matters here is that main.js exists.
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  if (!existsSync(entry)) throw new Error('npm run build did not produce dist/cli/main.js');
}

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

describe('bin/mysqlda', () => {
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
    expect(result.stderr).toMatch(/^mysqlda: no action given \(-a init \| start\)\nUSAGE : mysqlda/);
  });

  it('start without --no-daemon, and the other actions, exit 2 for now', async () => {
    expect(await mysqlda(['-a', 'start'], dir)).toMatchObject({
      code: 2,
      stderr: 'mysqlda: daemon mode is not implemented yet; use --no-daemon\n',
    });
    expect(await mysqlda(['-a', 'status'], dir)).toMatchObject({ code: 2 });
  });
});
