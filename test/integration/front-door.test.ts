import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from '../../src/protocol/constants.js';
import type { ProxyEventMap } from '../../src/observability/proxy-events.js';
import { connectClient, startTestProxy, type ProxyUnderTest } from '../support/proxy-harness.js';
import { rawClient } from '../support/raw-client.js';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.js';

let env: TestSandbox;
const proxies: ProxyUnderTest[] = [];

beforeAll(async () => {
  env = await startTestSandbox({ libraries: 2, replicas: 0 });
});
afterAll(async () => {
  for (const proxy of proxies) await proxy.stop();
  await env?.cleanup();
});

/** A proxy of its own in front of the shared sandbox, with `extra` merged into its config. */
async function proxyWith(name: string, extra: Record<string, unknown>): Promise<ProxyUnderTest> {
  const proxy = await startTestProxy(env.sandbox, path.join(env.dir, name), extra);
  proxies.push(proxy);
  return proxy;
}

/** Collects the front door's refusals as /metrics counts them. */
function refusals(proxy: ProxyUnderTest): ProxyEventMap['client-refused']['reason'][] {
  const seen: ProxyEventMap['client-refused']['reason'][] = [];
  proxy.proxy.events.on('client-refused', (event) => seen.push(event.reason));
  return seen;
}

/** Resolves once the proxy has no session left (bounded). */
async function sessionsDrained(proxy: ProxyUnderTest, expected = 0): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (proxy.proxy.sessions().length > expected) {
    if (Date.now() > deadline) throw new Error(`${proxy.proxy.sessions().length} sessions left`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The first packet a raw TCP client reads, and whether the proxy then closed the connection. */
function firstPacket(port: number): Promise<{ payload: Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.once('data', (chunk) => {
      resolve({ payload: chunk.subarray(4, 4 + chunk.readUIntLE(0, 3)), closed });
      socket.resume();
    });
    socket.on('error', reject);
  });
}

const errorCode = (payload: Buffer) => (payload[0] === 0xff ? payload.readUInt16LE(1) : null);

async function stillServes(port: number): Promise<void> {
  const c = await connectClient(port);
  await c.query('select library still-serving');
  const [rows] = await c.query('select 1 as ok');
  expect(rows).toEqual([{ ok: 1 }]);
  await c.end();
}

describe('commands a client may not send', () => {
  let proxy: ProxyUnderTest;
  beforeAll(async () => {
    proxy = await proxyWith('commands', {});
  });

  it('answers COM_SHUTDOWN, binlog and replica commands and unknown codes with an error, sends none of them, and goes on', async () => {
    const client = await rawClient(proxy.port);
    await client.query('select library admin-commands');
    for (const command of [Command.SHUTDOWN, Command.BINLOG_DUMP, Command.BINLOG_DUMP_GTID, Command.REGISTER_SLAVE, Command.DEBUG, Command.DAEMON, 0x40, 0xfa]) {
      // Read as raw packets: a client library would wait for a binlog stream after COM_BINLOG_DUMP.
      const [reply] = await client.pipeline([Buffer.from([command, 0, 0, 0, 0])], 1);
      expect(errorCode(reply)).toBe(command === 0x40 || command === 0xfa ? 1047 : 1227);
    }
    const after = await client.query('select 1');
    expect(after.ok).toBe(true);
    client.close();
    // Every backend is still up: COM_SHUTDOWN never reached one.
    for (const library of env.sandbox.libraries) {
      expect(library.master.running).toBe(true);
      await library.master.query('select 1');
    }
  });

  it('frees the session and its backend connection when a client pipelines a binlog dump and COM_QUIT and closes', async () => {
    for (let i = 0; i < 20; i++) {
      const client = await rawClient(proxy.port);
      await client.query('select library pipeline-leak');
      const socket = client.connection.socket;
      socket.resume();
      socket.end(Buffer.concat([Buffer.from([0x01, 0, 0, 0, 0x1e]), Buffer.from([0x01, 0, 0, 0, 0x01]), Buffer.from([0x42])]));
    }
    await sessionsDrained(proxy);
    const active = proxy.proxy.status().libraries.reduce((sum, library) => sum + (library.sessions ?? 0), 0);
    expect(active).toBe(0);
    await stillServes(proxy.port);
  });

  it('handles COM_PROCESS_KILL as KILL CONNECTION of one of mysqlda\'s connection ids', async () => {
    const victim = await connectClient(proxy.port);
    await victim.query('select library kill-target');
    const closed = new Promise<void>((resolve) => victim.once('error', () => resolve()));
    const victimId = victim.threadId!;
    const killer = await rawClient(proxy.port);
    const id = Buffer.alloc(4);
    id.writeUInt32LE(victimId);
    const result = await killer.command(Buffer.concat([Buffer.from([Command.PROCESS_KILL]), id]));
    expect(result.ok).toBe(true);
    await closed;
    killer.close();
  });
});

