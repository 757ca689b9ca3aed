/**
 * Servers that are alive but in trouble: full (max_connections), refusing the proxy's login, frozen (SIGSTOP).
 * None of these may fail a library over by mistake, and none may hang a session.
 */
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { CHECK_AFTER_MS } from '../../src/backend/connection-pool.js';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import type { RunningProxy } from '../../src/server.js';
import { nextEvent } from '../support/next-event.js';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';

const CONNECT_TIMEOUT_MS = 500;
const FAIL_THRESHOLD = 6;

const env = useProxyFixture('server-trouble', {
  libraries: 1,
  replicas: 1,
  extra: {
    // A high fail threshold: the frozen-server test must see the session's own bound, not a failover.
    health: { interval_ms: 250, timeout_ms: 500, fail_threshold: FAIL_THRESHOLD, rise_threshold: 1 },
    session_pool: { connect_timeout_ms: CONNECT_TIMEOUT_MS },
  },
});

const address = (server: MariadbServer) => `${server.host}:${server.port}`;

function serverView(proxy: RunningProxy, server: MariadbServer) {
  return proxy.status().libraries.flatMap((library) => library.servers).find((s) => s.address === address(server))!;
}

function serverState(proxy: RunningProxy, server: MariadbServer, state: 'up' | 'down'): Promise<unknown> {
  if (serverView(proxy, server).state === state) return Promise.resolve();
  return nextEvent(proxy.events, 'server-health', (event) => event.server === address(server) && event.to === state);
}

async function statusCounter(server: MariadbServer, name: string): Promise<number> {
  const rows = (await server.query(`SHOW GLOBAL STATUS LIKE '${name}'`)) as { Value: string }[];
  return Number(rows[0].Value);
}

/** Resolves once the server's status counter has grown by `by` (the health monitor's attempts, refused). */
async function counterGrows(server: MariadbServer, name: string, by: number, withinMs = 10_000): Promise<boolean> {
  const target = (await statusCounter(server, name)) + by;
  const deadline = Date.now() + withinMs;
  while ((await statusCounter(server, name)) < target) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function connectionId(client: mysql.Connection): Promise<number> {
  const [rows] = await client.query('select connection_id() as id');
  return Number((rows as { id: number }[])[0].id);
}

/** Closes the proxy's connections to the server (its pool notices and forgets them). */
async function killProxyConnections(server: MariadbServer, user: string): Promise<void> {
  const rows = (await server.query('SELECT id FROM information_schema.processlist WHERE user = ?', [user])) as { id: number }[];
  for (const { id } of rows) await server.query(`KILL ${id}`).catch(() => undefined);
}

/**
 * Opens root connections until the server refuses one with 1040 and keeps refusing the health monitor's
 * connections too (a check that held a slot while the last one was refused frees it later: take it).
 */
async function fill(server: MariadbServer): Promise<mysql.Connection[]> {
  const held: mysql.Connection[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      held.push(await mysql.createConnection({ host: server.host, port: server.port, user: 'root', password: '' }));
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1040) throw err;
      if (await counterGrows(server, 'Connection_errors_max_connections', 3, 2_000)) return held;
    }
  }
  throw new Error('could not fill the server');
}

function watchFailovers(proxy: RunningProxy): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const stop = proxy.events.on('failover', (event) => seen.push(event));
  return { seen, stop };
}

