import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { findFreePort } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { backendPort, connectClient } from '../support/proxy-harness.js';

let dir: string;
let sandbox: Sandbox;
let proxy: RunningProxy;
let configPath: string;
let listenPort: number;

type Document = Record<string, any>;

/** The sandbox's config (both libraries), changed by `edit`, written the way editors do: a new file renamed over the old. */
async function writeConfig(edit: (document: Document) => void = () => {}): Promise<void> {
  const document: Document = JSON.parse(sandbox.configJson({ listenPort, saveDir: path.dirname(configPath) }));
  document.health = { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 2 };
  edit(document);
  const temporary = `${configPath}.tmp`;
  await writeFile(temporary, JSON.stringify(document, null, 2), { mode: 0o600 });
  await rename(temporary, configPath);
}

const onlyFirstLibrary = (document: Document) => {
  document.forwards = document.forwards.slice(0, 1);
};

const address = (server: { host: string; port: number }) => `${server.host}:${server.port}`;

async function libraryOf(connection: mysql.Connection): Promise<string> {
  const [rows] = await connection.query('show library');
  return (rows as { library: string }[])[0].library;
}

/** A client routed to a key of `library` (trying keys `<prefix>-0`, `<prefix>-1`, ... until one lands there). */
async function clientOn(library: string, prefix: string): Promise<mysql.Connection> {
  const client = await connectClient(listenPort);
  for (let i = 0; i < 200; i++) {
    await client.query(`select library ${prefix}-${i}`);
    if ((await libraryOf(client)) === library) return client;
  }
  throw new Error(`no key of ${prefix} landed on ${library}`);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-reload-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 1 });
  await mkdir(path.join(dir, 'etc'));
  configPath = path.join(dir, 'etc', 'mysqlda.conf');
  listenPort = await findFreePort();
  await writeConfig(onlyFirstLibrary);
  // Reloads are asked for explicitly here, except in the test of the file watcher.
  proxy = await startProxy(await loadConfigFile(configPath), silentLogger(), { watchConfig: false });
});