describe('packets before login and in the lobby', () => {
  let proxy: ProxyUnderTest;
  beforeAll(async () => {
    proxy = await proxyWith('packets', { server: { max_lobby_packet_bytes: 4096 } });
  });

  it('closes a connection whose handshake packet announces more than 16 KB, without reading it', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    const replies: Buffer[] = [];
    let greeted = false;
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('data', (chunk) => {
      if (!greeted) {
        greeted = true;
        // The header of a 16 MB packet and its first bytes: the rest never needs to arrive.
        socket.write(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x01]), Buffer.alloc(65_536)]));
        return;
      }
      replies.push(chunk);
    });
    socket.on('error', () => undefined);
    await closed;
    expect(errorCode(Buffer.concat(replies).subarray(4))).toBe(1043);
    await stillServes(proxy.port);
  });

  it('answers a lobby packet over server.max_lobby_packet_bytes with 1153 and keeps the session', async () => {
    const client = await rawClient(proxy.port);
    const big = await client.query(`select '${'x'.repeat(10_000)}'`);
    expect(big.error?.code).toBe(1153);
    const huge = await client.query(`select '${'y'.repeat(17 * 1024 * 1024)}'`);
    expect(huge.error?.code).toBe(1153);
    expect((await client.query('select library lobby-after-big')).ok).toBe(true);
    expect((await client.query('select 1')).ok).toBe(true);
    client.close();
  });
});

describe('connection limits', () => {
  it('turns the connection over server.max_connections away with 1040 in place of the greeting, and counts it', async () => {
    const proxy = await proxyWith('max-connections', { server: { max_connections: 3 } });
    const seen = refusals(proxy);
    const held = await Promise.all([0, 1, 2].map(() => connectClient(proxy.port)));
    await expect(connectClient(proxy.port)).rejects.toMatchObject({ errno: 1040 });
    expect(seen).toEqual(['max_connections']);
    await held[0].end();
    await sessionsDrained(proxy, 2);
    const again = await connectClient(proxy.port);
    await again.end();
    for (const c of held.slice(1)) await c.end();
  });

  it('refuses a login over users[].max_connections with 1226, counting that account only', async () => {
    const proxy = await proxyWith('user-limit', { users: [{ user: 'capped', pass: 'pw', max_connections: 2 }] });
    const held = [await connectClient(proxy.port, { user: 'capped', password: 'pw' }), await connectClient(proxy.port, { user: 'capped', password: 'pw' })];
    await expect(connectClient(proxy.port, { user: 'capped', password: 'pw' })).rejects.toMatchObject({ errno: 1226 });
    const other = await connectClient(proxy.port);
    await other.end();
    await held[0].end();
    await sessionsDrained(proxy, 1);
    const next = await connectClient(proxy.port, { user: 'capped', password: 'pw' });
    await next.end();
    await held[1].end();
  });
});

