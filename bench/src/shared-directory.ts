/**
 * The shared key directory (storage.directory.mysql) against the save files, in one run on one machine: new keys
 * acknowledged per second at 64 clients, `select library` of known keys per second (routing from memory), churn
 * (connect, select library, quit) per second, and the start of a proxy whose MySQL directory holds 1M keys.
 *
 * Two proxy processes in front of the same sandbox (two libraries): one on save files, one on a directory
 * mariadbd run with the durable settings the directory needs (innodb_flush_log_at_trx_commit=1, sync_binlog=1).
 * The clients run in this process.
 *
 *   npm run build && npm run build:tools && node build/bench/src/shared-directory.js [seconds per cell]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { MysqlDirectory } from '../../src/store/mysql/mysql-directory.js';
import { DirectoryClient } from '../../src/store/mysql/directory-client.js';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { findFreePort } from '../../tools/sandbox/ports.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { ListeningProcess } from './listening-process.js';
import { median } from './stats.js';

const MYSQLDA_BIN = join(PROJECT_ROOT, 'bin/mysqlda');
const DATABASE = 'mysqlda_directory';

export interface SharedDirectoryOptions {
  dir: string;
  /** Length of each throughput cell. */
  seconds: number;
  clients: number;
  /** Keys in the directory for the start-up figure. */
  startKeys: number;
  log: (line: string) => void;
}

export interface PerDirectory {
  mysql: number;
  files: number;
}

export interface SharedDirectoryFigures {
  clients: number;
  seconds: number;
  /** New keys acknowledged per second (`select library <new key>` answered OK). */
  newKeysPerSecond: PerDirectory;
  /** Mean new keys per assigning transaction in the MySQL cell (rows per distinct assigned_at). */
  keysPerTransaction: number;
  /**
   * The MySQL directory alone, without a proxy: new keys per second from `clients` and 4 × `clients` callers of
   * resolveKey in this process (what the directory server's commits allow).
   */
  directoryAlonePerSecond: { clients: number; callers4x: number };
  /** `select library <known key>` per second on open connections. */
  knownSelectsPerSecond: PerDirectory;
  /** Connect, `select library <known key>`, quit: per second, 16 clients. */
  churnPerSecond: PerDirectory;
  start: {
    keys: number;
    /** Spawn to listening, median of 3: the proxy process with the MySQL directory holding `keys` keys. */
    processSeconds: number;
    /** The same with an empty MySQL directory, for scale. */
    emptyProcessSeconds: number;
    /** MysqlDirectory.open alone (tables checked, every key and alias loaded), in this process. */
    openSeconds: number;
  };
}

