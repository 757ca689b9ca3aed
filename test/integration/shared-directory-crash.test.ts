/**
 * Crashes under load with the shared key directory: a proxy process SIGKILLed while 32 clients assign new keys,
 * then the directory server itself SIGKILLed and restarted under the same load. Every key a client was told about
 * (the OK of `select library`) is in the directory's table with the library the client was told.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { ensureBuilt } from '../cli/ensure-built.js';
import { DIRECTORY_DATABASE, directoryRows, sharedDirectoryExtra, startDirectoryServer } from '../support/directory-server.js';
import { connectClient, exited, spawnProxyProcess, writeProxyConfig } from '../support/proxy-harness.js';

const CLIENTS = 32;

let dir: string;
let sandbox: Sandbox;
let directoryServer: MariadbServer;
let configPath: string;
let port: number;
let proxy: ChildProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-shared-crash-'));
  [sandbox, directoryServer] = await Promise.all([
    Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 }),
    startDirectoryServer(path.join(dir, 'directory'), { user: 'calvin', password: 'calvin' }),
  ]);
  ({ configPath, port } = await writeProxyConfig(sandbox, path.join(dir, 'etc'), sharedDirectoryExtra(directoryServer)));
}, 120_000);

afterAll(async () => {
  if (proxy && proxy.exitCode === null) {
    proxy.kill('SIGKILL');
    await exited(proxy);
  }
  await Promise.all([sandbox?.stop(), directoryServer?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Keys whose `select library` was answered OK: key → the library `show library` named (null if it could not be asked). */
type Acknowledged = Map<string, string | null>;

interface Storm {
  acknowledged: Acknowledged;
  /** `select library` answers 7107 (the directory could not be reached) so far. */
  refusals(): number;
  /** Resolves once `count` more keys have been acknowledged. */
  reached(count: number): Promise<void>;
  stop(): Promise<void>;
}

/** 32 clients assigning new keys (`prefix-<client>-<n>`) as fast as they can, reconnecting after a lost connection. */
function storm(prefix: string): Storm {
  const acknowledged: Acknowledged = new Map();
  let stopping = false;
  let refusals = 0;
  const waiters: { at: number; resolve: () => void }[] = [];
  const acknowledge = (key: string, library: string | null) => {
    acknowledged.set(key, library);
    for (const waiter of waiters.filter((w) => acknowledged.size >= w.at)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const client = async (c: number) => {
    let connection: mysql.Connection | null = null;
    for (let n = 0; !stopping; n++) {
      try {
        if (!connection) {
          connection = await connectClient(port);
          connection.on('error', () => undefined);
        }
      } catch {
        connection = null;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const key = `${prefix}-${c}-${n}`;
      try {
        await connection.query(`select library ${key}`);
      } catch (err) {
        if ((err as { errno?: number }).errno === 7107) refusals++;
        else connection = drop(connection);
        continue;
      }
      try {
        const [rows] = await connection.query('show library');
        acknowledge(key, (rows as { library: string }[])[0].library);
      } catch {
        acknowledge(key, null);
        connection = drop(connection);
      }
    }
    if (connection) drop(connection);
  };
  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
  return {
    acknowledged,
    refusals: () => refusals,
    reached: (count) => new Promise((resolve) => waiters.push({ at: acknowledged.size + count, resolve })),
    stop: async () => {
      stopping = true;
      await Promise.all(clients);
    },
  };
}

function drop(connection: mysql.Connection): null {
  connection.destroy();
  return null;
}

async function expectAllSaved(acknowledged: Acknowledged): Promise<void> {
  const table = await directoryRows(directoryServer);
  const lost = [...acknowledged].filter(([key, library]) => !table.has(key) || (library !== null && table.get(key) !== library));
  expect(lost.slice(0, 10)).toEqual([]);
  const counts: { library: string; key_count: number }[] = await directoryServer.query(`SELECT library, key_count FROM ${DIRECTORY_DATABASE}.mysqlda_library_counts`);
  const byRows = new Map<string, number>();
  for (const library of table.values()) byRows.set(library, (byRows.get(library) ?? 0) + 1);
  expect(new Map(counts.filter((row) => Number(row.key_count) > 0).map((row) => [row.library, Number(row.key_count)]))).toEqual(byRows);
}

describe('crashes with a shared directory', () => {
  it('loses no acknowledged key when the proxy process is SIGKILLed mid-storm', async () => {
    proxy = await spawnProxyProcess(configPath, port);
    const load = storm('kill-proxy');
    await load.reached(2_000);
    proxy.kill('SIGKILL');
    await exited(proxy);
    await load.stop();
    expect(load.acknowledged.size).toBeGreaterThanOrEqual(2_000);
    await expectAllSaved(load.acknowledged);
  });

  it('loses no acknowledged key and gives no key two libraries when the directory server is SIGKILLed mid-storm', async () => {
    proxy = await spawnProxyProcess(configPath, port);
    const load = storm('kill-directory');
    await load.reached(1_000);
    await directoryServer.kill();
    const before = load.acknowledged.size;
    const deadline = Date.now() + 20_000;
    while (load.refusals() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(load.refusals()).toBeGreaterThan(0); // clients were told, and stayed connected
    await directoryServer.restart();
    await load.reached(1_000); // assignment resumes by itself
    await load.stop();
    expect(load.acknowledged.size).toBeGreaterThan(before);
    await expectAllSaved(load.acknowledged);
    // The proxy answers every acknowledged key as it was acknowledged (from memory or from the table).
    const client = await connectClient(port);
    for (const [key, library] of [...load.acknowledged].slice(0, 200)) {
      await client.query(`select library ${key}`);
      const [rows] = await client.query('show library');
      if (library !== null) expect((rows as { library: string }[])[0].library).toBe(library);
    }
    await client.end();
    proxy.kill('SIGKILL');
    await exited(proxy);
  });
});