describe('allow lists', () => {
  it('refuses an address outside server.allow with 1130 in place of the greeting', async () => {
    const proxy = await proxyWith('allow', { server: { allow: ['192.0.2.0/24', '::2'] } });
    const { payload, closed } = await firstPacket(proxy.port);
    expect(errorCode(payload)).toBe(1130);
    expect(payload.toString('utf8', 9)).toContain("Host '127.0.0.1' is not allowed");
    await closed;
  });

  it('refuses an account outside its users[].hosts with 1130 before its password is checked, and lets others in', async () => {
    const proxy = await proxyWith('hosts', {
      server: { allow: ['127.0.0.0/8'] },
      users: [
        { user: 'remote', pass: 'pw', hosts: ['198.51.100.0/24'] },
        { user: 'local', pass: 'pw', hosts: ['127.0.0.1'] },
      ],
    });
    await expect(connectClient(proxy.port, { user: 'remote', password: 'wrong' })).rejects.toMatchObject({ errno: 1130 });
    const local = await connectClient(proxy.port, { user: 'local', password: 'pw' });
    await local.end();
  });
});

describe('timeouts', () => {
  it('closes a client that does not log in within server.login_timeout_ms', async () => {
    const proxy = await proxyWith('login-timeout', { server: { login_timeout_ms: 300 } });
    const seen = refusals(proxy);
    const { payload, closed } = await firstPacket(proxy.port);
    expect(payload[0]).toBe(10); // the greeting; the client then says nothing
    await closed;
    expect(seen).toEqual(['login_timeout']);
  });

  it('closes a session idle longer than server.client_idle_timeout_s, in the lobby and routed, and not one whose statement runs', async () => {
    const proxy = await proxyWith('idle', { server: { client_idle_timeout_s: 1 } });
    const lobby = await connectClient(proxy.port);
    const routed = await connectClient(proxy.port);
    await routed.query('select library idle-routed');
    const busy = await connectClient(proxy.port);
    await busy.query('select library idle-busy');
    const lobbyClosed = new Promise<void>((resolve) => lobby.once('error', () => resolve()));
    const routedClosed = new Promise<void>((resolve) => routed.once('error', () => resolve()));
    const [rows] = await busy.query('select sleep(3) as slept');
    expect(rows).toEqual([{ slept: 0 }]);
    await Promise.all([lobbyClosed, routedClosed]);
    await busy.end();
  });
});

describe('failed-login throttling', () => {
  it('delays the greeting of an address after server.max_login_failures failures, and a success clears it', async () => {
    const proxy = await proxyWith('throttle', { server: { max_login_failures: 2, max_login_delay_ms: 1500 } });
    const greetingTime = async () => {
      const started = Date.now();
      const { closed } = await firstPacket(proxy.port).then((first) => {
        return first;
      });
      const ms = Date.now() - started;
      void closed;
      return ms;
    };
    for (let i = 0; i < 2; i++) await expect(connectClient(proxy.port, { password: 'wrong' })).rejects.toMatchObject({ errno: 1045 });
    expect(await greetingTime()).toBeGreaterThanOrEqual(900);
    // The delayed client still logs in; its success clears the address.
    const ok = await connectClient(proxy.port);
    await ok.end();
    expect(await greetingTime()).toBeLessThan(900);
  });
});

describe('query rate', () => {
  it('refuses commands over users[].max_queries_per_second with 1226 when they may not wait', async () => {
    const proxy = await proxyWith('rate-refuse', { server: { max_throttle_ms: 0 }, users: [{ user: 'slow', pass: 'pw', max_queries_per_second: 5 }] });
    const seen = refusals(proxy);
    const c = await connectClient(proxy.port, { user: 'slow', password: 'pw' });
    await c.query('select library rate-1');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => c.query('select 1')));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ errno: 1226 });
    expect(seen).toContain('query_rate');
    await c.end();
  });

  it('lets commands over the rate wait for their turn within server.max_throttle_ms, sharing the rate over the account\'s sessions', async () => {
    const proxy = await proxyWith('rate-wait', { server: { max_throttle_ms: 5000 }, users: [{ user: 'paced', pass: 'pw', max_queries_per_second: 10 }] });
    const a = await connectClient(proxy.port, { user: 'paced', password: 'pw' });
    const b = await connectClient(proxy.port, { user: 'paced', password: 'pw' });
    await a.query('select library rate-2');
    await b.query('select library rate-3');
    const started = Date.now();
    await Promise.all(Array.from({ length: 15 }, (_, i) => (i % 2 ? a : b).query('select 1')));
    // 2 logins' selects + 15 commands at 10 per second, one second's burst: the last ones waited.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await a.end();
    await b.end();
  });
});

