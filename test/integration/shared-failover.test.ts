import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { backendPort, connectClient, startTestProxy, type ProxyUnderTest } from '../support/proxy-harness.js';
import { DIRECTORY_DATABASE, sharedDirectoryExtra, startDirectoryServer } from '../support/directory-server.js';
import { address, adminQuery, serverState } from '../support/server-state.js';

const KEY = 'shared-key';

let dir: string;
let sandbox: Sandbox;
let directory: MariadbServer;
const proxies: ProxyUnderTest[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-shared-failover-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 1, replicas: 2 });
  directory = await startDirectoryServer(path.join(dir, 'directory'), sandbox);
  const extra = {
    ...sharedDirectoryExtra(directory),
    health: { interval_ms: 200, timeout_ms: 1000, fail_threshold: 2, rise_threshold: 1 },
    session_pool: { connect_timeout_ms: 1000 },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
  };
  for (let i = 1; i <= 3; i++) proxies.push(await startTestProxy(sandbox, path.join(dir, `proxy${i}`), extra));
}, 120_000);

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.stop()));
  await sandbox?.stop();
  await directory?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The @@port of the server a new session of the key lands on through the proxy, or the error's errno. */
async function routedPort(proxy: ProxyUnderTest): Promise<number | { errno: number }> {
  const client = await connectClient(proxy.port);
  try {
    await client.query(`select library ${KEY}`);
    return await backendPort(client);
  } catch (err) {
    return { errno: (err as { errno: number }).errno };
  } finally {
    await client.end();
  }
}

const routes = () => Promise.all(proxies.map(routedPort));
const library = () => sandbox.libraries[0];
const epochs = () => proxies.map((proxy) => proxy.proxy.status().libraries[0].epoch);
const storedEpoch = async () => Number((await directory.query(`SELECT epoch FROM ${DIRECTORY_DATABASE}.mysqlda_library_state`))[0].epoch);
const until = (check: () => Promise<void> | void) => vi.waitFor(check, { timeout: 20_000, interval: 100 });

describe('failover state shared by three proxies through the directory', () => {
  it('a master killed behind 3 proxies: all three route to the same replica and none fails back when it returns', async () => {
    const { master, replicas } = library();
    expect(await routes()).toEqual([master.port, master.port, master.port]);
    expect(await storedEpoch()).toBe(1);

    await master.kill('SIGKILL');
    await until(async () => {
      const ports = await routes();
      expect(new Set(ports).size).toBe(1);
      expect(replicas.map((replica) => replica.port)).toContain(ports[0]);
    });
    const [port] = await routes();
    expect(await storedEpoch()).toBe(2);
    const [row] = await directory.query(`SELECT current_server, servers, left_by_failover FROM ${DIRECTORY_DATABASE}.mysqlda_library_state`);
    expect(row.current_server).toBe(`127.0.0.1:${port}`);
    expect(JSON.parse(row.servers)).toEqual([master, ...replicas].map(address));
    expect(Object.keys(JSON.parse(row.left_by_failover))).toEqual([address(master)]);
    await until(() => expect(epochs()).toEqual([2, 2, 2]));

    await master.restart();
    for (const proxy of proxies) await serverState(proxy.proxy, master, 'up');
    expect(await routes()).toEqual([port, port, port]);
    expect(await storedEpoch()).toBe(2);
  });

  it('an operator failback through one proxy is followed by the others within a few health intervals', async () => {
    const { master } = library();
    expect(await adminQuery(proxies[0].proxy, `failback library ${library().name} to ${address(master)}`)).toMatchObject({ affectedRows: 1 });
    expect(await routedPort(proxies[0])).toBe(master.port);
    await until(async () => expect(await routes()).toEqual([master.port, master.port, master.port]));
    expect(await storedEpoch()).toBe(3);
    const rows = (await adminQuery(proxies[2].proxy, 'show servers')) as Record<string, unknown>[];
    expect(rows.map((row) => [row.server, row.current, Number(row.epoch), row.failover_state])).toEqual([
      [address(master), 'yes', 3, 'reachable'],
      ...library().replicas.map((replica) => [address(replica), 'no', 3, 'reachable']),
    ]);
  });

  it('moves no library while the directory is down (7106 for it), and moves it once the directory is back', async () => {
    const { master, replicas } = library();
    await directory.kill('SIGKILL');
    await until(() => expect(proxies.map((proxy) => proxy.proxy.status().failoverState?.reachable)).toEqual([false, false, false]));

    await master.kill('SIGKILL');
    for (const proxy of proxies) await serverState(proxy.proxy, master, 'down');
    expect(await routes()).toEqual([{ errno: 7106 }, { errno: 7106 }, { errno: 7106 }]);
    expect(proxies.map((proxy) => proxy.proxy.status().libraries[0].servers.find((server) => server.current)?.address)).toEqual([
      address(master),
      address(master),
      address(master),
    ]);

    await directory.restart();
    await until(async () => {
      const ports = await routes();
      expect(new Set(ports).size).toBe(1);
      expect(replicas.map((replica) => replica.port)).toContain(ports[0]);
    });
    expect(await storedEpoch()).toBe(4);
    await until(() => expect(epochs()).toEqual([4, 4, 4]));
    expect(proxies.map((proxy) => proxy.proxy.status().failoverState?.reachable)).toEqual([true, true, true]);
  });

  it('counts a directory server that stops answering as unreachable instead of waiting on it, and recovers when it answers again', async () => {
    directory.signal('SIGSTOP');
    try {
      await until(() => expect(proxies.map((proxy) => proxy.proxy.status().failoverState?.reachable)).toEqual([false, false, false]));
      // An operator's move would not reach the other proxies: it is refused at once, not left waiting.
      const other = library().replicas.find((replica) => proxies[0].proxy.status().libraries[0].currentServer !== address(replica))!;
      await expect(adminQuery(proxies[0].proxy, `failback library ${library().name} to ${address(other)}`)).rejects.toMatchObject({
        message: expect.stringContaining('the failover state store is unreachable'),
      });
    } catch (err) {
      directory.signal('SIGCONT');
      throw err;
    }
    directory.signal('SIGCONT');
    await until(() => expect(proxies.map((proxy) => proxy.proxy.status().failoverState?.reachable)).toEqual([true, true, true]));
  });
});
