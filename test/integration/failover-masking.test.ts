import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { backendPort, connectClient, PROJECT_ROOT, useProxyFixture } from '../support/proxy-harness.js';

const run = promisify(execFile);
const DRIVER_JAR = '/usr/share/java/mariadb-java-client.jar';
const POOLED = 8;

const env = useProxyFixture('failover-masking', {
  libraries: 1,
  replicas: 1,
  extra: {
    session_pool: { unused_forward_session_timeout: 60, connect_timeout_ms: 2000 },
    health: { interval_ms: 250, timeout_ms: 1000, fail_threshold: 3, rise_threshold: 2 },
  },
});

/** The JDBC client, started and compiled on demand: it prints "ready" once routed and prepared. */
async function startJdbcClient(port: number): Promise<{ child: ChildProcess; lines: AsyncIterator<string> }> {
  const classes = path.join(env.dir, 'java');
  await mkdir(classes, { recursive: true });
  await run('javac', ['-encoding', 'UTF-8', '-cp', DRIVER_JAR, '-d', classes, path.join(PROJECT_ROOT, 'test/support/java/FailoverMaskingClient.java')]);
  const jvm = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto', '-Xmx256m'];
  const child = spawn('java', [...jvm, '-cp', `${classes}:${DRIVER_JAR}`, 'FailoverMaskingClient', String(port), 'masking-jdbc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const next = await lines.next();
  return next.done ? '(the JDBC client ended)' : next.value;
}

let pool: mysql.Pool | undefined;
afterAll(async () => {
  await pool?.end().catch(() => {});
});

describe('failover masking', () => {
  it('moves idle pooled sessions (mysql2 and JDBC) to the new server with their settings and prepared statements; a transaction gets 2013', async () => {
    const library = env.sandbox.libraries[0];
    const { port } = env.proxy;
    await library.master.query('CREATE TABLE IF NOT EXISTS calvindb.masking_ids (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');

    // Eight pooled connections, each routed, with a session variable and a prepared statement, then idle in the pool.
    pool = mysql.createPool({ host: '127.0.0.1', port, user: 'calvin', password: 'calvin', database: 'calvindb', connectionLimit: POOLED });
    const taken = await Promise.all(Array.from({ length: POOLED }, () => pool!.getConnection()));
    const prepared: mysql.PreparedStatementInfo[] = [];
    for (const [i, connection] of taken.entries()) {
      await connection.query(`select library masking-${i}`);
      await connection.query(`SET SESSION wait_timeout = ${1000 + i}`);
      prepared.push(await connection.prepare('select ? + 1 as n, @@port as port, @@session.wait_timeout as wt'));
    }
    for (const connection of taken) connection.release();

    const jdbc = await startJdbcClient(port);
    expect(await nextLine(jdbc.lines)).toBe(`before n=2 port=${library.master.port} wait_timeout=4321`);
    expect(await nextLine(jdbc.lines)).toBe('ready');

    const inTransaction = await connectClient(port);
    await inTransaction.query('select library masking-tx');
    await inTransaction.query('begin');
    await inTransaction.query("replace into test_table values ('masking-tx', 'open')");
    const withTemporaryTable = await connectClient(port);
    await withTemporaryTable.query('select library masking-temp');
    await withTemporaryTable.query('create temporary table scratch (a int)');
    const inserter = await connectClient(port);
    await inserter.query('select library masking-insert');
    await inserter.query('insert into masking_ids (v) values (1), (2)');
    const [[{ id: lastId }]] = (await inserter.query('select last_insert_id() as id')) as unknown as [[{ id: number }]];
    await env.sandbox.waitForReplication();

    const masked: string[] = [];
    const off = env.proxy.proxy.events.on('session-masked', (event) => masked.push(event.library));
    await library.master.kill('SIGKILL');
    // Promotion is not mysqlda's: the test makes the replica writable, as an operator's tool would.
    await library.replicas[0].query('SET GLOBAL read_only = 0');

    // Every pooled connection goes on without an error, on the replica, with its variable and its statement.
    const errors: unknown[] = [];
    const again = await Promise.all(Array.from({ length: POOLED }, () => pool!.getConnection()));
    const seen = await Promise.all(
      again.map(async (connection) => {
        try {
          const [[row]] = (await connection.query('select @@port as port, @@session.wait_timeout as wt')) as unknown as [[{ port: number; wt: number }]];
          return row;
        } catch (err) {
          errors.push(err);
          return null;
        }
      }),
    );
    expect(errors).toEqual([]);
    expect(seen.map((row) => row!.port)).toEqual(Array(POOLED).fill(library.replicas[0].port));
    expect(seen.map((row) => row!.wt).sort()).toEqual(Array.from({ length: POOLED }, (_, i) => 1000 + i));
    for (const [i, statement] of prepared.entries()) {
      const [rows] = (await statement.execute([i])) as unknown as [{ n: number; port: number; wt: number }[]];
      expect(rows[0]).toMatchObject({ n: i + 1, port: library.replicas[0].port, wt: 1000 + i });
    }
    for (const connection of again) connection.release();

    jdbc.child.stdin!.write('go\n');
    expect(await nextLine(jdbc.lines)).toBe(`after n=42 port=${library.replicas[0].port} wait_timeout=4321`);

    // LAST_INSERT_ID() comes along; a transaction or a temporary table cannot, and the client is told.
    const [[carried]] = (await inserter.query('select last_insert_id() as id, @@port as port')) as unknown as [[{ id: number; port: number }]];
    expect(carried).toEqual({ id: lastId, port: library.replicas[0].port });
    await expect(inTransaction.query('select 1')).rejects.toMatchObject({ errno: 2013, message: expect.stringContaining('an open transaction') });
    await expect(withTemporaryTable.query('select * from scratch')).rejects.toMatchObject({ errno: 2013, message: expect.stringContaining('a temporary table') });
    expect(masked.length).toBe(POOLED + 2);
    off();
    inTransaction.destroy();
    withTemporaryTable.destroy();
    await inserter.end();
    jdbc.child.kill();
    expect(await backendPort(await connectClientOn(port, 'masking-after'))).toBe(library.replicas[0].port);
  }, 90_000);
});

describe('failover masking without a server to move to', () => {
  it('answers 7106 after connect_timeout_ms, keeps the session, and moves it once a server is back', async () => {
    const { replicas } = env.sandbox.libraries[0];
    const session = await connectClientOn(env.proxy.port, 'masking-wait');
    await session.query('SET SESSION wait_timeout = 777');
    expect(await backendPort(session)).toBe(replicas[0].port);
    // The library's current server is now the replica (the first test failed it over); the old master stays down.
    await replicas[0].kill('SIGKILL');
    await expect(session.query('select 1')).rejects.toMatchObject({ errno: 7106 });
    await replicas[0].restart();
    await vi.waitFor(
      async () => {
        const [[row]] = (await session.query('select @@port as port, @@session.wait_timeout as wt')) as unknown as [[{ port: number; wt: number }]];
        expect(row).toEqual({ port: replicas[0].port, wt: 777 });
      },
      { timeout: 20_000, interval: 200 },
    );
    await session.end();
  }, 60_000);
});

async function connectClientOn(port: number, key: string): Promise<mysql.Connection> {
  const connection = await connectClient(port);
  await connection.query(`select library ${key}`);
  return connection;
}