describe('SQL rules', () => {
  it('refuses matching statements with the rule\'s message, by account and library, counts them, and follows a reload', async () => {
    const rules = [
      { name: 'no-drop', match: '^\\s*drop\\s+table', action: 'block', message: 'DROP TABLE is not allowed here' },
      { name: 'reports-only-lib2', match: 'from\\s+test_table', users: ['reporter'], libraries: ['mysqlda1'], action: 'block' },
    ];
    const proxy = await proxyWith('rules', { users: [{ user: 'reporter', pass: 'pw' }], rules });
    const blocked: string[] = [];
    proxy.proxy.events.on('rule-blocked', (event) => blocked.push(event.rule));
    const c = await connectClient(proxy.port);
    await c.query('select library rules-app');
    await expect(c.query('DROP TABLE test_table')).rejects.toMatchObject({ errno: 1148, message: 'DROP TABLE is not allowed here' });
    await expect(c.query('  drop   table if exists nothing_here')).rejects.toMatchObject({ errno: 1148 });
    await c.query('select count(*) from test_table');
    await expect(c.prepare('drop table test_table')).rejects.toMatchObject({ errno: 1148 });

    // The reporter is refused on mysqlda1 only.
    const reporter = await connectClient(proxy.port, { user: 'reporter', password: 'pw' });
    await expect(reporter.query('select library_by_correl_object nothing nothing')).rejects.toMatchObject({ errno: 7103, sqlState: 'HY000' });
    const libraries: string[] = [];
    for (let i = 0; libraries.length < 2 && i < 50; i++) {
      await reporter.query(`select library rules-key-${i}`);
      const [rows] = await reporter.query('show library');
      const library = String((rows as Record<string, unknown>[])[0].library ?? Object.values((rows as Record<string, unknown>[])[0])[0]);
      if (libraries.includes(library)) continue;
      libraries.push(library);
      const attempt = reporter.query('select * from test_table limit 1');
      if (library === 'mysqlda1') await expect(attempt).rejects.toMatchObject({ errno: 1148, message: "Statement blocked by mysqlda rule 'reports-only-lib2'" });
      else await attempt;
    }
    expect(libraries.sort()).toEqual(['mysqlda1', 'mysqlda2']);
    expect(blocked).toContain('no-drop');
    expect(blocked).toContain('reports-only-lib2');

    // A reload without the rules lifts them for the open session at its next statement.
    const reloaded = await proxy.proxy.reload({ ...proxy.config, rules: [] });
    expect(reloaded.ok).toBe(true);
    await c.query('drop table if exists nothing_here');
    await reporter.end();
    await c.end();
  });

  it('checks a statement that arrives in several reads, and refuses one of 16 MB or more that it cannot hold', async () => {
    const proxy = await proxyWith('rules-big', { rules: [{ match: 'forbidden_word', action: 'block' }] });
    const c = await rawClient(proxy.port);
    await c.query('select library rules-big');
    const padded = await c.query(`select '${'p'.repeat(2 * 1024 * 1024)}' as forbidden_word`);
    expect(padded.error?.code).toBe(1148);
    const allowed = await c.query(`select '${'p'.repeat(2 * 1024 * 1024)}' as fine`);
    expect(allowed.ok).toBe(true);
    const huge = await c.query(`select '${'q'.repeat(16 * 1024 * 1024)}' as fine`);
    expect(huge.error?.code).toBe(1148);
    expect((await c.query('select 1')).ok).toBe(true);
    c.close();
  });
});
