/**
 * The shared key directory (storage.directory.mysql): three proxies in front of the same libraries and the same
 * directory server, racing clients over overlapping keys. One library per key cluster-wide, every proxy answers
 * the same, libraries stay balanced (also a library added by reload), key moves written to the change feed reach
 * every proxy, and an unreachable directory leaves known keys routing while new keys get 7107.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MysqldaConfig } from '../../src/config/types.js';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { DIRECTORY_DATABASE, directoryRows, sharedDirectoryExtra, startDirectoryServer } from '../support/directory-server.js';
import { connectClient, startTestProxy, type ProxyUnderTest } from '../support/proxy-harness.js';

const PROXIES = 3;
const CLIENTS_PER_PROXY = 32;
const FIRST_KEYS = 6_000;
const LATER_KEYS = 4_000;

let dir: string;
let sandbox: Sandbox;
let directoryServer: MariadbServer;
const proxies: ProxyUnderTest[] = [];
let allLibraries: MysqldaConfig['libraries'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-shared-directory-'));
  [sandbox, directoryServer] = await Promise.all([
    Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 3, replicas: 0 }),
    startDirectoryServer(path.join(dir, 'directory'), { user: 'calvin', password: 'calvin' }),
  ]);
  // The proxies start with two of the three libraries; the third is added by reload.
  for (let i = 0; i < PROXIES; i++) {
    proxies.push(
      await startTestProxy(sandbox, path.join(dir, `etc${i}`), sharedDirectoryExtra(directoryServer), (config) => {
        allLibraries = config.libraries;
        config.libraries = config.libraries.slice(0, 2);
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const proxy of proxies) await proxy.stop();
  await Promise.all([sandbox?.stop(), directoryServer?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function showLibrary(connection: mysql.Connection): Promise<string | null> {
  const [rows] = await connection.query('show library');
  return (rows as { library: string | null }[])[0].library;
}

/** A deterministic shuffle, different per seed: each proxy meets the keys in its own order. */
function shuffled(keys: readonly string[], seed: number): string[] {
  const out = [...keys];
  let state = seed * 2_654_435_761 + 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Every proxy's 32 clients select every key (in the proxy's own order); key → library as each proxy answered. */
async function race(keys: readonly string[]): Promise<Map<string, string>[]> {
  return Promise.all(
    proxies.map(async (proxy, p) => {
      const queue = shuffled(keys, p + 1);
      const answers = new Map<string, string>();
      await Promise.all(
        Array.from({ length: CLIENTS_PER_PROXY }, async () => {
          const client = await connectClient(proxy.port);
          try {
            for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
              await client.query(`select library ${key}`);
              answers.set(key, (await showLibrary(client))!);
            }
          } finally {
            await client.end();
          }
        }),
      );
      return answers;
    }),
  );
}

async function sharedCounts(): Promise<Map<string, number>> {
  const rows: { library: string; key_count: number }[] = await directoryServer.query(`SELECT library, key_count FROM ${DIRECTORY_DATABASE}.mysqlda_library_counts`);
  return new Map(rows.map((row) => [row.library, Number(row.key_count)]));
}

/** The largest distance of a library's key count from its weighted share (all weights 1 here). */
function imbalance(counts: Map<string, number>, libraries: readonly string[]): number {
  const total = libraries.reduce((sum, name) => sum + (counts.get(name) ?? 0), 0);
  return Math.max(...libraries.map((name) => Math.abs((counts.get(name) ?? 0) - total / libraries.length)));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function errorOf(promise: Promise<unknown>): Promise<{ errno: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { errno: number; message: string };
  }
  throw new Error('expected an error');
}