afterAll(async () => {
  await proxy?.close();
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('live reload', () => {
  it('adds a library under load: no client sees an error, and the new library receives new keys at once', async () => {
    const errors: unknown[] = [];
    const placed: { key: string; library: string; phase: 'before' | 'during' | 'after' }[] = [];
    let phase: 'before' | 'during' | 'after' = 'before';
    let stop = false;
    const worker = async (n: number) => {
      const client = await connectClient(listenPort);
      try {
        for (let i = 0; !stop; i++) {
          const key = `load-${n}-${i}`;
          const startedIn = phase;
          await client.query(`select library ${key}`);
          await client.query('replace into test_table values (?, ?)', [key, 'v']);
          placed.push({ key, library: await libraryOf(client), phase: startedIn === 'before' && phase !== 'before' ? 'during' : startedIn });
        }
      } catch (err) {
        errors.push(err);
      } finally {
        await client.end();
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    while (placed.length < 40 && errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));

    await writeConfig();
    phase = 'during';
    const result = await proxy.reload();
    phase = 'after';
    expect(result).toMatchObject({ ok: true, changes: ['library mysqlda2 added'] });
    while (placed.filter((p) => p.phase === 'after').length < 40 && errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    stop = true;
    await Promise.all(workers);

    expect(errors).toEqual([]);
    expect(placed.filter((p) => p.phase === 'before').every((p) => p.library === 'mysqlda1')).toBe(true);
    const after = placed.filter((p) => p.phase === 'after');
    // The empty library draws new keys first (the assignment rule balances key counts by weight).
    expect(after.filter((p) => p.library === 'mysqlda2').length).toBeGreaterThan(after.length / 2);
    const newKey = after.find((p) => p.library === 'mysqlda2')!.key;
    const [row] = await sandbox.libraries[1].master.query('select value from calvindb.test_table where name = ?', [newKey]);
    expect(row).toEqual({ value: 'v' });
    expect(proxy.status().libraries.map((l) => l.name)).toEqual(['mysqlda1', 'mysqlda2']);
  });

  it('rejects an invalid config, a removed library that owns keys and a new port as a whole; the old config keeps serving', async () => {
    const client = await clientOn('mysqlda2', 'steady');
    // What the config decides (server health and session counts move on their own).
    const shape = () => proxy.status().libraries.map((l) => ({ name: l.name, weight: l.weight, servers: l.servers.map((s) => s.address) }));
    const before = shape();

    await writeConfig((document) => (document.forwards[1].forward[0].port = 'nope'));
    const invalid = await proxy.reload();
    expect(invalid.ok).toBe(false);
    expect(invalid.message).toContain(`invalid configuration ${configPath}: forwards[1].forward[0].port: must be an integer 1..65535, got "nope"`);

    await writeConfig(onlyFirstLibrary);
    expect(await proxy.reload()).toMatchObject({ ok: false, message: expect.stringMatching(/cannot remove libraries that still own keys: 'mysqlda2' \(\d+ keys\)/) });

    await writeConfig((document) => {
      document.server.listen_port = listenPort + 1;
      document.forwards[1].weight = 5;
    });
    expect(await proxy.reload()).toMatchObject({ ok: false, message: expect.stringContaining('a restart is needed to apply this: the listen address changes') });

    expect(shape()).toEqual(before);
    expect(await libraryOf(client)).toBe('mysqlda2');
    const [rows] = await client.query('select count(*) as n from test_table');
    expect((rows as { n: number }[])[0].n).toBeGreaterThan(0);
    await client.end();
    await writeConfig();
    expect(await proxy.reload()).toEqual({ ok: true, message: 'nothing changed', changes: [] });
  });

  it('moves sessions off a server removed by reload at their next command outside a transaction', async () => {
    const library = sandbox.libraries[0];
    const idle = await clientOn(library.name, 'removal-idle');
    const inTransaction = await clientOn(library.name, 'removal-tx');
    expect(await backendPort(idle)).toBe(library.master.port);
    await inTransaction.query('begin');
    await inTransaction.query("replace into test_table values ('removal-tx', 'in transaction')");

    await writeConfig((document) => (document.forwards[0].forward = document.forwards[0].forward.slice(1)));
    const result = await proxy.reload();
    expect(result).toMatchObject({ ok: true });
    expect(result.changes).toContain(`server ${address(library.master)} removed from ${library.name}`);
    expect(proxy.status().libraries[0].currentServer).toBe(address(library.replicas[0]));

    // The idle session moves with its next statement; the one in a transaction finishes it where it is, then moves.
    expect(await backendPort(idle)).toBe(library.replicas[0].port);
    expect(await backendPort(inTransaction)).toBe(library.master.port);
    await inTransaction.query('commit');
    expect(await backendPort(inTransaction)).toBe(library.replicas[0].port);
    const fresh = await clientOn(library.name, 'removal-new');
    expect(await backendPort(fresh)).toBe(library.replicas[0].port);
    await Promise.all([idle.end(), inTransaction.end(), fresh.end()]);

    await writeConfig();
    const restored = await proxy.reload();
    expect(restored.changes).toContain(`server ${address(library.master)} added to ${library.name}`);
    // Listing the old master again does not send the library back to it (it missed the writes made meanwhile):
    // that takes an operator's failback, or re-ranking servers that are both listed.
    expect(proxy.status().libraries[0].currentServer).toBe(address(library.replicas[0]));
    await writeConfig((document) => document.forwards[0].forward.reverse());
    expect((await proxy.reload()).changes).toContain(`failover order of ${library.name} changed: the library starts again at its first server`);
    expect(proxy.status().libraries[0].currentServer).toBe(address(library.replicas[0]));
    await writeConfig();
    expect((await proxy.reload()).changes).toEqual([`failover order of ${library.name} changed: the library starts again at its first server`]);
    expect(proxy.status().libraries[0].currentServer).toBe(address(library.master));
  });

  it('changes weights, pool sizes and health settings live, and reports each change', async () => {
    const reloaded = new Promise((resolve) => proxy.events.on('reload', resolve));
    await writeConfig((document) => {
      document.forwards[1].weight = 3;
      document.session_pool.max_connections_per_server = 7;
      document.health.rise_threshold = 3;
    });
    const result = await proxy.reload();
    expect(result.changes).toEqual([
      'library mysqlda2: weight 1 → 3',
      'session_pool: idle 60 s, max 100, connect 3000 ms, reset within 5 ms → idle 60 s, max 7, connect 3000 ms, reset within 5 ms',
      'health checks: every 250 ms, timeout 2000 ms, down after 3, up after 2 → every 250 ms, timeout 2000 ms, down after 3, up after 3',
    ]);
    await reloaded;
    expect(proxy.status().libraries.map((l) => l.weight)).toEqual([1, 3]);
  });
});

describe('the config file watcher', () => {
  it('reloads by itself after an editor replaces the file', async () => {
    await proxy.close();
    await writeConfig();
    proxy = await startProxy(await loadConfigFile(configPath), silentLogger());
    const reloaded = new Promise<{ ok: boolean; changes: number }>((resolve) => proxy.events.on('reload', resolve));
    await writeConfig((document) => (document.forwards[0].weight = 2));
    expect(await reloaded).toEqual({ ok: true, changes: 1 });
    expect(proxy.status().libraries.map((l) => l.weight)).toEqual([2, 1]);
  });
});
