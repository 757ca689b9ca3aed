/**
 * server.workers: 2 as an operator runs it: a daemon whose supervisor is the primary of two worker processes
 * sharing the listening port, in front of real MariaDB servers, with the save files. Clients race over
 * overlapping keys through both workers; one worker is killed with SIGKILL and restarted while the other's
 * clients carry on; `-a status`, /metrics and the admin statements speak for the whole group.
 */
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { requestControl } from '../../src/supervisor/control-socket.js';
import type { DaemonStatus } from '../../src/supervisor/control-protocol.js';
import { childPids } from '../../src/supervisor/process-table.js';
import { ensureBuilt, PROJECT_ROOT } from '../cli/ensure-built.js';
import { connectClient, writeProxyConfig } from '../support/proxy-harness.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'mysqlda');
const KEYS = 2_000;
const CLIENTS_PER_WORKER = 16;

let dir: string;
let sandbox: Sandbox;
let supervisorPid = 0;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-workers-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 });
});

afterAll(async () => {
  if (supervisorPid > 0) {
    for (const pid of [...childPids(supervisorPid), supervisorPid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The worker a client is on: the group numbers connections slot + k·size from 1 (size 2 here). */
const slotOf = (connection: mysql.Connection) => (connection.threadId! - 1) % 2;

describe('server.workers: 2 with the save files', () => {
  it('serves one port from two workers: unique assignments, a killed worker restarted, the group reported whole', async () => {
    const etc = path.join(dir, 'etc');
    const { configPath, port } = await writeProxyConfig(sandbox, etc, {
      server: { workers: 2 },
      admin: { http: '127.0.0.1:0' },
      users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
    });
    const mysqlda = (...args: string[]) => run(['-f', configPath, ...args]);
    const control = async (): Promise<DaemonStatus> => {
      const response = await requestControl(path.join(etc, 'mysqlda.ctl'), { command: 'status' }, 10_000);
      if (!response.ok || !('status' in response)) throw new Error(JSON.stringify(response));
      return response.status;
    };

    const started = await mysqlda('-a', 'start');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    supervisorPid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    await vi.waitFor(async () => expect((await control()).workers?.map((worker) => worker.phase)).toEqual(['serving', 'serving']), {
      timeout: 30_000,
      interval: 100,
    });

    // Clients of both workers race over the same keys: each key is first seen by several of them at once.
    const libraryOfPort = new Map(sandbox.libraries.map((library) => [library.master.port, library.name]));
    const clients: mysql.Connection[] = [];
    while (new Set(clients.map(slotOf)).size < 2 || clients.length < 2 * CLIENTS_PER_WORKER) clients.push(await connectClient(port));
    const answers = new Map<string, Set<string>>();
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < KEYS; i++) {
          if ((i + c) % 4 !== 0) continue; // 8 clients per key, from both workers
          const key = `k${i}`;
          await client.query(`select library ${key}`);
          const [rows] = await client.query('select @@port as port');
          const library = libraryOfPort.get((rows as { port: number }[])[0].port)!;
          if (!answers.has(key)) answers.set(key, new Set());
          answers.get(key)!.add(library);
        }
      }),
    );
    expect(answers.size).toBe(KEYS);
    expect([...answers.values()].filter((libraries) => libraries.size !== 1)).toEqual([]);
    const saved = (await readFile(path.join(etc, 'mysqlda.save'), 'utf8')).split('\n').filter((line) => line !== '');
    // `<date> <time> <key> <library>`
    const records = saved.map((line) => line.split(' ').slice(-2) as [string, string]);
    const savedKeys = records.map(([key]) => key);
    expect(savedKeys.length).toBe(KEYS);
    expect(new Set(savedKeys).size).toBe(KEYS);
    for (const [key, library] of records) expect([...answers.get(key)!][0]).toBe(library);

    // The admin statements and the admin HTTP listener speak for both workers.
    const ops = await connectClient(port, { user: 'ops', password: 'ops-pw' });
    const [sessions] = await ops.query('show sessions');
    expect((sessions as unknown[]).length).toBeGreaterThanOrEqual(clients.length + 1);
    const [libraries] = await ops.query('show libraries');
    expect((libraries as { keys: number }[]).reduce((total, row) => total + Number(row.keys), 0)).toBe(KEYS);
    await ops.end();
    const status = await control();
    const admin = status.proxy?.admin;
    expect(admin).toMatch(/^127\.0\.0\.1:\d+$/);
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    expect(metrics).toMatch(/^mysqlda_workers 2$/m);
    const connections = Number(/^mysqlda_client_connections (\d+)$/m.exec(metrics)?.[1]);
    expect(connections).toBe(clients.length);
    expect(status.proxy?.sessions.open).toBe(clients.length);
    const printed = await mysqlda('-a', 'status');
    expect(printed.stdout).toMatch(/^ {2}workers +2 of 2 serving$/m);
    expect(printed.stdout).toMatch(/^ {4}#0 +pid \d+, serving/m);
    expect(printed.stdout).toMatch(/^ {4}#1 +pid \d+, serving/m);

    // KILL of a session of the other worker, from a routed session: carried out by that worker, not sent to the
    // killer's server as a thread id there.
    const pair: mysql.Connection[] = [];
    while (new Set(pair.map(slotOf)).size < 2) pair.push(await connectClient(port));
    const victimSession = pair.find((connection) => slotOf(connection) === 0)!;
    const killer = pair.find((connection) => slotOf(connection) === 1)!;
    victimSession.on('error', () => undefined);
    for (const connection of [victimSession, killer]) await connection.query('select library k1');
    await killer.query(`KILL ${victimSession.threadId}`);
    await expect(victimSession.query('select 1')).rejects.toThrow();
    const [[alive]] = (await killer.query('select 1 as one')) as unknown as [{ one: number }[]];
    expect(alive.one).toBe(1);
    await Promise.all(pair.filter((connection) => connection !== victimSession).map((connection) => connection.end()));
    victimSession.destroy();

    // SIGKILL worker 0: the clients of worker 1 keep their sessions, worker 0 is restarted and serves new ones.
    const victim = status.workers!.find((worker) => worker.slot === 0)!.pid!;
    process.kill(victim, 'SIGKILL');
    const survivors = clients.filter((client) => slotOf(client) === 1);
    expect(survivors.length).toBeGreaterThan(0);
    for (const client of survivors) {
      const [rows] = await client.query('select @@port as port');
      expect(libraryOfPort.has((rows as { port: number }[])[0].port)).toBe(true);
    }
    await vi.waitFor(
      async () => {
        const after = await control();
        expect(after.workers?.map((worker) => [worker.phase, worker.restarts])).toEqual([
          ['serving', 1],
          ['serving', 0],
        ]);
        expect(after.workers?.[0].pid).not.toBe(victim);
      },
      { timeout: 30_000, interval: 100 },
    );
    const fresh: mysql.Connection[] = [];
    while (new Set(fresh.map(slotOf)).size < 2) fresh.push(await connectClient(port));
    for (const client of fresh) {
      await client.query('select library k7');
      const [rows] = await client.query('select @@port as port');
      expect(libraryOfPort.get((rows as { port: number }[])[0].port)).toBe([...answers.get('k7')!][0]);
    }
    const restarted = await (await fetch(`http://${admin}/metrics`)).text();
    expect(restarted).toMatch(/^mysqlda_worker_restarts 1$/m);

    // A change of the file reaches every worker (the primary watches it; -a reload would do the same).
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    await writeFile(configPath, JSON.stringify({ ...config, log: { slow_query_ms: 5000 } }), { mode: 0o600 });
    await vi.waitFor(
      async () => {
        const lines = (await readFile(path.join(etc, 'log', 'mysqlda.log'), 'utf8')).split('\n').filter((line) => line.includes('config reload: log.slow_query_ms 0 → 5000'));
        expect(lines.map((line) => [JSON.parse(line).role, JSON.parse(line).slot]).sort()).toEqual([['primary', undefined], ['worker', 0], ['worker', 1]]);
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(await mysqlda('-a', 'reload')).toMatchObject({ code: 0, stdout: 'mysqlda: reload applied: nothing changed\n' });

    await Promise.all([...clients, ...fresh].map((client) => client.end().catch(() => undefined)));
    const stopped = await mysqlda('-a', 'stop');
    expect(stopped.code).toBe(0);
    supervisorPid = 0;
  }, 120_000);

  it('--no-daemon: the foreground process is the primary; SIGTERM drains every worker and exits 0', async () => {
    const etc = path.join(dir, 'foreground');
    const { configPath, port } = await writeProxyConfig(sandbox, etc, { server: { workers: 2 } });
    const primary = spawn(process.execPath, [BIN, '-f', configPath, '-a', 'start', '--no-daemon'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    primary.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await vi.waitFor(() => expect(output).toContain('with 2 workers'), { timeout: 30_000, interval: 100 });
      const clients = [await connectClient(port), await connectClient(port)];
      for (const client of clients) await client.query('select library fg-1');
      const status = await run(['-f', configPath, '-a', 'status']);
      expect(status.stdout).toMatch(/foreground, --no-daemon/);
      expect(status.stdout).toMatch(/^ {2}workers +2 of 2 serving$/m);
      expect(status.stdout).toMatch(/^ {2}sessions +2 open, 2 routed to a library$/m);
      await Promise.all(clients.map((client) => client.end()));
      primary.kill('SIGTERM');
      const [code] = await once(primary, 'exit');
      expect(code).toBe(0);
      // Both workers logged to the same stdout, and drained.
      expect(output.match(/"msg":"proxy closed: sessions ended, save files closed"/g)?.length).toBe(2);
    } finally {
      primary.kill('SIGKILL');
    }
  }, 60_000);

  it("moves a library once for the whole group when its master dies: both workers route to the same replica", async () => {
    const replicated = await Sandbox.start({ dir: path.join(dir, 'replicated-servers'), libraries: 1, replicas: 1 });
    const etc = path.join(dir, 'failover');
    const { configPath, port } = await writeProxyConfig(replicated, etc, {
      server: { workers: 2 },
      health: { interval_ms: 300, timeout_ms: 250, fail_threshold: 2, rise_threshold: 1 },
      session_pool: { connect_timeout_ms: 1000 },
    });
    const mysqlda = (...args: string[]) => run(['-f', configPath, ...args]);
    let pid = 0;
    try {
      const started = await mysqlda('-a', 'start');
      expect(started).toMatchObject({ code: 0, stderr: '' });
      pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
      const { master, replicas } = replicated.libraries[0];
      /** The server a new session of the key lands on, through each worker. */
      const routes = async (): Promise<Map<number, number>> => {
        const bySlot = new Map<number, number>();
        const opened: mysql.Connection[] = [];
        try {
          while (bySlot.size < 2 && opened.length < 20) {
            const client = await connectClient(port);
            opened.push(client);
            await client.query('select library shared-key');
            const [rows] = await client.query('select @@port as port');
            bySlot.set(slotOf(client), (rows as { port: number }[])[0].port);
          }
        } finally {
          await Promise.all(opened.map((client) => client.end().catch(() => undefined)));
        }
        return bySlot;
      };
      await vi.waitFor(async () => expect([...(await routes()).values()]).toEqual([master.port, master.port]), { timeout: 30_000, interval: 200 });

      await master.kill('SIGKILL');
      await vi.waitFor(
        async () => {
          const ports = [...(await routes()).values()];
          expect(ports).toEqual([replicas[0].port, replicas[0].port]);
        },
        { timeout: 30_000, interval: 200 },
      );
      // The primary wrote the move: one state file, the library on the replica, the master left by failover.
      const state = JSON.parse(await readFile(path.join(etc, 'mysqlda.state.json'), 'utf8'));
      expect(state.libraries[replicated.libraries[0].name].current).toBe(`127.0.0.1:${replicas[0].port}`);
      expect(Object.keys(state.libraries[replicated.libraries[0].name].left_by_failover)).toEqual([`127.0.0.1:${master.port}`]);
      // Exactly one worker decided the move (it won the compare-and-set); the other followed it. (The workers write
      // their log lines asynchronously: wait for them.)
      await vi.waitFor(
        async () => {
          const log = (await readFile(path.join(etc, 'log', 'mysqlda.log'), 'utf8')).split('\n');
          const moves = (reason: string) => log.filter((line) => line.includes(`"reason":"${reason}"`)).length;
          expect([moves('down'), moves('adopted')]).toEqual([1, 1]);
        },
        { timeout: 15_000, interval: 200 },
      );
      expect((await mysqlda('-a', 'stop')).code).toBe(0);
      pid = 0;
    } finally {
      if (pid > 0) {
        for (const child of [...childPids(pid), pid]) {
          try {
            process.kill(child, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
      await replicated.stop();
    }
  }, 120_000);
});