describe('three proxies sharing one MySQL directory', () => {
  it('give every key exactly one library, the same through every proxy, balanced across the libraries', async () => {
    const keys = Array.from({ length: FIRST_KEYS }, (_, i) => `cust-${i}`);
    const answers = await race(keys);
    const table = await directoryRows(directoryServer);
    expect(table.size).toBe(FIRST_KEYS);
    for (const perProxy of answers) {
      expect(perProxy.size).toBe(FIRST_KEYS);
      for (const [key, library] of perProxy) expect(library, key).toBe(table.get(key));
    }
    const counts = await sharedCounts();
    const byRows = new Map<string, number>();
    for (const library of table.values()) byRows.set(library, (byRows.get(library) ?? 0) + 1);
    expect(counts).toEqual(byRows);
    const deviation = imbalance(counts, ['mysqlda1', 'mysqlda2']);
    console.log(`shared directory: ${FIRST_KEYS} keys raced by ${PROXIES}×${CLIENTS_PER_PROXY} clients, counts ${JSON.stringify(Object.fromEntries(counts))}, largest deviation from the share ${deviation}`);
    expect(deviation).toBeLessThanOrEqual(2);
  });

  it('fills a library added by reload on every proxy until it has caught up with its share', async () => {
    for (const proxy of proxies) {
      const result = await proxy.proxy.reload({ ...proxy.config, libraries: allLibraries });
      expect(result.ok, result.message).toBe(true);
    }
    const keys = Array.from({ length: LATER_KEYS }, (_, i) => `later-${i}`);
    const answers = await race(keys);
    const table = await directoryRows(directoryServer);
    for (const perProxy of answers) for (const [key, library] of perProxy) expect(library, key).toBe(table.get(key));
    const counts = await sharedCounts();
    const deviation = imbalance(counts, ['mysqlda1', 'mysqlda2', 'mysqlda3']);
    console.log(`after adding mysqlda3 and ${LATER_KEYS} more keys: counts ${JSON.stringify(Object.fromEntries(counts))}, largest deviation ${deviation}`);
    // 10,000 keys over three libraries: 3,333 each would be exact; mysqlda3 started 4,000 behind.
    expect(deviation).toBeLessThanOrEqual(2);
  });

  it('binds a correl object once cluster-wide and finds it through every proxy', async () => {
    const a = await connectClient(proxies[0].port);
    await a.query('set correl_object account_no 6222-0001 cust-1');
    await a.end();
    const b = await connectClient(proxies[1].port);
    const conflict = await errorOf(b.query('set correl_object account_no 6222-0001 cust-2'));
    expect(conflict.errno).toBe(7105);
    expect(conflict.message).toContain("'cust-1'");
    await b.query('select library_by_correl_object account_no 6222-0001');
    const c = await connectClient(proxies[2].port);
    await c.query('select library cust-1');
    expect(await showLibrary(b)).toBe(await showLibrary(c));
    await Promise.all([b.end(), c.end()]);
    const rows: { k: string }[] = await directoryServer.query(`SELECT CAST(core_key AS CHAR) AS k FROM ${DIRECTORY_DATABASE}.mysqlda_correl_objects`);
    expect(rows).toEqual([{ k: 'cust-1' }]);
  });

  it('moves a key on every proxy when its row and a change row are written', async () => {
    const key = 'cust-7';
    const from = (await directoryRows(directoryServer)).get(key)!;
    const to = ['mysqlda1', 'mysqlda2', 'mysqlda3'].find((library) => library !== from)!;
    await directoryServer.query(`UPDATE ${DIRECTORY_DATABASE}.mysqlda_keys SET library = ?, epoch = epoch + 1 WHERE core_key = ?`, [to, key]);
    await directoryServer.query(`INSERT INTO ${DIRECTORY_DATABASE}.mysqlda_key_changes (core_key, library, state, epoch) VALUES (?, ?, 0, 1)`, [key, to]);
    for (const proxy of proxies) {
      await until(`${key} to move to ${to} on port ${proxy.port}`, async () => {
        const client = await connectClient(proxy.port);
        await client.query(`select library ${key}`);
        const library = await showLibrary(client);
        await client.end();
        return library === to ? library : undefined;
      });
    }
  });

  it('keeps known keys routing and refuses new keys with 7107 while the directory is down, then resumes by itself', async () => {
    await directoryServer.kill();
    const client = await connectClient(proxies[0].port);
    await client.query('select library cust-3');
    expect(await showLibrary(client)).toBeTruthy();
    const refused = await errorOf(client.query('select library brand-new-key'));
    expect(refused.errno).toBe(7107);
    expect(refused.message).toMatch(/directory/i);
    // Still connected: a known key routes on the same connection.
    await client.query('select library cust-4');
    expect(await showLibrary(client)).toBeTruthy();
    const state = await until('the directory to be reported unavailable', async () => {
      const status = proxies[0].proxy.status().directory;
      return status && !status.available ? status : undefined;
    });
    expect(state.kind).toBe('mysql');
    expect(state.lastError).toBeTruthy();
    expect((await directoryRows(await restarted(directoryServer))).has('brand-new-key')).toBe(false);

    await until('a new key to be accepted again', async () => {
      try {
        await client.query('select library brand-new-key');
        return true;
      } catch {
        return undefined;
      }
    });
    expect((await directoryRows(directoryServer)).has('brand-new-key')).toBe(true);
    await until('the directory to be reported available', async () => (proxies[0].proxy.status().directory?.available ? true : undefined));
    await client.end();
  });
});

async function restarted(server: MariadbServer): Promise<MariadbServer> {
  await server.restart();
  return server;
}
