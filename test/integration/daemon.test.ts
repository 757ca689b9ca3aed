/**
 * mysqlda as a daemon, driven through its command line as an operator would: start (detached), status, reload,
 * stop, kill, restart; the pid file and control socket; the supervisor replacing a killed worker; a crash loop
 * stopping the daemon; log rotation; and the single executable. Real MariaDB servers behind it.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import mysql from 'mysql2/promise';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { isProcessAlive, waitForExit } from '../../src/supervisor/process-table.js';
import { ensureBuilt, PROJECT_ROOT } from '../cli/ensure-built.js';
import { connectClient, exited, writeProxyConfig } from '../support/proxy-harness.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'mysqlda');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, as a shell would. */
function run(file: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let sandbox: Sandbox;
/** Supervisors started by the tests, killed after each test whatever happened. */
const started = new Set<number>();

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-daemon-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 });
});

afterEach(async () => {
  for (const pid of started) {
    for (const child of await childrenOf(pid)) killQuietly(child);
    killQuietly(pid);
  }
  started.clear();
});

afterAll(async () => {
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A mysqlda setup of its own: config (mode 0600), save files, pid file and log beside it. */
async function setUp(name: string, program: string[] = [process.execPath, BIN]) {
  const etc = path.join(dir, name, 'etc');
  const { configPath, port } = await writeProxyConfig(sandbox, etc);
  const mysqlda = async (...args: string[]) => run(program[0], [...program.slice(1), '-f', configPath, ...args], dir);
  return {
    etc,
    configPath,
    port,
    pidFile: path.join(etc, 'mysqlda.pid'),
    logFile: path.join(etc, 'log', 'mysqlda.log'),
    mysqlda,
    /** `-a start`, expected to succeed: the supervisor's pid. */
    async start(): Promise<number> {
      const result = await mysqlda('-a', 'start');
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const pid = Number(/^mysqlda: started, pid (\d+), listening on 127\.0\.0\.1:(\d+), log file (.+)$/m.exec(result.stdout)?.[1]);
      expect(pid).toBeGreaterThan(0);
      started.add(pid);
      return pid;
    },
    /** The worker's pid, read from `-a status` once a worker serves. */
    async servingWorker(): Promise<number> {
      let worker = 0;
      await vi.waitFor(
        async () => {
          const status = await mysqlda('-a', 'status');
          expect(status.code).toBe(0);
          worker = Number(/^ {2}worker +pid (\d+), serving/m.exec(status.stdout)?.[1]);
          expect(worker).toBeGreaterThan(0);
        },
        { timeout: 30_000, interval: 100 },
      );
      return worker;
    },
  };
}

/** `-a stop` succeeded; on a busy machine it may first have said what it waits for. */
function expectStopped(result: Result, pid: number): void {
  expect(result).toMatchObject({ code: 0, stderr: '' });
  expect(result.stdout).toMatch(new RegExp(`^(mysqlda: waiting for pid ${pid} to drain and close its sessions \\(up to \\d+ s\\)\\n)?mysqlda: stopped \\(pid ${pid}\\)\\n$`));
}

async function childrenOf(pid: number): Promise<number[]> {
  const { childPids } = await import('../../src/supervisor/process-table.js');
  return childPids(pid);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, ... */
async function procStat(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

async function assignKeys(port: number, keys: string[]): Promise<Map<string, string>> {
  const libraries = new Map<string, string>();
  const client = await connectClient(port);
  try {
    for (const key of keys) {
      await client.query(`select library ${key}`);
      const [rows] = await client.query('show library');
      libraries.set(key, (rows as { library: string }[])[0].library);
    }
  } finally {
    await client.end();
  }
  return libraries;
}

describe('mysqlda -a start (daemon mode)', () => {
  it('detaches a supervisor and a worker; status, reload and stop reach it through the pid file', async () => {
    const m = await setUp('lifecycle');
    const supervisor = await m.start();

    // A proper daemon: the pid file names it; its own session; no terminal; umask 027; same directory.
    expect(await readFile(m.pidFile, 'utf8')).toBe(`${supervisor}\n`);
    const [, , , session] = await procStat(supervisor);
    expect(Number(session)).toBe(supervisor);
    for (const fd of [0, 1, 2]) expect(await readlink(`/proc/${supervisor}/fd/${fd}`)).toBe('/dev/null');
    expect(await readFile(`/proc/${supervisor}/status`, 'utf8')).toMatch(/^Umask:\s+0027$/m);
    expect(await readlink(`/proc/${supervisor}/cwd`)).toBe(dir);
    expect((await stat(path.join(m.etc, 'mysqlda.ctl'))).mode & 0o777).toBe(0o600);
    expect((await stat(m.logFile)).mode & 0o777).toBe(0o640);

    const worker = await m.servingWorker();
    expect((await procStat(worker))[1]).toBe(String(supervisor));
    const keys = await assignKeys(m.port, ['alice', 'bob', 'carol']);
    const client = await connectClient(m.port);
    await client.query('select library dave');

    const status = await m.mysqlda('-a', 'status');
    expect(status).toMatchObject({ code: 0, stderr: '' });
    const version = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
    expect(status.stdout).toContain(`mysqlda v${version} is running (daemon)\n`);
    expect(status.stdout).toMatch(new RegExp(`^  supervisor +pid ${supervisor}, up \\d+s$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^  worker +pid ${worker}, serving, up \\d+s, 0 restarts$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^  listening +127\\.0\\.0\\.1:${m.port}$`, 'm'));
    expect(status.stdout).toMatch(/^ {2}sessions +1 open, 1 routed to a library$/m);
    const assigned = [...keys.values(), 'dave'].length;
    const perLibrary = [...status.stdout.matchAll(/^ {4}(mysqlda\d) +1 +(\d+) /gm)].map((match) => [match[1], Number(match[2])]);
    expect(perLibrary.map(([name]) => name)).toEqual(['mysqlda1', 'mysqlda2']);
    expect(perLibrary.reduce((sum, [, count]) => sum + Number(count), 0)).toBe(assigned);
    for (const library of sandbox.libraries) expect(status.stdout).toContain(`127.0.0.1:${library.master.port}`);

    const second = await m.mysqlda('-a', 'start');
    expect(second).toEqual({ code: 1, stdout: '', stderr: `mysqlda: already running (pid ${supervisor}, pid file ${m.pidFile})\n` });

    // The daemon's own answer, whatever it is, printed with the exit status that goes with it.
    const reload = await m.mysqlda('-a', 'reload');
    expect(reload.stdout + reload.stderr).toMatch(/^mysqlda: reload (applied|rejected): \S/);
    expect(reload.code).toBe(reload.stdout.startsWith('mysqlda: reload applied') ? 0 : 1);

    // SIGUSR1 (mysqlda's reload signal) reloads too, and the result is logged.
    process.kill(supervisor, 'SIGUSR1');
    await vi.waitFor(async () => expect(await readFile(m.logFile, 'utf8')).toMatch(/"msg":"SIGUSR1: reload (applied|rejected): /), {
      timeout: 20_000,
      interval: 50,
    });

    // The client is idle: the stop tells it why its connection ends (an unsolicited ERR 1053), as MySQL does.
    const told = once(client, 'error');
    const stop = await m.mysqlda('-a', 'stop');
    expectStopped(stop, supervisor);
    expect(isProcessAlive(supervisor) || isProcessAlive(worker)).toBe(false);
    await expect(stat(m.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(m.etc, 'mysqlda.ctl'))).rejects.toMatchObject({ code: 'ENOENT' });
    // mysql2 gives an ERR no command asked for its number as `code`, without errno or sqlState.
    expect((await told)[0]).toMatchObject({ code: 1053, fatal: true, message: 'Server shutdown in progress' });
    client.destroy();
    expect(await m.mysqlda('-a', 'status')).toMatchObject({ code: 3, stdout: `mysqlda: not running (no pid file ${m.pidFile})\n` });
    expect(await readFile(m.logFile, 'utf8')).toContain('"role":"supervisor","msg":"mysqlda stopped"');
  });

  it('refuses to start on a config error: exit 1, every problem on stderr, nothing left behind', async () => {
    const m = await setUp('bad-config');
    await writeFile(m.configPath, '{ "server": { "listen_port": 70000 }, "forwards": [] }\n', { mode: 0o600 });
    const result = await m.mysqlda('-a', 'start');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `mysqlda: invalid configuration ${m.configPath}:\n` +
        '  server.listen_port: must be an integer 1..65535, got 70000\n' +
        '  auth.user: required (a string)\n' +
        '  forwards: must not be empty (an array of libraries)\n',
    });
    await expect(stat(m.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to start when the port is taken, before it detaches', async () => {
    const m = await setUp('port-taken');
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(m.port, '127.0.0.1', resolve));
    try {
      expect(await m.mysqlda('-a', 'start')).toEqual({
        code: 1,
        stdout: '',
        stderr: `mysqlda: cannot start: cannot listen on 127.0.0.1:${m.port}: the address is already in use\n`,
      });
    } finally {
      squatter.close();
    }
    await expect(stat(m.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("reports the worker's own start failure (a save file it cannot read) and exits 1", async () => {
    const m = await setUp('bad-save');
    await mkdir(path.join(m.etc, 'mysqlda.save'));
    const result = await m.mysqlda('-a', 'start');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mysqlda: cannot start: cannot load the save files in .*\n {2}.*mysqlda\.save: cannot read: EISDIR/);
    await vi.waitFor(async () => expect(await stat(m.pidFile).catch(() => null)).toBeNull(), { timeout: 10_000 });
  });

  it('replaces a worker killed with SIGKILL; the new one serves every acknowledged assignment', async () => {
    const m = await setUp('worker-crash');
    const supervisor = await m.start();
    const worker = await m.servingWorker();
    const keys = await assignKeys(m.port, Array.from({ length: 40 }, (_, i) => `crash-key-${i}`));

    process.kill(worker, 'SIGKILL');
    await waitForExit(worker, 10_000);
    const replacement = await m.servingWorker();
    expect(replacement).not.toBe(worker);
    expect(isProcessAlive(supervisor)).toBe(true);

    const status = await m.mysqlda('-a', 'status');
    expect(status.stdout).toMatch(new RegExp(`worker +pid ${replacement}, serving, .*1 restart \\(last exit: was killed by SIGKILL\\)`));
    expect(await assignKeys(m.port, [...keys.keys()])).toEqual(keys);
    expect(await readFile(m.logFile, 'utf8')).toContain(`"msg":"worker pid ${worker} was killed by SIGKILL; restarting it in 100 ms"`);

    expect((await m.mysqlda('-a', 'stop')).code).toBe(0);
  });

  it('stops with an error after a crash loop instead of restarting for ever', async () => {
    const m = await setUp('crash-loop');
    const supervisor = await m.start();
    const worker = await m.servingWorker();
    // Every restart now fails: the config the worker reads at start has become invalid.
    await writeFile(m.configPath, '{ "server": {\n', { mode: 0o600 });
    process.kill(worker, 'SIGKILL');

    // Five failed starts: a few seconds, but allow for a loaded machine (each start loads the program).
    expect(await waitForExit(supervisor, 100_000)).toBe(true);
    const log = await readFile(m.logFile, 'utf8');
    expect(log).toMatch(/"msg":"crash loop: the worker died 5 times within 60 s \(last: pid \d+ exited with status 1: cannot start: invalid configuration/);
    expect(log.match(/restarting it in (\d+) ms/g)).toEqual([100, 200, 400, 800].map((ms) => `restarting it in ${ms} ms`));
    await expect(stat(m.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 150_000);

  it('SIGHUP reopens the log file after logrotate moved it', async () => {
    const m = await setUp('logrotate');
    const supervisor = await m.start();
    await m.servingWorker();
    await rename(m.logFile, `${m.logFile}.1`);
    process.kill(supervisor, 'SIGHUP');
    await vi.waitFor(async () => expect(await readFile(m.logFile, 'utf8')).toContain('"msg":"SIGHUP: log file reopened"'), {
      timeout: 10_000,
      interval: 50,
    });
    expect((await stat(m.logFile)).mode & 0o777).toBe(0o640);
    expect((await m.mysqlda('-a', 'stop')).code).toBe(0);
    expect(await readFile(m.logFile, 'utf8')).toContain('"role":"worker","msg":"proxy closed: sessions ended, save files closed"');
  });

  it('kill stops supervisor and worker at once; restart starts a new daemon', async () => {
    const m = await setUp('kill');
    const supervisor = await m.start();
    const worker = await m.servingWorker();
    const killed = await m.mysqlda('-a', 'kill');
    expect(killed).toEqual({ code: 0, stdout: `mysqlda: killed pid ${supervisor} (supervisor) and ${worker} (worker)\n`, stderr: '' });
    expect(isProcessAlive(supervisor) || isProcessAlive(worker)).toBe(false);
    await expect(stat(m.pidFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const first = await m.mysqlda('-a', 'restart');
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(`mysqlda: not running (no pid file ${m.pidFile})\n`);
    const restartedPid = Number(await readFile(m.pidFile, 'utf8'));
    started.add(restartedPid);
    const again = await m.mysqlda('-a', 'restart');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^(mysqlda: waiting .*\\n)?mysqlda: stopped \\(pid ${restartedPid}\\)\\nmysqlda: started, pid \\d+`));
    started.add(Number(await readFile(m.pidFile, 'utf8')));
    expect((await m.mysqlda('-a', 'stop')).code).toBe(0);
  });
});

describe('stopping a daemon that is serving', () => {
  it('-a stop drains: a statement in flight when it is given completes with its row before the daemon exits', async () => {
    const m = await setUp('drain');
    const supervisor = await m.start();
    await m.servingWorker();
    const client = await connectClient(m.port);
    client.on('error', () => {}); // the ERR 1053 that ends the session once its answer is through
    await client.query('select library drain-on-stop');
    const running = client.query('select sleep(2) as slept');
    const servers = await Promise.all(
      sandbox.libraries.map((library) =>
        mysql.createConnection({ host: library.master.host, port: library.master.port, user: sandbox.user, password: sandbox.password }),
      ),
    );
    await vi.waitFor(
      async () => {
        let n = 0;
        for (const server of servers) {
          const [rows] = await server.query("select count(*) as n from information_schema.processlist where info = 'select sleep(2) as slept'");
          n += Number((rows as { n: number }[])[0].n);
        }
        expect(n).toBe(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    const stop = m.mysqlda('-a', 'stop');
    const [rows] = await running;
    expect(rows).toEqual([{ slept: 0 }]);
    expectStopped(await stop, supervisor);
    await Promise.all(servers.map((server) => server.end()));
  });
});

describe('mysqlda -a start --no-daemon', () => {
  it('serves status, reload and stop through the same pid file and control socket', async () => {
    const m = await setUp('foreground');
    const child = spawn(process.execPath, [BIN, '-f', m.configPath, '-a', 'start', '--no-daemon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    try {
      await vi.waitFor(async () => expect((await m.mysqlda('-a', 'status')).code).toBe(0), { timeout: 30_000, interval: 100 });
      const status = await m.mysqlda('-a', 'status');
      expect(status.stdout).toContain('is running (foreground, --no-daemon)\n');
      expect(status.stdout).toMatch(new RegExp(`^  pid +${child.pid}, up \\d+s$`, 'm'));
      expect(status.stdout).toMatch(/^ {2}log file +stdout$/m);
      const reload = await m.mysqlda('-a', 'reload');
      expect(reload.stdout + reload.stderr).toMatch(/^mysqlda: reload (applied|rejected): /);
      expectStopped(await m.mysqlda('-a', 'stop'), child.pid!);
      await exited(child);
      expect(child.exitCode).toBe(0);
      expect(stdout).toContain('"msg":"SIGTERM received: stopping"');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('the single executable', () => {
  let binary: string;
  beforeAll(async () => {
    binary = path.join(dir, 'bin', `mysqlda-${process.platform}-${process.arch}`);
    const build = await run(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'build-binary.mjs'), '--output', binary], PROJECT_ROOT);
    if (build.code !== 0) throw new Error(`scripts/build-binary.mjs failed:\n${build.stdout}${build.stderr}`);
  }, 240_000);

  it('runs -v and a start/status/stop round trip without node_modules', async () => {
    const version = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
    expect(await run(binary, ['-v'], os.tmpdir())).toEqual({ code: 0, stdout: `mysqlda v${version}\n`, stderr: '' });

    const m = await setUp('single-executable', [binary]);
    const supervisor = await m.start();
    expect(await readlink(`/proc/${supervisor}/exe`)).toBe(binary);
    await m.servingWorker();
    expect(await assignKeys(m.port, ['binary-key'])).toHaveProperty('size', 1);
    expectStopped(await m.mysqlda('-a', 'stop'), supervisor);
  });
});
