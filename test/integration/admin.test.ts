import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';
import { nextEvent } from '../support/next-event.js';
import { address, serverState } from '../support/server-state.js';

const run = promisify(execFile);
const env = useProxyFixture('admin', {
  libraries: 2,
  replicas: 1,
  extra: {
    admin: { http: '127.0.0.1:0' },
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 2 },
    users: [{ user: 'ops', pass: 'ops-pw', admin: true }],
  },
});



function adminUrl(path: string): string {
  const admin = env.proxy.proxy.adminAddress();
  if (!admin) throw new Error('the admin listener is off');
  return `http://${admin.host}:${admin.port}${path}`;
}

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(adminUrl('/metrics'))).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+) (\S+)$/.exec(line);
    if (match && !line.startsWith('#')) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

const value = (samples: Map<string, number>, series: string) => samples.get(series) ?? 0;

describe('admin HTTP listener', () => {
  it('serves /metrics whose values move with traffic', async () => {
    const { proxy } = env.proxy;
    await Promise.all(env.sandbox.libraries.map((library) => serverState(proxy, library.master, 'up')));
    const before = await scrape();

    const clients = await Promise.all([0, 1, 2].map(() => connectClient(env.proxy.port)));
    for (const [i, client] of clients.entries()) {
      await client.query(`select library metrics-${i}`);
      await client.query('select 1');
      await client.query("replace into test_table values ('metrics', 'x')");
    }
    const during = await scrape();
    const libraries = proxy.status().libraries.map((l) => l.name);
    const sessionsNow = libraries.reduce((sum, library) => sum + value(during, `mysqlda_sessions{library="${library}"}`), 0);
    expect(sessionsNow).toBe(3);
    expect(value(during, 'mysqlda_client_connections')).toBe(3);
    let closed = 0;
    const allClosed = new Promise<void>((resolve) => proxy.events.on('session-closed', () => ++closed === 3 && resolve()));
    await Promise.all(clients.map((client) => client.end()));
    await allClosed;
    await expect(connectClient(env.proxy.port, { password: 'wrong' })).rejects.toMatchObject({ errno: 1045 });
    const after = await scrape();

    const delta = (series: string) => value(after, series) - value(before, series);
    const sumOver = (samples: Map<string, number>, metric: string) =>
      libraries.reduce((sum, library) => sum + value(samples, `${metric}{library="${library}"}`), 0);
    expect(delta('mysqlda_client_connections_total')).toBe(4);
    expect(delta('mysqlda_auth_failures_total')).toBe(1);
    expect(sumOver(after, 'mysqlda_commands_total') - sumOver(before, 'mysqlda_commands_total')).toBeGreaterThanOrEqual(6);
    expect(sumOver(after, 'mysqlda_client_received_bytes_total')).toBeGreaterThan(sumOver(before, 'mysqlda_client_received_bytes_total'));
    expect(sumOver(after, 'mysqlda_assignments_total') - sumOver(before, 'mysqlda_assignments_total')).toBe(3);
    expect(sumOver(after, 'mysqlda_keys') - sumOver(before, 'mysqlda_keys')).toBe(3);
    const connects = (samples: Map<string, number>) =>
      env.sandbox.libraries.reduce((sum, l) => sum + value(samples, `mysqlda_backend_connect_seconds_count{server="${address(l.master)}"}`), 0);
    expect(connects(after)).toBeGreaterThan(connects(before));
    expect(value(after, 'mysqlda_client_connections')).toBe(0);
    // A left connection is back in its pool once the server has answered its reset, a moment after the session
    // closed: wait for it rather than read the pool at once.
    const idleIn = (samples: Map<string, number>) =>
      env.sandbox.libraries.reduce((sum, l) => sum + value(samples, `mysqlda_pool_connections{server="${address(l.master)}",state="idle"}`), 0);
    let idle = idleIn(after);
    for (const deadline = Date.now() + 10_000; idle === 0 && Date.now() < deadline; idle = idleIn(await scrape())) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(idle).toBeGreaterThan(0);
    expect(value(after, `mysqlda_server_up{library="${libraries[0]}",server="${address(env.sandbox.libraries[0].master)}"}`)).toBe(1);
  });

  it('counts a refused COM_CHANGE_USER as a failed authentication, and its session still reports its end and traffic', async () => {
    const { proxy } = env.proxy;
    const libraries = proxy.status().libraries.map((l) => l.name);
    const received = (samples: Map<string, number>) =>
      libraries.reduce((sum, library) => sum + value(samples, `mysqlda_client_received_bytes_total{library="${library}"}`), 0);
    const client = await connectClient(env.proxy.port);
    await client.query('select library change-user-refused');
    await client.query('select 1');
    const before = await scrape();
    const ended = nextEvent(proxy.events, 'session-closed', (event) => event.library !== null);
    await expect(client.changeUser({ user: 'calvin', password: 'wrong' })).rejects.toMatchObject({ errno: 1045 });
    await ended;
    const after = await scrape();
    const delta = (series: string) => value(after, series) - value(before, series);
    expect(delta('mysqlda_auth_failures_total')).toBe(1);
    expect(delta('mysqlda_client_rejected_total')).toBe(0);
    expect(received(after)).toBeGreaterThan(received(before));
    client.destroy();
  });

  it('answers /healthz with 503 and the reason while a library has no server up, 200 again once one is back', async () => {
    const { proxy } = env.proxy;
    const ok = await fetch(adminUrl('/healthz'));
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);

    const library = env.sandbox.libraries[1];
    await Promise.all([library.master.kill('SIGKILL'), library.replicas[0].kill('SIGKILL')]);
    await Promise.all([serverState(proxy, library.master, 'down'), serverState(proxy, library.replicas[0], 'down')]);
    const unavailable = await fetch(adminUrl('/healthz'));
    expect(unavailable.status).toBe(503);
    expect(await unavailable.text()).toBe(
      `unavailable: library ${library.name} has no server up (${address(library.master)} down, ${address(library.replicas[0])} down)\n`,
    );
    const status = await (await fetch(adminUrl('/status'))).json();
    expect(status.libraries[1]).toMatchObject({ name: library.name, currentServer: null });
    expect((await scrape()).get(`mysqlda_server_up{library="${library.name}",server="${address(library.master)}"}`)).toBe(0);

    await Promise.all([library.master.restart(), library.replicas[0].restart()]);
    await serverState(proxy, library.replicas[0], 'up');
    expect((await fetch(adminUrl('/healthz'))).status).toBe(200);
    await serverState(proxy, library.master, 'up');
  });

  it('fails a library back on POST /failback', async () => {
    const { proxy } = env.proxy;
    const library = env.sandbox.libraries[1];
    // The previous test left the library wherever the monitor saw a server first: move it explicitly both ways.
    const toReplica = await fetch(adminUrl(`/failback?library=${library.name}&to=${address(library.replicas[0])}`), { method: 'POST' });
    expect(await toReplica.json()).toMatchObject({ ok: true });
    expect(proxy.status().libraries[1].currentServer).toBe(address(library.replicas[0]));
    const back = await fetch(adminUrl(`/failback?library=${library.name}`), { method: 'POST' });
    expect([back.status, await back.json()]).toEqual([
      200,
      { ok: true, moved: true, message: `library ${library.name} moved from ${address(library.replicas[0])} to ${address(library.master)}` },
    ]);
    const unknown = await fetch(adminUrl('/failback?library=nope'), { method: 'POST' });
    expect(unknown.status).toBe(409);
  });
});

describe('admin statements on the SQL port', () => {
  it('answers show libraries / servers / sessions for an admin account, from the mariadb CLI', async () => {
    const { stdout } = await run('mariadb', [
      '-h', '127.0.0.1', '-P', String(env.proxy.port), '-u', 'ops', '-pops-pw', '--batch', '-e', 'show libraries; show servers; show sessions',
    ]);
    const [first, second] = env.sandbox.libraries;
    expect(stdout).toContain('library\tweight\tkeys\tcurrent_server\tcurrent_since\tservers_up\tsessions\n');
    expect(stdout).toMatch(new RegExp(`${first.name}\\t1\\t\\d+\\t${address(first.master)}\\t`));
    expect(stdout).toContain(`${second.name}\t2\t${address(second.replicas[0])}\tup\tno\t0\tNULL`);
    expect(stdout).toMatch(/id\tuser\tclient\tlibrary\tkey\tserver\tseconds\tbytes_in\tbytes_out\n\d+\tops\t127\.0\.0\.1:\d+\tNULL/);
  });

  it('keeps admin statements away from ordinary accounts', async () => {
    const client = await connectClient(env.proxy.port);
    await expect(client.query('show libraries')).rejects.toMatchObject({ errno: 7101 });
    await client.end();
  });
});
