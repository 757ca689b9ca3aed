import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { connectClient, writeProxyConfig } from '../support/proxy-harness.js';

/** The proxy's log lines, parsed, as they are written. */
const lines: Record<string, unknown>[] = [];
const destination = { write: (line: string) => void lines.push(JSON.parse(line)) } as DestinationStream;

let dir: string;
let sandbox: Sandbox;
let proxy: RunningProxy;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-timing-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 1, replicas: 0 });
  const written = await writeProxyConfig(sandbox, path.join(dir, 'etc'), {
    admin: { http: '127.0.0.1:0' },
    log: { slow_query_ms: 250 },
    users: [{ user: 'batch', pass: 'batch-pw', query_timeout_ms: 400 }],
  });
  port = written.port;
  const config = parseConfigText(await readFile(written.configPath, 'utf8'), written.configPath);
  proxy = await startProxy(config, createLogger('info', destination), { watchConfig: false });
});

afterAll(async () => {
  await proxy?.close();
  await sandbox?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function scrape(series: string): Promise<number> {
  const admin = proxy.adminAddress()!;
  const text = await (await fetch(`http://${admin.host}:${admin.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const slowLines = () => lines.filter((line) => line.msg === 'slow statement');

describe('statement timing', () => {
  it('counts every command into mysqlda_command_duration_seconds of its library', async () => {
    const library = sandbox.libraries[0].name;
    const before = await scrape(`mysqlda_command_duration_seconds_count{library="${library}"}`);
    const client = await connectClient(port);
    await client.query('select library timing-1');
    for (let i = 0; i < 20; i++) await client.query('select 1');
    await client.end();
    const after = await scrape(`mysqlda_command_duration_seconds_count{library="${library}"}`);
    expect(after - before).toBeGreaterThanOrEqual(20);
    expect(await scrape(`mysqlda_command_duration_seconds_bucket{le="+Inf",library="${library}"}`)).toBe(after);
  });

  it('logs a statement slower than log.slow_query_ms once, with who, where, how long, how many bytes and its text', async () => {
    const client = await connectClient(port);
    await client.query('select library timing-2');
    const slowBefore = slowLines().length;
    await client.query('select 1 as fast');
    await client.query('select sleep(0.3) as slow');
    await client.execute('select sleep(?) as prepared', [0.3]);
    await client.end();
    const logged = slowLines().slice(slowBefore);
    expect(logged.map((line) => line.statement)).toEqual(['select sleep(0.3) as slow', 'select sleep(?) as prepared']);
    const master = sandbox.libraries[0].master;
    expect(logged[0]).toMatchObject({ user: 'calvin', library: sandbox.libraries[0].name, server: `${master.host}:${master.port}` });
    expect(logged[0].client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(logged[0].durationMs).toBeGreaterThanOrEqual(250);
    expect(logged[0].bytes).toBeGreaterThan(0);
  });

  it("kills a statement of an account with query_timeout_ms: the client gets the server's ERR 1317 and the session goes on", async () => {
    const client = await connectClient(port, { user: 'batch', password: 'batch-pw' });
    await client.query('select library timing-3');
    await client.query("replace into test_table values ('timing', 'x')");
    // SLEEP() alone returns 1 when interrupted (MySQL and MariaDB alike); inside a scan the statement fails.
    await expect(client.query("select name from test_table where name = 'timing' and sleep(5) = 0")).rejects.toMatchObject({
      errno: 1317,
      message: 'Query execution was interrupted',
    });
    const [rows] = await client.query('select 2 as next');
    expect(rows).toEqual([{ next: 2 }]);
    expect(lines.some((line) => line.msg === 'statement ran past query_timeout_ms: killing it' && line.user === 'batch')).toBe(true);
    await client.end();
  });

  it('lets statements of an account without query_timeout_ms run as long as they take', async () => {
    const client = await connectClient(port);
    await client.query('select library timing-4');
    const [rows] = await client.query('select sleep(0.6) as slept');
    expect(rows).toEqual([{ slept: 0 }]);
    await client.end();
  });
});
