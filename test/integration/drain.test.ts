import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { ensureBuilt } from '../cli/ensure-built.js';
import { parseErr } from '../../src/protocol/generic-packets.js';
import { encodePacket, PacketFramer, type Packet } from '../../src/protocol/packet.js';
import { copyingReader } from '../../src/socket/read-buffer.js';
import { query, rawClient } from '../support/raw-client.js';
import { backendPort, canConnect, connectClient, exited, spawnProxyProcess, writeProxyConfig } from '../support/proxy-harness.js';

let dir: string;
let sandbox: Sandbox;
let proxies = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-drain-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 1, replicas: 0 });
});

afterAll(async () => {
  await sandbox?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A proxy of its own for each test: draining ends it. */
async function startDrainable(drainTimeoutS: number): Promise<{ proxy: RunningProxy; port: number; healthz: () => Promise<[number, string]> }> {
  const written = await writeProxyConfig(sandbox, path.join(dir, `etc-${++proxies}`), {
    server: { drain_timeout_s: drainTimeoutS },
    admin: { http: '127.0.0.1:0' },
  });
  const config = parseConfigText(await readFile(written.configPath, 'utf8'), written.configPath);
  const proxy = await startProxy(config, silentLogger(), { watchConfig: false });
  const admin = proxy.adminAddress()!;
  const healthz = async (): Promise<[number, string]> => {
    const response = await fetch(`http://${admin.host}:${admin.port}/healthz`);
    return [response.status, await response.text()];
  };
  return { proxy, port: written.port, healthz };
}

/** A direct connection to the library's server, to watch what the proxy's sessions run there. */
function connectServer(): Promise<mysql.Connection> {
  const { master } = sandbox.libraries[0];
  return mysql.createConnection({ host: master.host, port: master.port, user: sandbox.user, password: sandbox.password, database: sandbox.database });
}

async function waitUntilRunning(server: mysql.Connection, text: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const [rows] = await server.query('select count(*) as n from information_schema.processlist where info = ?', [text]);
      expect((rows as { n: number }[])[0].n).toBe(1);
    },
    { timeout: 10_000, interval: 20 },
  );
}

/**
 * Resolves with the error number a connection reports when the proxy ends it: mysql2 gives an unsolicited ERR's
 * number as `code`, an answer's as `errno`.
 */
function connectionError(client: mysql.Connection): Promise<unknown> {
  return new Promise((resolve) => client.once('error', (error: { errno?: number; code?: unknown }) => resolve(error.errno ?? error.code)));
}

describe('graceful drain', () => {
  it('lets a statement in flight finish with its row, closes an idle client at once with ERR 1053, answers /healthz 503 and refuses new connections', async () => {
    const { proxy, port, healthz } = await startDrainable(30);
    const server = await connectServer();
    const busy = await connectClient(port);
    const idle = await connectClient(port);
    await busy.query('select library drain-1');
    await idle.query('select library drain-2');
    expect(await healthz()).toEqual([200, 'ok\n']);

    const order: string[] = [];
    const running = busy.query('select sleep(2) as slept');
    void running.then(() => order.push('statement answered'));
    await waitUntilRunning(server, 'select sleep(2) as slept');
    const idleClosed = connectionError(idle);
    void idleClosed.then(() => order.push('idle client closed'));
    const drained = proxy.drain();

    expect(await healthz()).toEqual([503, 'draining\n']);
    expect(await canConnect(port)).toBe(false);
    expect(await idleClosed).toBe(1053);
    const [rows] = await running;
    expect(rows).toEqual([{ slept: 0 }]);
    expect(order).toEqual(['idle client closed', 'statement answered']);
    await drained;
    await server.end();
  });

  it('lets a session in a transaction COMMIT while draining, then ends it; its work is kept', async () => {
    const { proxy, port } = await startDrainable(30);
    const client = await connectClient(port);
    await client.query('select library drain-3');
    const serverPort = await backendPort(client);
    await client.query('begin');
    await client.query("replace into test_table values ('drain-commit', 'kept')");
    const closed = connectionError(client);
    const drained = proxy.drain();

    await client.query('commit');
    expect(await closed).toBe(1053);
    await drained;
    const server = await connectServer();
    expect(serverPort).toBe(sandbox.libraries[0].master.port);
    const [rows] = await server.query("select value from test_table where name = 'drain-commit'");
    expect(rows).toEqual([{ value: 'kept' }]);
    await server.end();
  });

  it('answers a command that arrives outside a transaction while draining with ERR 1053, after the answer in flight', async () => {
    const { proxy, port } = await startDrainable(30);
    const server = await connectServer();
    const client = await rawClient(port);
    await client.query('select library drain-4');
    const framer = new PacketFramer();
    const packets: Packet[] = [];
    // Without DEPRECATE_EOF: column count, column definition, EOF, the row, EOF; then the answer to the second command.
    const sixPackets = new Promise<void>((resolve) => {
      client.connection.setReader(
        copyingReader((chunk) => {
          packets.push(...framer.push(chunk));
          if (packets.length >= 6) resolve();
        }),
      );
    });
    client.connection.socket.resume();
    client.connection.socket.write(encodePacket(query('select sleep(1) as slept'), 0));
    await waitUntilRunning(server, 'select sleep(1) as slept');
    const drained = proxy.drain();
    client.connection.socket.write(encodePacket(query('select 2'), 0));
    await sixPackets;
    expect(packets[3].payload.toString('latin1')).toContain('0');
    const refusal = parseErr(packets[5].payload);
    expect([packets[5].sequenceId, refusal.code, refusal.message]).toEqual([1, 1053, 'Server shutdown in progress']);
    await drained;
    await server.end();
  });

  it('ends a transaction still open at the drain timeout, and the stop completes', async () => {
    const { proxy, port } = await startDrainable(1);
    const client = await connectClient(port);
    await client.query('select library drain-5');
    await client.query('begin');
    await client.query("replace into test_table values ('drain-timeout', 'rolled back')");
    const closed = connectionError(client);
    await proxy.drain();
    expect(await closed).toBe(1053);
    expect(proxy.sessions()).toEqual([]);
    const server = await connectServer();
    await vi.waitFor(async () => {
      const [rows] = await server.query("select value from test_table where name = 'drain-timeout'");
      expect(rows).toEqual([]);
    });
    await server.end();
  });

  it('on SIGTERM, mysqlda drains: a SELECT SLEEP(2) in flight completes with its row before the process exits', async () => {
    ensureBuilt();
    const written = await writeProxyConfig(sandbox, path.join(dir, `etc-${++proxies}`), { server: { drain_timeout_s: 30 } });
    const child = await spawnProxyProcess(written.configPath, written.port);
    const server = await connectServer();
    const client = await connectClient(written.port);
    await client.query('select library drain-6');
    const running = client.query('select sleep(2) as slept');
    await waitUntilRunning(server, 'select sleep(2) as slept');
    client.on('error', () => {}); // the ERR 1053 that ends the session once its answer is through
    child.kill('SIGTERM');
    const [rows] = await running;
    expect(rows).toEqual([{ slept: 0 }]);
    await exited(child);
    expect(child.exitCode).toBe(0);
    await server.end();
  });
});
