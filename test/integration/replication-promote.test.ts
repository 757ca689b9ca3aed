import { describe, expect, it } from 'vitest';
import { backendPort, useProxyFixture } from '../support/proxy-harness.js';
import { hasRow, keyOn, serverStatus, sessionOn, until, writeThrough } from '../support/replication.js';
import mysql from 'mysql2/promise';
import { address, adminQuery, serverState } from '../support/server-state.js';

const env = useProxyFixture('replication-promote', {
  libraries: 1,
  replicas: 2,
  extra: {
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 1 },
    session_pool: { connect_timeout_ms: 1000 },
    // Promotion runs as an account with only the grants docs/replication-failover.md lists (created by the first test).
    failover: { mode: 'promote', max_lag_s: 30, promote_timeout_s: 2, user: 'mysqlda_failover', pass: 'fo-pw' },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
  },
});

/** Retries a write through the proxy until it succeeds (the library answers 7106 while it promotes). */
async function writeOnceServed(port: number, key: string, name: string): Promise<void> {
  await until('a write through the proxy', async () => {
    try {
      await writeThrough(port, key, name);
      return true;
    } catch (err) {
      if ((err as { errno?: number }).errno !== 7106) throw err;
      return false;
    }
  });
}

describe('failover.mode promote', () => {
  it('makes the most advanced replica the master, points the other replica at it, and never goes back to the old master', async () => {
    const { proxy, port } = env.proxy;
    const [library] = env.sandbox.libraries;
    const [heldBack, advanced] = library.replicas;
    const key = await keyOn(port, library.name, 'promote');
    await library.master.query("CREATE USER 'mysqlda_failover'@'%' IDENTIFIED BY 'fo-pw'");
    await library.master.query("GRANT SLAVE MONITOR, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, RELOAD ON *.* TO 'mysqlda_failover'@'%'");
    await env.sandbox.waitForReplication(); // the account must reach both replicas before one stops applying
    await heldBack.query('STOP SLAVE SQL_THREAD');
    for (let n = 0; n < 3; n++) await writeThrough(port, key, `before-${n}`);
    await until('the second replica to apply the writes', () => hasRow(advanced, env.sandbox.database, 'before-2'));
    await until('the proxy to read the positions apart', () => {
      const [held, ahead] = library.replicas.map((replica) => serverStatus(proxy, replica)?.replication?.gtidExecuted);
      return held !== undefined && ahead !== undefined && held !== ahead;
    });

    await library.master.kill('SIGKILL');
    await writeOnceServed(port, key, 'after-promotion');
    const client = await sessionOn(port, key);
    expect(await backendPort(client)).toBe(advanced.port);
    await client.end();

    // The promoted replica is a master: no replication, writable.
    expect(await advanced.query('SHOW SLAVE STATUS')).toEqual([]);
    expect(await advanced.query('SELECT @@read_only AS ro')).toEqual([{ ro: 0 }]);
    // The held-back replica replicates from it, with everything it had missed and what is written now.
    const [status] = (await heldBack.query('SHOW SLAVE STATUS')) as Record<string, unknown>[];
    expect(status).toMatchObject({ Master_Port: advanced.port, Using_Gtid: 'Slave_Pos' });
    await writeThrough(port, key, 'replicated-from-the-new-master');
    await until('the row to reach the other replica', () => hasRow(heldBack, env.sandbox.database, 'replicated-from-the-new-master'));
    expect(await hasRow(heldBack, env.sandbox.database, 'before-2')).toBe(true);
    expect(proxy.status().libraries[0].failover).toEqual({ mode: 'promote', phase: 'serving' });

    // The old master comes back: it is not used (it may hold writes nobody else has).
    await library.master.restart();
    await serverState(proxy, library.master, 'up');
    const later = await sessionOn(port, key);
    expect(await backendPort(later)).toBe(advanced.port);
    await later.end();
    expect(proxy.status().libraries[0].servers.find((server) => server.address === address(library.master))).toMatchObject({
      state: 'up',
      current: false,
      leftByFailoverAt: expect.any(String),
    });
  });

  it('a promotion that fails (the replica cannot catch up in time) leaves the library on 7106 with the reason; the operator retries it', async () => {
    const { proxy, port } = env.proxy;
    const [library] = env.sandbox.libraries;
    const [next, current] = library.replicas; // after the first test: `current` is the master, `next` replicates from it
    const key = await keyOn(port, library.name, 'retry');
    const locker = await mysql.createConnection({ host: next.host, port: next.port, user: 'root' });
    try {
      // The replica receives a write but cannot apply it: its SQL thread waits for a table lock.
      await locker.query(`LOCK TABLES \`${env.sandbox.database}\`.test_table WRITE`);
      await writeThrough(port, key, 'waits-on-the-replica');
      await until('the proxy to read the replica behind', () => serverStatus(proxy, next)?.replication?.gtidExecuted !== serverStatus(proxy, current)?.replication?.gtidExecuted);
      await current.kill('SIGKILL');
      await until('the promotion to fail', () => proxy.status().libraries[0].failover?.phase === 'promotion_failed', 30_000);
      await expect(sessionOn(port, key)).rejects.toMatchObject({
        errno: 7106,
        message: expect.stringMatching(new RegExp(`promotion of ${address(next)} failed: catch up: .*within failover.promote_timeout_s \\(2 s\\).*failback library ${library.name} to ${address(next)}\``)),
      });
    } finally {
      await locker.end(); // the lock goes: the replica applies what it had received
    }
    expect(await adminQuery(proxy, `failback library ${library.name} to ${address(next)}`)).toMatchObject({ affectedRows: 0 });
    await writeOnceServed(port, key, 'after-the-retry');
    const client = await sessionOn(port, key);
    expect(await backendPort(client)).toBe(next.port);
    const [rows] = await client.query("select name from test_table where name in ('waits-on-the-replica', 'after-the-retry') order by name");
    expect(rows).toEqual([{ name: 'after-the-retry' }, { name: 'waits-on-the-replica' }]);
    await client.end();
    expect(await next.query('SELECT @@read_only AS ro')).toEqual([{ ro: 0 }]);
  });
});
