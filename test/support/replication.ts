import type mysql from 'mysql2/promise';
import type { RunningProxy } from '../../src/server.js';
import type { ServerStatusEntry } from '../../src/observability/status.js';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { connectClient } from './proxy-harness.js';
import { address } from './server-state.js';

/** A key that `select library` routes to `library` (new keys are spread over the libraries). */
export async function keyOn(port: number, library: string, prefix: string): Promise<string> {
  const client = await connectClient(port);
  try {
    for (let i = 0; i < 200; i++) {
      const key = `${prefix}-${i}`;
      await client.query(`select library ${key}`);
      const [rows] = await client.query('show library');
      if ((rows as { library: string }[])[0].library === library) return key;
    }
    throw new Error(`no key of 200 went to library ${library}`);
  } finally {
    await client.end();
  }
}

/** A new session on `key`'s library; the caller ends it. */
export async function sessionOn(port: number, key: string): Promise<mysql.Connection> {
  const client = await connectClient(port);
  try {
    await client.query(`select library ${key}`);
    return client;
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** One row written through the proxy on `key`'s library; rejects with the proxy's error (e.g. 7106). */
export async function writeThrough(port: number, key: string, name: string): Promise<void> {
  const client = await sessionOn(port, key);
  try {
    await client.query('replace into test_table values (?, ?)', [name, key]);
  } finally {
    await client.end();
  }
}

/** The proxy's view of one server (its status entry). */
export function serverStatus(proxy: RunningProxy, server: MariadbServer): ServerStatusEntry | undefined {
  return proxy.status().libraries.flatMap((library) => library.servers).find((entry) => entry.address === address(server));
}

/** Resolves once `test` holds, polling every 50 ms; rejects after `timeoutMs` with `what`. */
export async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `server` has the row written by writeThrough. */
export async function hasRow(server: MariadbServer, database: string, name: string): Promise<boolean> {
  const rows = (await server.query(`select 1 from \`${database}\`.test_table where name = ?`, [name])) as unknown[];
  return rows.length === 1;
}
