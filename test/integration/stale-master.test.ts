import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { startProxy } from '../../src/server.js';
import { nextEvent } from '../support/next-event.js';
import { address, adminQuery, serverState } from '../support/server-state.js';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('stale-master', {
  libraries: 1,
  replicas: 1,
  extra: {
    health: { interval_ms: 250, timeout_ms: 1000, fail_threshold: 3, rise_threshold: 1 },
    session_pool: { connect_timeout_ms: 1000 },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
  },
});




describe('a server left by failover', () => {
  it('is no failover candidate until an operator fails back to it, across a restart of the proxy', async () => {
    let proxy = env.proxy.proxy;
    const library = env.sandbox.libraries[0];
    const { master, replicas: [replica] } = library;
    await serverState(proxy, master, 'up');

    const failedOver = nextEvent(proxy.events, 'failover', (event) => event.library === library.name);
    await master.kill('SIGKILL');
    expect(await failedOver).toMatchObject({ from: address(master), to: address(replica) });
    const writer = await connectClient(proxy.address.port);
    await writer.query('select library stale-1');
    expect(await backendPort(writer)).toBe(replica.port);
    await writer.query("replace into test_table values ('written-after-failover', 'only on the replica')");
    await writer.end();

    // The old master comes back without that write; then the replica dies.
    await master.restart();
    await serverState(proxy, master, 'up');
    const failovers: unknown[] = [];
    const stopWatching = proxy.events.on('failover', (event) => failovers.push(event));
    await replica.kill('SIGKILL');
    await serverState(proxy, replica, 'down');
    const client = await connectClient(proxy.address.port);
    const refusal = {
      errno: 7106,
      message: expect.stringMatching(
        new RegExp(`${address(master)} left by failover at \\d{4}-\\d\\d-\\d\\dT.*fail back with \`failback library ${library.name} to ${address(master)}\``),
      ),
    };
    await expect(client.query('select library stale-1')).rejects.toMatchObject(refusal);
    await client.end();
    stopWatching();
    expect(failovers).toEqual([]);

    // The mark is in mysqlda.state.json and binds after a restart.
    await proxy.close();
    const config = parseConfigText(await readFile(env.proxy.configPath, 'utf8'), env.proxy.configPath);
    const state = JSON.parse(await readFile(path.join(config.saveDir, 'mysqlda.state.json'), 'utf8'));
    expect(state.libraries[library.name]).toMatchObject({ current: address(replica), left_by_failover: { [address(master)]: expect.any(String) } });
    proxy = await startProxy(config, silentLogger());
    env.proxy.proxy = proxy;
    env.proxy.stop = () => proxy.close();
    await serverState(proxy, master, 'up');
    await serverState(proxy, replica, 'down');
    const afterRestart = await connectClient(proxy.address.port);
    await expect(afterRestart.query('select library stale-1')).rejects.toMatchObject(refusal);
    const rows = (await adminQuery(proxy, 'show servers')) as Record<string, unknown>[];
    expect(rows.map((row) => [row.server, row.state, row.current, typeof row.left_by_failover])).toEqual([
      [address(master), 'up', 'no', 'string'],
      [address(replica), 'down', 'yes', 'object'],
    ]);

    // The operator decides the master is good to use (e.g. after re-syncing it): the library serves from it again.
    expect(await adminQuery(proxy, `failback library ${library.name} to ${address(master)}`)).toMatchObject({ affectedRows: 1 });
    await afterRestart.query('select library stale-1');
    expect(await backendPort(afterRestart)).toBe(master.port);
    await afterRestart.end();
  });
});