export async function measureSharedDirectory(options: SharedDirectoryOptions): Promise<SharedDirectoryFigures> {
  const { dir, log } = options;
  const [sandbox, directoryServer] = await Promise.all([
    Sandbox.start({ dir: join(dir, 'sandbox'), libraries: 2, replicas: 0, log }),
    MariadbServer.start({ baseDir: join(dir, 'directory'), name: 'directory', serverId: 900, extraArgs: ['--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1'] }),
  ]);
  const proxies: ListeningProcess[] = [];
  try {
    await directoryServer.query(`CREATE USER '${sandbox.user}'@'%' IDENTIFIED BY '${sandbox.password}'`);
    await directoryServer.query(`GRANT ALL ON ${DATABASE}.* TO '${sandbox.user}'@'%'`);
    const shared = { storage: { directory: { mysql: { servers: [{ ip: directoryServer.host, port: directoryServer.port }] } } } };
    const start = async (name: string, extra: Record<string, unknown>) => {
      const started = await startProxy(sandbox, join(dir, name), extra);
      proxies.push(started.process);
      return started;
    };
    const mysqlProxy = await start('proxy-mysql', shared);
    const filesProxy = await start('proxy-files', {});
    const account = { user: sandbox.user, password: sandbox.password };

    log('new keys per second …');
    const assigned = { mysql: [] as string[], files: [] as string[] };
    const newKeysPerSecond = {
      mysql: await newKeys(mysqlProxy.port, account, options, 'm', assigned.mysql),
      files: await newKeys(filesProxy.port, account, options, 'f', assigned.files),
    };
    const keysPerTransaction = await batchSize(directoryServer, 'm-%');
    log(`new keys: ${JSON.stringify(newKeysPerSecond)}, ${keysPerTransaction} keys per transaction`);
    const directoryAlonePerSecond = {
      clients: await directoryAlone(directoryServer, account, options.clients, options.seconds, 'alone-a'),
      callers4x: await directoryAlone(directoryServer, account, 4 * options.clients, options.seconds, 'alone-b'),
    };
    log(`directory alone: ${JSON.stringify(directoryAlonePerSecond)}`);
    // Known on both: the keys each proxy assigned above. Each cell runs mysql, files, files, mysql (the mean of
    // two), so that warming up and the machine's drift weigh on both sides alike.
    const known = { mysql: assigned.mysql.slice(0, 10_000), files: assigned.files.slice(0, 10_000) };
    const knownSelectsPerSecond = await abba((side) => knownSelects(side === 'mysql' ? mysqlProxy.port : filesProxy.port, account, options, known[side]));
    log(`known selects: ${JSON.stringify(knownSelectsPerSecond)}`);
    const churnPerSecond = await abba((side) => churn(side === 'mysql' ? mysqlProxy.port : filesProxy.port, account, options, known[side]));
    log(`churn: ${JSON.stringify(churnPerSecond)}`);

    for (const proxy of proxies.splice(0)) await proxy.stop();
    const emptyRuns: number[] = [];
    for (let i = 0; i < 3; i++) emptyRuns.push(await timedStart(sandbox, join(dir, `start-empty-${i}`), emptyDirectory(directoryServer, i)));
    log(`filling the directory with ${options.startKeys} keys …`);
    await fill(directoryServer, options.startKeys);
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) runs.push(await timedStart(sandbox, join(dir, `start-full-${i}`), shared));
    const openSeconds = await timedOpen(directoryServer, account);
    const startFigures = { keys: options.startKeys, processSeconds: median(runs), emptyProcessSeconds: median(emptyRuns), openSeconds };
    log(`start: ${JSON.stringify(startFigures)}`);
    return { clients: options.clients, seconds: options.seconds, newKeysPerSecond, keysPerTransaction, directoryAlonePerSecond, knownSelectsPerSecond, churnPerSecond, start: startFigures };
  } finally {
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    await Promise.all([sandbox.stop(), directoryServer.stop()]);
  }
}

async function abba(measure: (side: keyof PerDirectory) => Promise<number>): Promise<PerDirectory> {
  const mysqlFirst = await measure('mysql');
  const files = (await measure('files')) + (await measure('files'));
  const mysqlSecond = await measure('mysql');
  return { mysql: Math.round((mysqlFirst + mysqlSecond) / 2), files: Math.round(files / 2) };
}

async function startProxy(sandbox: Sandbox, dir: string, extra: Record<string, unknown>): Promise<{ process: ListeningProcess; port: number }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const port = await findFreePort();
  const configPath = join(dir, 'mysqlda.conf');
  const config = sandbox.configJson({
    listenPort: port,
    saveDir: dir,
    extra: { ...extra, session_pool: { unused_forward_session_timeout: 60, max_connections_per_server: 2_000 } },
  });
  await writeFile(configPath, config, { mode: 0o600 });
  const process_ = await ListeningProcess.start({
    name: `mysqlda (${dir})`,
    command: process.execPath,
    args: [MYSQLDA_BIN, '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'],
    port,
    timeoutMs: 120_000,
  });
  return { process: process_, port };
}

/** A directory database of its own for each empty start, so that every run creates its tables. */
function emptyDirectory(server: MariadbServer, run: number): Record<string, unknown> {
  return { storage: { directory: { mysql: { servers: [{ ip: server.host, port: server.port }], user: 'root', pass: '', db: `empty_directory_${run}` } } } };
}

async function timedStart(sandbox: Sandbox, dir: string, extra: Record<string, unknown>): Promise<number> {
  const started = await startProxy(sandbox, dir, extra);
  await started.process.stop();
  return started.process.startMs / 1000;
}

type Account = { user: string; password: string };

function connect(port: number, account: Account): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port, ...account });
}