describe('a server that answers with an error is alive', () => {
  it('keeps a master that refuses the login (access denied) up and current; the session gets 7106 with the server\'s words', async () => {
    const { proxy } = env.proxy;
    const { master } = env.sandbox.libraries[0];
    await serverState(proxy, master, 'up');
    const failovers = watchFailovers(proxy);
    // Only on the master (not replicated): its replica keeps accepting the login.
    await master.query('SET SESSION sql_log_bin = 0');
    await master.query("ALTER USER 'calvin'@'%' IDENTIFIED BY 'not-the-configured-one'");
    await master.query("ALTER USER 'calvin'@'localhost' IDENTIFIED BY 'not-the-configured-one'");
    await killProxyConnections(master, 'calvin');
    try {
      // More refused checks than the fail threshold.
      expect(await counterGrows(master, 'Access_denied_errors', FAIL_THRESHOLD + 2)).toBe(true);
      expect(serverView(proxy, master)).toMatchObject({ state: 'up', current: true });

      const client = await connectClient(proxy.address.port);
      await expect(client.query('select library refused-1')).rejects.toMatchObject({
        errno: 7106,
        message: expect.stringMatching(new RegExp(`${address(master)} .*Access denied.*\\(1045\\)`)),
      });
      await client.end();
    } finally {
      await master.query("ALTER USER 'calvin'@'%' IDENTIFIED BY 'calvin'");
      await master.query("ALTER USER 'calvin'@'localhost' IDENTIFIED BY 'calvin'");
      await master.query('SET SESSION sql_log_bin = 1');
      failovers.stop();
    }
    expect(failovers.seen).toEqual([]);
    const client = await connectClient(proxy.address.port);
    await client.query('select library refused-1');
    expect(await backendPort(client)).toBe(master.port);
    await client.end();
  });

  it('keeps a master at max_connections up and current; the session gets 7106 "Too many connections", then is served once a slot frees', async () => {
    const { proxy } = env.proxy;
    const { master } = env.sandbox.libraries[0];
    await serverState(proxy, master, 'up');
    const failovers = watchFailovers(proxy);
    await killProxyConnections(master, 'calvin');
    await master.query('SET GLOBAL max_connections = 10');
    let held: mysql.Connection[] = [];
    try {
      held = await fill(master);
      // The monitor's checks were refused with 1040 more often than the fail threshold.
      expect(await counterGrows(master, 'Connection_errors_max_connections', FAIL_THRESHOLD + 2)).toBe(true);
      expect(serverView(proxy, master)).toMatchObject({ state: 'up', current: true });

      const client = await connectClient(proxy.address.port);
      await expect(client.query('select library full-1')).rejects.toMatchObject({
        errno: 7106,
        message: expect.stringContaining(`Server ${address(master)} of library '${env.sandbox.libraries[0].name}' refused a connection: Too many connections (1040)`),
      });
      await Promise.all(held.splice(0).map((connection) => connection.end()));
      await client.query('select library full-1');
      expect(await backendPort(client)).toBe(master.port);
      await client.end();
    } finally {
      await Promise.all(held.map((connection) => connection.end()));
      await master.query('SET GLOBAL max_connections = 2000');
      failovers.stop();
    }
    expect(failovers.seen).toEqual([]);
  });
});

describe('a frozen server (SIGSTOP)', () => {
  it('answers `select library` with 7106 within connect_timeout_ms instead of handing out a pooled connection to it, and serves again after SIGCONT', async () => {
    const { proxy } = env.proxy;
    const { master } = env.sandbox.libraries[0];
    await serverState(proxy, master, 'up');
    const pooled: number[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await connectClient(proxy.address.port);
      await client.query('select library frozen-1');
      pooled.push(await connectionId(client));
      await client.end();
    }
    // Connections the server answered on this recently are reused without a check.
    await new Promise((resolve) => setTimeout(resolve, CHECK_AFTER_MS * 2));

    master.signal('SIGSTOP');
    try {
      const client = await connectClient(proxy.address.port);
      const started = Date.now();
      await expect(client.query('select library frozen-1')).rejects.toMatchObject({
        errno: 7106,
        message: expect.stringContaining(`a pooled connection to ${address(master)} timed out after ${CONNECT_TIMEOUT_MS} ms`),
      });
      expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + 1_500);
      await client.end();
    } finally {
      master.signal('SIGCONT');
    }

    const client = await connectClient(proxy.address.port);
    await client.query('select library frozen-1');
    expect(await backendPort(client)).toBe(master.port);
    // The frozen connections were destroyed, not pooled again.
    expect(pooled).not.toContain(await connectionId(client));
    await client.end();
  });

  it('closes the connections to a server as soon as it is marked down, including one released after that', async () => {
    const { proxy } = env.proxy;
    const library = env.sandbox.libraries[0];
    const { master } = library;
    await serverState(proxy, master, 'up');
    const holder = await connectClient(proxy.address.port);
    await holder.query('select library down-1');
    expect(await backendPort(holder)).toBe(master.port);
    const held = await connectionId(holder);
    const quitter = await connectClient(proxy.address.port);
    await quitter.query('select library down-1');
    const idle = await connectionId(quitter);
    await quitter.end();

    const down = serverState(proxy, master, 'down');
    master.signal('SIGSTOP');
    try {
      await down;
      await holder.end(); // its backend connection comes back to the pool after the server was marked down
    } finally {
      master.signal('SIGCONT');
    }
    // The server sees the connections closed once it runs again; a pooled one would stay for the idle timeout (60 s).
    const deadline = Date.now() + 5_000;
    let open: number[] = [];
    do {
      const rows = (await master.query('SELECT id FROM information_schema.processlist WHERE id IN (?, ?)', [held, idle])) as { id: number }[];
      open = rows.map((row) => Number(row.id));
      if (open.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < deadline);
    expect({ held, idle, open }).toEqual({ held, idle, open: [] });
  });
});
