import type mysql from 'mysql2/promise';
import { describe, expect, it, vi } from 'vitest';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('failover', {
  libraries: 2,
  replicas: 1,
  extra: {
    session_pool: { unused_forward_session_timeout: 60, connect_timeout_ms: 1000 },
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 2 },
  },
});

/** Resolves once the health monitor counts the server as up again. */
function serverUp(port: number): Promise<void> {
  const { proxy } = env.proxy;
  const isUp = () => proxy.status().libraries.some((l) => l.servers.some((s) => s.address === `127.0.0.1:${port}` && s.state === 'up'));
  if (isUp()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = proxy.events.on('server-health', (event) => {
      if (event.server === `127.0.0.1:${port}` && event.to === 'up') {
        off();
        resolve();
      }
    });
  });
}

async function libraryOf(connection: mysql.Connection): Promise<string> {
  const [rows] = await connection.query('show library');
  return (rows as { library: string }[])[0].library;
}

describe('failover to the next server of a library', () => {
  it('gives a session whose master dies mid-statement an error, never a silent switch, and keeps serving others', async () => {
    const victim = await connectClient(env.proxy.port);
    await victim.query('select library failover-key');
    const name = await libraryOf(victim);
    const target = env.sandbox.libraries.find((l) => l.name === name)!;
    expect(await backendPort(victim)).toBe(target.master.port);

    const [[{ id }]] = (await victim.query('select connection_id() as id')) as unknown as [[{ id: number }]];
    const slow = victim.query('select sleep(30)').catch((err: unknown) => err);
    // The master dies while the statement runs on it, not before it arrives.
    await vi.waitFor(
      async () => {
        const rows = (await target.master.query('select state from information_schema.processlist where id = ?', [id])) as { state: string }[];
        expect(rows[0]?.state).toBe('User sleep');
      },
      { timeout: 10_000, interval: 20 },
    );
    await target.master.kill('SIGKILL');
    // The statement was waiting for its answer: the client gets an ERR naming what was lost.
    expect(await slow).toMatchObject({ errno: 2013, message: expect.stringContaining(`library '${name}'`) });
    victim.destroy();

    // A new session for the same key lands on the replica, at once.
    const next = await connectClient(env.proxy.port);
    await next.query('select library failover-key');
    expect(await backendPort(next)).toBe(target.replicas[0].port);
    await next.query("replace into test_table values ('written-on-replica', 'yes')");
    await next.end();

    // The other library is untouched.
    const other = env.sandbox.libraries.find((l) => l.name !== name)!;
    const bystander = await connectClient(env.proxy.port);
    for (let i = 0; ; i++) {
      await bystander.query(`select library bystander-${i}`);
      if ((await libraryOf(bystander)) === other.name) break;
    }
    expect(await backendPort(bystander)).toBe(other.master.port);
    await bystander.end();
  });

  it('answers `select library` with an error when no server of the library answers, and the client stays connected', async () => {
    const name = 'failover-key';
    const c = await connectClient(env.proxy.port);
    const target = env.sandbox.libraries.find((l) => l.master.running === false)!;
    await target.replicas[0].kill('SIGKILL');
    await expect(c.query(`select library ${name}`)).rejects.toMatchObject({ errno: 7106 });
    const [rows] = await c.query('select 1 as alive');
    expect(rows).toEqual([{ alive: 1 }]);
    // The library had failed over to the replica: it serves again as soon as the monitor sees the replica up.
    await target.replicas[0].restart();
    await serverUp(target.replicas[0].port);
    await c.query(`select library ${name}`);
    expect(await backendPort(c)).toBe(target.replicas[0].port);
    await c.end();
    // Sticky primary: the old master coming back does not take the library back (it missed the writes).
    await target.master.restart();
    await serverUp(target.master.port);
    const later = await connectClient(env.proxy.port);
    await later.query(`select library ${name}`);
    expect(await backendPort(later)).toBe(target.replicas[0].port);
    await later.end();
  });
});
