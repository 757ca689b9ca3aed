/**
 * The shared key directory on a 3-node Galera cluster: three proxy processes, each listing the nodes in another
 * order (so each writes through its own node and their transactions meet in certification), 16 clients per proxy
 * assigning new keys and racing over a pool of shared keys, and one Galera node SIGKILLed mid-storm. Every key a
 * client was told about is in the table with that library, no key was told two libraries, and the counts match.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GaleraCluster, type GaleraNode } from '../../tools/sandbox/galera.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { ensureBuilt } from '../cli/ensure-built.js';
import { DIRECTORY_DATABASE } from '../support/directory-server.js';
import { connectClient, exited, spawnProxyProcess, writeProxyConfig } from '../support/proxy-harness.js';

const PROXIES = 3;
const CLIENTS_PER_PROXY = 16;
const SHARED_KEYS = 300;

let dir: string;
let sandbox: Sandbox;
let cluster: GaleraCluster;
const proxies: { port: number; child: ChildProcess }[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-galera-directory-'));
  [sandbox, cluster] = await Promise.all([
    Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 }),
    GaleraCluster.start({ baseDir: path.join(dir, 'galera'), nodes: 3 }),
  ]);
  for (const host of ['%', 'localhost']) {
    await cluster.nodes[0].query(`CREATE USER IF NOT EXISTS 'calvin'@'${host}' IDENTIFIED BY 'calvin'`);
    await cluster.nodes[0].query(`GRANT ALL ON ${DIRECTORY_DATABASE}.* TO 'calvin'@'${host}'`);
  }
  const started = await Promise.allSettled(
    Array.from({ length: PROXIES }, async (_, i) => {
      // Proxy i uses node i first, then the others in order.
      const nodes = [...cluster.nodes.slice(i), ...cluster.nodes.slice(0, i)];
      const extra = { storage: { directory: { mysql: { servers: nodes.map((node) => ({ ip: node.host, port: node.port })) } } } };
      const { configPath, port } = await writeProxyConfig(sandbox, path.join(dir, `etc${i + 1}`), extra);
      return { port, child: await spawnProxyProcess(configPath, port) };
    }),
  );
  // Every proxy that started is stopped by afterAll, even when another one did not start.
  for (const result of started) if (result.status === 'fulfilled') proxies.push(result.value);
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}, 180_000);

afterAll(async () => {
  for (const { child } of proxies) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
  await Promise.all([sandbox?.stop(), cluster?.stop()]);
  if (dir && !process.env.MYSQLDA_KEEP_SANDBOX) await removeTree(dir);
});

/** key → every library a client was told for it (more than one would be a split). */
type Told = Map<string, Set<string>>;

interface Storm {
  told: Told;
  newKeys(): number;
  refusals(): number;
  reachedNewKeys(count: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Every client alternates a key of its own (`<prefix>-<proxy>-<client>-<n>`) with one of SHARED_KEYS keys that
 * every client of every proxy asks for. A key counts as told once `select library` succeeded and `show library`
 * named its library.
 */
function storm(prefix: string): Storm {
  const told: Told = new Map();
  let stopping = false;
  let refusals = 0;
  let newKeys = 0;
  const waiters: { at: number; resolve: () => void }[] = [];
  const tell = (key: string, library: string, own: boolean) => {
    const libraries = told.get(key) ?? new Set<string>();
    libraries.add(library);
    told.set(key, libraries);
    if (!own) return;
    newKeys++;
    for (const waiter of waiters.filter((w) => newKeys >= w.at)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const client = async (p: number, c: number) => {
    let connection: mysql.Connection | null = null;
    for (let n = 0; !stopping; n++) {
      if (!connection) {
        try {
          connection = await connectClient(proxies[p].port);
          connection.on('error', () => undefined);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
      }
      const own = n % 2 === 0;
      const key = own ? `${prefix}-${p}-${c}-${n}` : `${prefix}-shared-${(n * 7 + c * 13 + p) % SHARED_KEYS}`;
      try {
        await connection.query(`select library ${key}`);
        const [rows] = await connection.query('show library');
        tell(key, (rows as { library: string }[])[0].library, own);
      } catch (err) {
        if ((err as { errno?: number }).errno === 7107) refusals++;
        else {
          connection.destroy();
          connection = null;
        }
      }
    }
    connection?.destroy();
  };
  const clients = proxies.flatMap((_, p) => Array.from({ length: CLIENTS_PER_PROXY }, (_, c) => client(p, c)));
  return {
    told,
    newKeys: () => newKeys,
    refusals: () => refusals,
    reachedNewKeys: (count) => new Promise((resolve) => waiters.push({ at: newKeys + count, resolve })),
    stop: async () => {
      stopping = true;
      await Promise.all(clients);
    },
  };
}

/** key → library as a node holds it, read once the node has applied everything committed before (wsrep_sync_wait). */
async function tableOn(node: GaleraNode): Promise<Map<string, string>> {
  await node.query('SET SESSION wsrep_sync_wait = 1');
  const rows: { k: string; library: string }[] = await node.query(`SELECT CAST(core_key AS CHAR) AS k, library FROM ${DIRECTORY_DATABASE}.mysqlda_keys`);
  return new Map(rows.map((row) => [row.k, row.library]));
}

describe('the shared directory on a 3-node Galera cluster', () => {
  it('loses no acknowledged key and tells no key two libraries when a node is SIGKILLed mid-storm', async () => {
    const load = storm('galera');
    await load.reachedNewKeys(600);
    const victim = cluster.nodes[1]; // the first node of proxy 2
    await cluster.kill(victim);
    const atKill = load.newKeys();
    await load.reachedNewKeys(600); // assignment goes on through the two nodes left
    await load.stop();
    expect(load.newKeys()).toBeGreaterThan(atKill);

    const split = [...load.told].filter(([, libraries]) => libraries.size > 1);
    expect(split.slice(0, 10)).toEqual([]);

    const survivors = cluster.nodes.filter((node) => node.running);
    const table = await tableOn(survivors[0]);
    const lost = [...load.told].filter(([key, libraries]) => table.get(key) !== [...libraries][0]);
    expect(lost.slice(0, 10)).toEqual([]);
    expect(await tableOn(survivors[1])).toEqual(table);

    const counts: { library: string; key_count: number }[] = await survivors[0].query(`SELECT library, key_count FROM ${DIRECTORY_DATABASE}.mysqlda_library_counts`);
    const byRows = new Map<string, number>();
    for (const library of table.values()) byRows.set(library, (byRows.get(library) ?? 0) + 1);
    expect(new Map(counts.filter((row) => Number(row.key_count) > 0).map((row) => [row.library, Number(row.key_count)]))).toEqual(byRows);
    console.info(`galera directory: ${load.told.size} keys told by ${PROXIES}×${CLIENTS_PER_PROXY} clients (${atKill} new before the kill, ${load.newKeys()} in all), ${load.refusals()} refusals (7107)`);

    // The killed node rejoins with every key.
    await cluster.restart(victim);
    expect(await tableOn(victim)).toEqual(table);
  });
});