/** Runs `step` on `clients` connections for `seconds`; operations per second. */
async function timed(port: number, account: Account, clients: number, seconds: number, step: (connection: mysql.Connection, client: number, n: number) => Promise<void>): Promise<number> {
  const connections = await Promise.all(Array.from({ length: clients }, () => connect(port, account)));
  let done = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    connections.map(async (connection, client) => {
      for (let n = 0; performance.now() < until; n++) {
        await step(connection, client, n);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(connections.map((connection) => connection.end()));
  return Math.round(done / elapsed);
}

/** New keys acknowledged per second; the keys go to `assigned`. */
function newKeys(port: number, account: Account, options: SharedDirectoryOptions, prefix: string, assigned: string[]): Promise<number> {
  return timed(port, account, options.clients, options.seconds, async (connection, client, n) => {
    const key = `${prefix}-${client}-${n}`;
    await connection.query(`select library ${key}`);
    assigned.push(key);
  });
}

function knownSelects(port: number, account: Account, options: SharedDirectoryOptions, keys: readonly string[]): Promise<number> {
  return timed(port, account, options.clients, options.seconds, async (connection, client, n) => {
    await connection.query(`select library ${keys[(client * 7919 + n) % keys.length]}`);
  });
}

async function churn(port: number, account: Account, options: SharedDirectoryOptions, keys: readonly string[]): Promise<number> {
  const loops = 16;
  let done = 0;
  const started = performance.now();
  const until = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let n = 0; performance.now() < until; n++) {
        const connection = await connect(port, account);
        await connection.query(`select library ${keys[(loop * 7919 + n) % keys.length]}`);
        await connection.end();
        done++;
      }
    }),
  );
  return Math.round(done / ((performance.now() - started) / 1000));
}

async function batchSize(server: MariadbServer, pattern: string): Promise<number> {
  const [row] = await server.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT assigned_at) AS t FROM ${DATABASE}.mysqlda_keys WHERE core_key LIKE ?`, [pattern]);
  return Math.round((Number(row.n) / Number(row.t)) * 10) / 10;
}

/** `keys` key rows (customer<n>, alternating libraries) and their counts, added to the directory's tables. */
async function fill(server: MariadbServer, keys: number): Promise<void> {
  for (let start = 1; start <= keys; start += 250_000) {
    const end = Math.min(keys, start + 249_999);
    await server.query(
      `INSERT INTO ${DATABASE}.mysqlda_keys (core_key, library) ` +
        `SELECT CONCAT('customer', seq), IF(seq % 2 = 0, 'mysqlda1', 'mysqlda2') FROM ${DATABASE}.seq_${start}_to_${end}`,
    );
  }
  await server.query(`DELETE FROM ${DATABASE}.mysqlda_library_counts`);
  await server.query(`INSERT INTO ${DATABASE}.mysqlda_library_counts (library, key_count) SELECT library, COUNT(*) FROM ${DATABASE}.mysqlda_keys GROUP BY library`);
}

async function directoryAlone(server: MariadbServer, account: Account, callers: number, seconds: number, prefix: string): Promise<number> {
  const client = new DirectoryClient(
    { servers: [{ host: server.host, port: server.port }], user: account.user, password: account.password, database: DATABASE, tls: null },
    { connectTimeoutMs: 3_000 },
  );
  try {
    const directory = await MysqlDirectory.open({ client, libraries: [{ name: 'mysqlda1', weight: 1 }, { name: 'mysqlda2', weight: 1 }], identity: 'bench' });
    let done = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        for (let n = 0; performance.now() < until; n++) {
          await directory.resolveKey(`${prefix}-${caller}-${n}`);
          done++;
        }
      }),
    );
    const rate = Math.round(done / ((performance.now() - started) / 1000));
    await directory.close();
    return rate;
  } finally {
    await client.close();
  }
}

async function timedOpen(server: MariadbServer, account: Account): Promise<number> {
  const client = new DirectoryClient(
    { servers: [{ host: server.host, port: server.port }], user: account.user, password: account.password, database: DATABASE, tls: null },
    { connectTimeoutMs: 3_000 },
  );
  try {
    const started = performance.now();
    const directory = await MysqlDirectory.open({ client, libraries: [{ name: 'mysqlda1', weight: 1 }, { name: 'mysqlda2', weight: 1 }], identity: 'bench' });
    const seconds = (performance.now() - started) / 1000;
    await directory.close();
    return Math.round(seconds * 1000) / 1000;
  } finally {
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 5);
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-bench-shared-'));
  measureSharedDirectory({ dir, seconds, clients: 64, startKeys: 1_000_000, log: (line) => console.error(line) })
    .then((figures) => console.log(JSON.stringify(figures, null, 2)))
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => rm(dir, { recursive: true, force: true }));
}
