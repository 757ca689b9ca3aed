import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { probeServer } from '../../src/backend/health-monitor.js';
import { nextEvent } from '../support/next-event.js';
import { backendPort, useProxyFixture } from '../support/proxy-harness.js';
import { hasRow, keyOn, serverStatus, sessionOn, until, writeThrough } from '../support/replication.js';
import { address, adminQuery, serverState } from '../support/server-state.js';

// Library 1 keeps list order; library 2 (failover.mode) fails over to the most advanced replica.
const env = useProxyFixture('replication-failover', {
  libraries: 2,
  replicas: 2,
  extra: {
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 1 },
    session_pool: { connect_timeout_ms: 1000 },
    failover: { mode: 'most_advanced', max_lag_s: 1 },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
    admin: { http: '127.0.0.1:0' },
  },
  adjust: (config) => {
    config.libraries[0].failoverMode = 'ordered';
  },
});

function adminUrl(path: string): string {
  const admin = env.proxy.proxy.adminAddress();
  if (!admin) throw new Error('the admin listener is off');
  return `http://${admin.host}:${admin.port}${path}`;
}

describe('replication-aware failover', () => {
  it('reads each server\'s replication: source, threads, lag and executed GTID position', async () => {
    const { proxy } = env.proxy;
    const [library] = env.sandbox.libraries;
    await until('a health check with replication', () => serverStatus(proxy, library.replicas[0])?.replication?.lagSeconds === 0);
    expect(serverStatus(proxy, library.master)?.replication).toMatchObject({ replicating: false, gtidExecuted: expect.stringMatching(/^0-\d+-\d+$/) });
    expect(serverStatus(proxy, library.replicas[0])?.replication).toMatchObject({
      replicating: true,
      source: address(library.master),
      ioRunning: true,
      sqlRunning: true,
      lastError: null,
    });
    const rows = (await adminQuery(proxy, 'show servers')) as Record<string, unknown>[];
    expect(rows.find((row) => row.server === address(library.replicas[0]))).toMatchObject({ replicates_from: address(library.master), io_running: 'yes', lag_seconds: '0' });
    expect(await (await fetch(adminUrl('/metrics'))).text()).toContain(`mysqlda_server_replication_lag_seconds{server="${address(library.replicas[0])}"} 0`);
  });

  it('an account that may not read the replica status: read_only is read, replication is null, the check passes', async () => {
    const [library] = env.sandbox.libraries;
    await library.master.query("CREATE USER IF NOT EXISTS 'watcher'@'%' IDENTIFIED BY 'watcher-pw'");
    await env.sandbox.waitForReplication();
    const watcher = { host: library.replicas[0].host, port: library.replicas[0].port, user: 'watcher', password: 'watcher-pw', database: '', tls: null };
    expect(await probeServer(watcher, 2000)).toEqual({ ok: true, readOnly: false, replication: null });
    // The grant docs/replication-failover.md names for the health check's account is enough.
    await library.master.query("GRANT SLAVE MONITOR ON *.* TO 'watcher'@'%'");
    await env.sandbox.waitForReplication();
    expect(await probeServer(watcher, 2000)).toMatchObject({ ok: true, replication: { replicating: true, source: address(library.master) } });
  });

  it('master killed: most_advanced takes the replica that applied the most, ordered the next of the list', async () => {
    const { proxy, port } = env.proxy;
    const [ordered, advanced] = env.sandbox.libraries;
    const keys = [await keyOn(port, ordered.name, 'ordered'), await keyOn(port, advanced.name, 'advanced')];
    // The first replica of each library stops applying; writes go on and reach the second one only.
    for (const library of env.sandbox.libraries) await library.replicas[0].query('STOP SLAVE SQL_THREAD');
    for (const [i, library] of env.sandbox.libraries.entries()) {
      for (let n = 0; n < 3; n++) await writeThrough(port, keys[i], `held-back-${i}-${n}`);
      await until('the second replica to apply the writes', () => hasRow(library.replicas[1], env.sandbox.database, `held-back-${i}-2`));
      await until('the proxy to read the positions apart', () => {
        const [held, ahead] = library.replicas.map((replica) => serverStatus(proxy, replica)?.replication?.gtidExecuted);
        return held !== undefined && ahead !== undefined && held !== ahead;
      });
    }

    const moves = env.sandbox.libraries.map((library) => nextEvent(proxy.events, 'failover', (event) => event.library === library.name));
    await Promise.all(env.sandbox.libraries.map((library) => library.master.kill('SIGKILL')));
    expect(await moves[0]).toMatchObject({ from: address(ordered.master), to: address(ordered.replicas[0]) });
    expect(await moves[1]).toMatchObject({ from: address(advanced.master), to: address(advanced.replicas[1]) });

    const client = await sessionOn(port, keys[1]);
    expect(await backendPort(client)).toBe(advanced.replicas[1].port);
    const [rows] = await client.query('select count(*) as n from test_table where name like ?', ['held-back-1-%']);
    expect(rows).toEqual([{ n: 3 }]);
    await client.end();
  });

  it('refuses a candidate lagging past max_lag_s with 7106 and the reason, and takes it when an operator forces it', async () => {
    const { proxy, port } = env.proxy;
    const library = env.sandbox.libraries[1];
    const [lagging, current] = library.replicas;
    const key = await keyOn(port, library.name, 'lag');
    // The held-back replica follows the new master again, then falls behind it for real: a lock its SQL thread waits for.
    await lagging.query('STOP SLAVE');
    await lagging.query('CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USE_GTID = slave_pos', [current.host, current.port]);
    await lagging.query('START SLAVE');
    await until('the replica to catch up with the new master', () => hasRow(lagging, env.sandbox.database, 'held-back-1-2'));
    const locker = await mysql.createConnection({ host: lagging.host, port: lagging.port, user: 'root' });
    try {
      await locker.query(`LOCK TABLES \`${env.sandbox.database}\`.test_table WRITE`);
      await writeThrough(port, key, 'waits-for-the-lock');
      await until('the proxy to read a lag past 1 s', () => (serverStatus(proxy, lagging)?.replication?.lagSeconds ?? 0) >= 2);

      await current.kill('SIGKILL');
      await serverState(proxy, current, 'down');
      const refusal = { errno: 7106, message: expect.stringMatching(new RegExp(`${address(lagging)}.*lagged \\d+ s .*failover.max_lag_s 1.*force`)) };
      await expect(sessionOn(port, key)).rejects.toMatchObject(refusal);
      expect(proxy.status().libraries[1].failover).toMatchObject({ mode: 'most_advanced', phase: 'refused' });
      const health = await fetch(adminUrl('/healthz'));
      expect([health.status, await health.text()]).toEqual([503, expect.stringContaining(`library ${library.name} does not serve: ${address(current)} is down`)]);
      expect(await (await fetch(adminUrl('/metrics'))).text()).toContain(`mysqlda_library_failover_blocked{library="${library.name}"} 1`);
      await expect(adminQuery(proxy, `failback library ${library.name} to ${address(lagging)}`)).rejects.toMatchObject({
        errno: 7102,
        message: expect.stringContaining('add `force`'),
      });

      expect(await adminQuery(proxy, `failback library ${library.name} to ${address(lagging)} force`)).toMatchObject({ affectedRows: 1 });
      const client = await sessionOn(port, key);
      expect(await backendPort(client)).toBe(lagging.port);
      await client.end();
      expect(proxy.status().libraries[1].failover).toMatchObject({ phase: 'serving' });
    } finally {
      await locker.end();
    }
  });
});
