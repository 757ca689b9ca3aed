/**
 * The package as a user receives it: `npm pack` of a clean copy of the sources (its `prepare` builds dist/), the
 * tarball installed with `npm install -g --prefix`, and the installed `mysqlda` command run from there: -v, init,
 * a detached start, status and stop. Needs the npm registry or npm's cache for the runtime dependencies.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findFreePort } from '../../tools/sandbox/ports.js';
import { PROJECT_ROOT } from '../cli/ensure-built.js';

const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function command(file: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout: 120_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The files git would hand to a fresh clone, plus new ones not yet committed: what `npm pack` sees there. */
async function copySources(to: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: PROJECT_ROOT, maxBuffer: 16 << 20 });
  for (const file of stdout.split('\0')) {
    if (file === '' || file === 'node_modules') continue;
    await cp(path.join(PROJECT_ROOT, file), path.join(to, file), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the work tree, not yet in the index
    });
  }
  // `prepare` compiles with the project's TypeScript.
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(to, 'node_modules'));
}

describe('npm pack, installed with npm install -g', { timeout: 180_000 }, () => {
  let dir: string;
  let prefix: string;
  let mysqlda: (args: string[]) => Promise<Result>;
  let tarballFiles: string[];
  const version = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-package-'));
    const sources = path.join(dir, 'sources');
    await copySources(sources);
    const packed = await command('npm', ['pack', '--json', '--pack-destination', dir], sources);
    if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    const [tarball] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarballFiles = tarball.files.map((file) => file.path).sort();

    prefix = path.join(dir, 'prefix');
    const installed = await command(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(dir, tarball.filename)],
      dir,
    );
    if (installed.code !== 0) throw new Error(`npm install -g failed:\n${installed.stderr}`);
    mysqlda = (args) => command(path.join(prefix, 'bin', 'mysqlda'), args, dir);
  }, 300_000);

  afterAll(async () => {
    if (mysqlda) await mysqlda(['-f', path.join(dir, 'etc', 'mysqlda.conf'), '-a', 'kill']);
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the command, the compiled proxy and the example config, and no sources, tests or tooling', () => {
    expect(tarballFiles).toContain('bin/mysqlda');
    expect(tarballFiles).toContain('dist/cli/main.js');
    expect(tarballFiles).toContain('dist/server.js');
    expect(tarballFiles).toContain('etc/mysqlda.conf');
    const outside = tarballFiles.filter((file) => !/^(bin\/|dist\/.*\.js$|etc\/|package\.json$|README\.md$)/.test(file));
    expect(outside).toEqual([]);
    expect(tarballFiles.filter((file) => /^dist\/(bench|sandbox)\//.test(file))).toEqual([]);
  });

  it('installs the runtime dependencies only', async () => {
    const modules = await readdir(path.join(prefix, 'lib', 'node_modules', 'mysqlda', 'node_modules'));
    // mysql2 is the shared directory's client (storage.directory.mysql).
    expect(modules).toEqual(expect.arrayContaining(['chokidar', 'mysql2', 'pino', 'prom-client', 'yargs']));
    for (const tooling of ['typescript', 'vitest', 'esbuild']) expect(modules).not.toContain(tooling);
  });

  it('runs -v', async () => {
    expect(await mysqlda(['-v'])).toEqual({ code: 0, stdout: `mysqlda v${version}\n`, stderr: '' });
  });

  it('writes a config with init, starts detached on it, reports status and stops', async () => {
    const etc = path.join(dir, 'etc');
    await mkdir(etc, { recursive: true });
    const configPath = path.join(etc, 'mysqlda.conf');
    expect((await mysqlda(['-f', configPath, '-a', 'init'])).code).toBe(0);
    // The written config's ports, moved to free ones; nothing listens on the backend port (the proxy starts anyway).
    const port = await findFreePort();
    const backendPort = await findFreePort();
    const config = (await readFile(configPath, 'utf8')).replace('"listen_port" : 13306', `"listen_port" : ${port}`).replace('"port" : 3306', `"port" : ${backendPort}`);
    expect(config).toContain(`"listen_port" : ${port}`);
    await writeFile(configPath, config, { mode: 0o600 });

    const started = await mysqlda(['-f', configPath, '-a', 'start']);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(new RegExp(`^mysqlda: started, pid \\d+, listening on 127\\.0\\.0\\.1:${port}, `, 'm'));
    await vi.waitFor(async () => expect(await mysqlda(['-f', configPath, '-a', 'status'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/worker +pid \d+, serving/) }), {
      timeout: 30_000,
      interval: 200,
    });
    const stopped = await mysqlda(['-f', configPath, '-a', 'stop']);
    expect(stopped).toMatchObject({ code: 0, stderr: '' });
    expect(stopped.stdout).toMatch(/mysqlda: stopped \(pid \d+\)\n$/);
    expect((await mysqlda(['-f', configPath, '-a', 'status'])).code).toBe(3);
  });
});
