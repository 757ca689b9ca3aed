import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';
import { nextEvent } from '../support/next-event.js';
import { address, adminQuery, serverState } from '../support/server-state.js';

const env = useProxyFixture('health', {
  libraries: 1,
  replicas: 1,
  extra: {
    // A refused connection marks a server down at once; a generous timeout keeps a busy CI machine from failing servers over.
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 2 },
    session_pool: { connect_timeout_ms: 1000 },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
  },
});



async function portOfNewSession(proxy: RunningProxy, key: string): Promise<number> {
  const client = await connectClient(proxy.address.port);
  try {
    await client.query(`select library ${key}`);
    return await backendPort(client);
  } finally {
    await client.end();
  }
}


describe('health checks and the sticky-primary failover policy', () => {
  it('master down: new sessions go to the replica; master back: they stay there until an operator fails back', async () => {
    const { proxy } = env.proxy;
    const library = env.sandbox.libraries[0];
    await serverState(proxy, library.master, 'up');
    expect(await portOfNewSession(proxy, 'sticky-1')).toBe(library.master.port);

    const failedOver = nextEvent(proxy.events, 'failover', (event) => event.library === library.name);
    await library.master.kill('SIGKILL');
    expect(await failedOver).toEqual({ library: library.name, from: address(library.master), to: address(library.replicas[0]) });
    expect(await portOfNewSession(proxy, 'sticky-1')).toBe(library.replicas[0].port);

    await library.master.restart();
    await serverState(proxy, library.master, 'up');
    expect(await portOfNewSession(proxy, 'sticky-1')).toBe(library.replicas[0].port);
    expect(proxy.status().libraries[0]).toMatchObject({
      currentServer: address(library.replicas[0]),
      servers: [
        { address: address(library.master), state: 'up', current: false, readOnly: false },
        { address: address(library.replicas[0]), state: 'up', current: true },
      ],
    });

    expect(await adminQuery(proxy, `failback library ${library.name} to ${address(library.master)}`)).toMatchObject({ affectedRows: 1 });
    expect(await portOfNewSession(proxy, 'sticky-1')).toBe(library.master.port);
  });

  it("keeps a library's current server across a restart of the proxy, even with the old master up", async () => {
    const library = env.sandbox.libraries[0];
    let proxy = env.proxy.proxy;
    const failedOver = nextEvent(proxy.events, 'failover', (event) => event.library === library.name);
    await library.master.kill('SIGKILL');
    await failedOver;
    await library.master.restart();
    await serverState(proxy, library.master, 'up');

    await proxy.close();
    const config = parseConfigText(await readFile(env.proxy.configPath, 'utf8'), env.proxy.configPath);
    proxy = await startProxy(config, silentLogger());
    env.proxy.proxy = proxy;
    env.proxy.stop = () => proxy.close();
    const state = JSON.parse(await readFile(path.join(config.saveDir, 'mysqlda.state.json'), 'utf8'));
    expect(state.libraries[library.name].current).toBe(address(library.replicas[0]));

    await serverState(proxy, library.master, 'up');
    expect(proxy.status().libraries[0].currentServer).toBe(address(library.replicas[0]));
    expect(await portOfNewSession(proxy, 'sticky-2')).toBe(library.replicas[0].port);

    // `failback library <name>` without a server goes back to the first of the list.
    expect(await adminQuery(proxy, `failback library ${library.name}`)).toMatchObject({ affectedRows: 1 });
    expect(await portOfNewSession(proxy, 'sticky-2')).toBe(library.master.port);
  });

  it('refuses to fail back to a server that is down, and shows the servers to the admin account', async () => {
    const { proxy } = env.proxy;
    const library = env.sandbox.libraries[0];
    await library.replicas[0].kill('SIGKILL');
    await serverState(proxy, library.replicas[0], 'down');
    await expect(adminQuery(proxy, `failback library ${library.name} to ${address(library.replicas[0])}`)).rejects.toMatchObject({
      errno: 7102,
      message: expect.stringContaining(`${address(library.replicas[0])} is down`),
    });
    const rows = (await adminQuery(proxy, 'show servers')) as Record<string, unknown>[];
    expect(rows.map((row) => [row.server, row.state, row.current])).toEqual([
      [address(library.master), 'up', 'yes'],
      [address(library.replicas[0]), 'down', 'no'],
    ]);
    await library.replicas[0].restart();
    await serverState(proxy, library.replicas[0], 'up');
  });
});
