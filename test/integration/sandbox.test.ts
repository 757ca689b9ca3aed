import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { hasApplied, Sandbox } from '../../tools/sandbox/sandbox.js';
import { findFreePort, MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { childMariadbdPids, startTestSandbox, type TestSandbox } from '../support/sandbox.js';

let testSandbox: TestSandbox;
let sandbox: Sandbox;

beforeAll(async () => {
  const started = Date.now();
  testSandbox = await startTestSandbox({ libraries: 2 });
  sandbox = testSandbox.sandbox;
  console.info(`Sandbox.start (2 libraries × master + 1 replica): ${Date.now() - started} ms`);
});

afterAll(async () => {
  await testSandbox?.cleanup();
});

async function rowsOf(server: MariadbServer, name: string): Promise<unknown[]> {
  return server.query(`SELECT name, value FROM ${sandbox.database}.test_table WHERE name = ?`, [name]);
}

describe('Sandbox', () => {
  it('starts each library as a master and its replica, every server on its own port', () => {
    expect(sandbox.libraries.map((library) => library.name)).toEqual(['mysqlda1', 'mysqlda2']);
    const servers = sandbox.libraries.flatMap((library) => [library.master, ...library.replicas]);
    expect(servers).toHaveLength(4);
    expect(new Set(servers.map((server) => server.port)).size).toBe(4);
    expect(servers.every((server) => server.running)).toBe(true);
  });

  it('lets the calvin user log in to every server, into calvindb with its test_table', async () => {
    for (const server of sandbox.libraries.flatMap((library) => [library.master, ...library.replicas])) {
      const connection = await createConnection({
        host: server.host,
        port: server.port,
        user: sandbox.user,
        password: sandbox.password,
        database: sandbox.database,
      });
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM test_table');
      expect(rows).toEqual([{ n: 0 }]);
      await connection.end();
    }
  });

  it('replicates a row inserted on a master to its replica', async () => {
    for (const library of sandbox.libraries) {
      await library.master.query(`INSERT INTO ${sandbox.database}.test_table VALUES (?, ?)`, [`row-${library.name}`, library.name]);
    }
    await sandbox.waitForReplication();
    for (const library of sandbox.libraries) {
      expect(await rowsOf(library.replicas[0], `row-${library.name}`)).toEqual([{ name: `row-${library.name}`, value: library.name }]);
    }
  });

  it('keeps replicas writable, so that a proxy can fail over to them', async () => {
    const replica = sandbox.libraries[0].replicas[0];
    await replica.query(`INSERT INTO ${sandbox.database}.test_table VALUES ('written-on-replica', 'yes')`);
    expect(await rowsOf(replica, 'written-on-replica')).toHaveLength(1);
  });

  it('brings a SIGKILLed master back on the same port with its data, and replication resumes', async () => {
    const { master, replicas } = sandbox.libraries[1];
    const port = master.port;
    await master.query(`INSERT INTO ${sandbox.database}.test_table VALUES ('before-kill', 'kept')`);

    await master.kill();
    expect(master.running).toBe(false);
    await expect(master.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await master.restart();
    expect(master.running).toBe(true);
    expect(master.port).toBe(port);
    expect(await rowsOf(master, 'before-kill')).toEqual([{ name: 'before-kill', value: 'kept' }]);

    await master.query(`INSERT INTO ${sandbox.database}.test_table VALUES ('after-restart', 'replicated')`);
    await sandbox.waitForReplication();
    expect(await rowsOf(replicas[0], 'after-restart')).toHaveLength(1);
  });

  it('writes a mysqlda.conf listing each library with its master first, which the config loader accepts', () => {
    const configPath = path.join(testSandbox.dir, 'etc', 'mysqlda.conf');
    const text = sandbox.configJson({
      listenPort: 13306,
      saveDir: path.join(testSandbox.dir, 'etc'),
      extra: { session_pool: { connect_timeout_ms: 500 } },
    });
    const config = parseConfigText(text, configPath);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 13306 });
    expect(config.auth).toEqual({ user: 'calvin', password: 'calvin', database: 'calvindb' });
    expect(config.saveDir).toBe(path.join(testSandbox.dir, 'etc'));
    expect(config.pool.connectTimeoutMs).toBe(500);
    expect(config.pool.idleTimeoutSeconds).toBe(60);
    expect(config.libraries.map((library) => [library.name, library.servers.map((server) => server.port)])).toEqual(
      sandbox.libraries.map((library) => [library.name, [library.master.port, library.replicas[0].port]]),
    );
  });

  it('starts again in a directory left by an earlier run, killing any server still running there', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-reuse-'));
    try {
      const earlier = await Sandbox.start({ dir, libraries: 1, replicas: 0 });
      const started = Date.now();
      const later = await Sandbox.start({ dir, libraries: 1, replicas: 1 });
      console.info(`Sandbox.start (1 library × master + 1 replica, over a running earlier one): ${Date.now() - started} ms`);
      expect(earlier.libraries[0].master.running).toBe(false);
      expect(await rowsOf(later.libraries[0].replicas[0], 'anything')).toEqual([]);
      await later.stop();
    } finally {
      await removeTree(dir);
    }
  });

  it('refuses a port that is already taken, with the tail of the error log in the message', async () => {
    const port = await findFreePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      await expect(MariadbServer.start({ baseDir: testSandbox.dir, name: 'squatted', port, serverId: 99 })).rejects.toThrow(
        /exited with code 1 while starting[\s\S]*Address already in use/,
      );
    } finally {
      squatter.close();
    }
  });

  it('leaves no mariadbd child process once stopped', async () => {
    expect((await childMariadbdPids()).length).toBe(4);
    await sandbox.stop();
    expect(await childMariadbdPids()).toEqual([]);
  });
});

describe('hasApplied (GTID positions)', () => {
  it('compares sequence numbers per replication domain', () => {
    expect(hasApplied('0-1-5', '0-1-5')).toBe(true);
    expect(hasApplied('0-1-6', '0-1-5')).toBe(true);
    expect(hasApplied('0-1-4', '0-1-5')).toBe(false);
    expect(hasApplied('', '')).toBe(true);
    expect(hasApplied('', '0-1-1')).toBe(false);
    expect(hasApplied('0-1-9,1-2-3', '1-2-3,0-1-9')).toBe(true);
    expect(hasApplied('0-1-9', '0-1-9,1-2-3')).toBe(false);
  });
});
