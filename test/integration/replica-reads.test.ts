import type mysql from 'mysql2/promise';
import { describe, expect, it, vi } from 'vitest';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('replica-reads', {
  libraries: 1,
  replicas: 2,
  extra: {
    health: { interval_ms: 200, timeout_ms: 1000, fail_threshold: 3, rise_threshold: 2 },
    admin: { http: '127.0.0.1:0' },
    users: [{ user: 'reporter', pass: 'reporter', db: 'calvindb', reads: 'replica', max_replica_lag_s: 10 }],
  },
});

async function readSession(key: string, clause = 'for read', user?: { user: string; password: string }): Promise<mysql.Connection> {
  const connection = await connectClient(env.proxy.port, user);
  await connection.query(user ? `select library ${key}` : `select library ${key} ${clause}`);
  return connection;
}

async function serverOf(connection: mysql.Connection): Promise<{ port: number; server: string }> {
  const [rows] = await connection.query('show library');
  return { port: await backendPort(connection), server: (rows as { server: string }[])[0].server };
}

const replicaPorts = () => env.sandbox.libraries[0].replicas.map((replica) => replica.port);

/** Polls until a read session lands on a replica: the health monitor has read the replicas' lag. */
async function replicasReadable(): Promise<void> {
  await vi.waitFor(
    async () => {
      const probe = await readSession('replica-probe');
      const { port } = await serverOf(probe);
      await probe.end();
      expect(replicaPorts()).toContain(port);
    },
    { timeout: 15_000, interval: 100 },
  );
}

describe('replica reads', () => {
  it('serves `select library … for read` on the replicas in turn; show library names the server; a write gets the read-only error', async () => {
    await replicasReadable();
    const sessions = await Promise.all([1, 2, 3, 4].map((i) => readSession(`replica-${i}`)));
    const servers = await Promise.all(sessions.map(serverOf));
    expect(new Set(servers.map((s) => s.port))).toEqual(new Set(replicaPorts()));
    for (const { port, server } of servers) expect(server).toBe(`127.0.0.1:${port}`);
    const [[{ id }]] = (await sessions[0].query('select @@server_id as id')) as unknown as [[{ id: number }]];
    expect(id).not.toBe((await env.sandbox.libraries[0].master.query('select @@server_id as id'))[0].id);

    await expect(sessions[0].query("insert into test_table values ('from-a-reader', 'no')")).rejects.toMatchObject({ errno: 1792 });
    await Promise.all(sessions.map((session) => session.end()));

    // The account option: every route of `reporter` is a read route.
    const reporter = await readSession('replica-account', '', { user: 'reporter', password: 'reporter' });
    expect(replicaPorts()).toContain(await backendPort(reporter));
    await reporter.end();

    // A plain `select library` stays on the current server.
    const writer = await connectClient(env.proxy.port);
    await writer.query('select library replica-1');
    expect(await backendPort(writer)).toBe(env.sandbox.libraries[0].master.port);
    await writer.end();
  });

  it('falls back to the current server, and counts it, while no replica is fresh enough', async () => {
    const { master, replicas } = env.sandbox.libraries[0];
    const fallbacks: string[] = [];
    const off = env.proxy.proxy.events.on('replica-read-fallback', (event) => fallbacks.push(event.library));
    try {
      for (const replica of replicas) await replica.query('STOP SLAVE SQL_THREAD');
      await master.query("REPLACE INTO calvindb.test_table VALUES ('lagging', 'behind')");
      // Once the monitor has read the stopped replicas, read sessions go to the master.
      await vi.waitFor(
        async () => {
          const reader = await readSession('replica-lag', 'for read max_lag 1');
          const port = await backendPort(reader);
          await reader.end();
          expect(port).toBe(master.port);
        },
        { timeout: 15_000, interval: 100 },
      );
      expect(fallbacks.length).toBeGreaterThan(0);
      expect(await metricsText()).toMatch(/^mysqlda_replica_read_fallbacks_total\{library="mysqlda1"\} [1-9]/m);
    } finally {
      off();
      for (const replica of replicas) await replica.query('START SLAVE SQL_THREAD');
    }
    await env.sandbox.waitForReplication();
    await replicasReadable();
  });
});

async function metricsText(): Promise<string> {
  const address = env.proxy.proxy.adminAddress()!;
  const response = await fetch(`http://${address.host}:${address.port}/metrics`);
  return response.text();
}
