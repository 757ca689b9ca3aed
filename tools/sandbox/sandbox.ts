import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { discardDataDir, MariadbServer } from './mariadb-server.js';
import { removeTree } from './tree.js';

export interface SandboxOptions {
  /** Created if missing; everything lives under it. Server datadirs from an earlier run are wiped, `etc/` is kept. */
  dir: string;
  /** Default 2. */
  libraries?: number;
  /** Replicas per library, default 1. */
  replicas?: number;
  /** The account the proxy and its clients use; mysqlda's defaults 'calvin' / 'calvin' / 'calvindb'. */
  user?: string;
  password?: string;
  database?: string;
  log?: (line: string) => void;
}

export interface SandboxLibrary {
  /** 'mysqlda1', 'mysqlda2', ... */
  name: string;
  master: MariadbServer;
  replicas: MariadbServer[];
}

export interface ConfigJsonOptions {
  listenPort: number;
  listenIp?: string;
  /** storage.save_dir; absent: the directory of the config file. */
  saveDir?: string;
  /** Merged into the document: an object value is merged into the section of that name, anything else replaces. */
  extra?: Record<string, unknown>;
}

const REPLICATION_TIMEOUT_MS = 30_000;
const REPLICATION_POLL_MS = 25;

/** mysqlda's test table (sql/test_table.sql), its unique index as the primary key. */
const testTableDdl = (database: string) =>
  `CREATE TABLE IF NOT EXISTS ${identifier(database)}.test_table (name VARCHAR(32) NOT NULL PRIMARY KEY, value VARCHAR(256))`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Real, throwaway MariaDB servers for mysqlda: `libraries` libraries, each a master and its GTID replicas, all on
 * 127.0.0.1, with the proxy's account, database and test table created on every master and replicated.
 */
export class Sandbox {
  readonly libraries: SandboxLibrary[];
  readonly user: string;
  readonly password: string;
  readonly database: string;

  private constructor(libraries: SandboxLibrary[], options: SandboxOptions) {
    this.libraries = libraries;
    this.user = options.user ?? 'calvin';
    this.password = options.password ?? 'calvin';
    this.database = options.database ?? 'calvindb';
  }

  static async start(options: SandboxOptions): Promise<Sandbox> {
    const log = options.log ?? (() => {});
    const libraryCount = options.libraries ?? 2;
    const replicaCount = options.replicas ?? 1;
    if (!Number.isInteger(libraryCount) || libraryCount < 1) throw new Error(`libraries must be ≥ 1, not ${libraryCount}`);
    if (!Number.isInteger(replicaCount) || replicaCount < 0) throw new Error(`replicas must be ≥ 0, not ${replicaCount}`);

    const baseDir = join(resolve(options.dir), 'servers');
    await wipeServers(baseDir);
    await mkdir(baseDir, { recursive: true });

    const started = Date.now();
    const layout = Array.from({ length: libraryCount }, (_, i) => ({
      name: `mysqlda${i + 1}`,
      serverNames: [`mysqlda${i + 1}-master`, ...Array.from({ length: replicaCount }, (_, r) => `mysqlda${i + 1}-replica${r + 1}`)],
    }));
    const servers = await startAll(
      layout.flatMap((library) => library.serverNames).map((name, index) => ({ baseDir, name, serverId: index + 1 })),
    );
    const libraries = layout.map((library) => {
      const [master, ...replicas] = library.serverNames.map((name) => servers.get(name)!);
      return { name: library.name, master, replicas };
    });
    const sandbox = new Sandbox(libraries, options);
    try {
      await sandbox.setUp();
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
    for (const server of sandbox.servers()) log(`${server.name}: 127.0.0.1:${server.port} (datadir ${server.dataDir})`);
    log(`sandbox ready in ${Date.now() - started} ms`);
    return sandbox;
  }

  /** mysqlda.conf content (mysqlda's JSON format): each library with its master, then its replicas. */
  configJson(options: ConfigJsonOptions): string {
    const document: Record<string, unknown> = {
      server: { listen_ip: options.listenIp ?? '127.0.0.1', listen_port: options.listenPort },
      auth: { user: this.user, pass: this.password, db: this.database },
      session_pool: { unused_forward_session_timeout: 60 },
      ...(options.saveDir === undefined ? {} : { storage: { save_dir: resolve(options.saveDir) } }),
      forwards: this.libraries.map((library) => ({
        instance: library.name,
        forward: [library.master, ...library.replicas].map((server) => ({ ip: server.host, port: server.port })),
      })),
    };
    for (const [key, value] of Object.entries(options.extra ?? {})) {
      const current = document[key];
      document[key] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
    }
    return `${JSON.stringify(document, null, 2)}\n`;
  }

  /**
   * Resolves once every running replica has applied everything its running master has written (GTIDs:
   * @@gtid_binlog_pos on the master against @@gtid_slave_pos on the replica). Pairs with a stopped server are
   * skipped: a failover test waits for replication after it has killed a master. Throws when a replication thread
   * has stopped on an error, or after 30 s.
   */
  async waitForReplication(): Promise<void> {
    const pairs = this.libraries.flatMap((library) => library.replicas.map((replica) => ({ master: library.master, replica })));
    const deadline = Date.now() + REPLICATION_TIMEOUT_MS;
    let pending = pairs;
    for (;;) {
      const lagging: string[] = [];
      const still: typeof pairs = [];
      for (const pair of pending) {
        if (!pair.master.running || !pair.replica.running) continue;
        const lag = await replicationLag(pair.master, pair.replica);
        if (lag) {
          lagging.push(lag);
          still.push(pair);
        }
      }
      if (still.length === 0) return;
      if (Date.now() > deadline) throw new Error(`replication did not catch up within ${REPLICATION_TIMEOUT_MS / 1000} s: ${lagging.join('; ')}`);
      pending = still;
      await sleep(REPLICATION_POLL_MS);
    }
  }

  /** Stops every server (cleanly, in parallel). */
  async stop(): Promise<void> {
    await Promise.all(this.servers().map((server) => server.stop()));
  }

  private servers(): MariadbServer[] {
    return this.libraries.flatMap((library) => [library.master, ...library.replicas]);
  }

  /**
   * Replication first, then the account, database and table on the master, so that they reach the replicas
   * through the binary log like any later write (no duplicate-key errors from creating them on both sides).
   */
  private async setUp(): Promise<void> {
    await Promise.all(this.libraries.map((library) => this.setUpLibrary(library)));
    await this.waitForReplication();
  }

  private async setUpLibrary({ master, replicas }: SandboxLibrary): Promise<void> {
    for (const replica of replicas) {
      // Replicas stay writable (no read_only): mysqlda fails over to the next server of a library by writing to
      // it, and the failover tests do exactly that after killing the master.
      await replica.query(
        'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, ' +
          'MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1',
        [master.host, master.port, 'root', ''],
      );
      await replica.query('START SLAVE');
    }
    const account = (host: string) => `${quote(this.user)}@${quote(host)}`;
    await master.query(`CREATE DATABASE IF NOT EXISTS ${identifier(this.database)}`);
    for (const host of ['%', 'localhost']) {
      await master.query(`CREATE USER IF NOT EXISTS ${account(host)} IDENTIFIED BY ${quote(this.password)}`);
      // ALL on *.*: the proxy resets pooled backend connections (RESET CONNECTION / CHANGE USER) and tests create
      // databases of their own.
      await master.query(`GRANT ALL ON *.* TO ${account(host)}`);
    }
    await master.query(testTableDdl(this.database));
  }
}

/** Starts every server in parallel; if one fails, stops the others and rethrows its error. */
async function startAll(specs: Array<{ baseDir: string; name: string; serverId: number }>): Promise<Map<string, MariadbServer>> {
  const results = await Promise.allSettled(specs.map((spec) => MariadbServer.start(spec)));
  const servers = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.all(servers.map((server) => server.kill()));
    throw failure.reason;
  }
  return new Map(servers.map((server) => [server.name, server]));
}

/** Removes the server datadirs of an earlier run, killing any mariadbd still running on one of them. */
async function wipeServers(baseDir: string): Promise<void> {
  const entries = await readdir(baseDir).catch(() => [] as string[]);
  await Promise.all(entries.map((entry) => discardDataDir(join(baseDir, entry))));
  await removeTree(baseDir);
}

/** undefined when `replica` has applied all of `master`'s GTIDs, else a description of the lag. */
async function replicationLag(master: MariadbServer, replica: MariadbServer): Promise<string | undefined> {
  const [{ pos: masterPos }] = await master.query('SELECT @@gtid_binlog_pos AS pos');
  const [{ pos: replicaPos }] = await replica.query('SELECT @@gtid_slave_pos AS pos');
  if (hasApplied(replicaPos, masterPos)) return undefined;
  const [status] = (await replica.query('SHOW SLAVE STATUS')) as Array<Record<string, unknown>>;
  const lag = `${replica.name} at "${replicaPos}", ${master.name} at "${masterPos}"`;
  if (!status) throw new Error(`${replica.name} is not a replica (${lag})`);
  if (status.Slave_SQL_Running === 'No' || status.Slave_IO_Running === 'No') {
    const why = [status.Last_SQL_Error, status.Last_IO_Error].filter(Boolean).join(' / ') || 'stopped';
    throw new Error(`replication ${master.name} → ${replica.name} has stopped: ${why} (${lag})`);
  }
  return lag;
}

/** True when the GTID position `applied` reaches `target` in every replication domain of `target`. */
export function hasApplied(applied: string, target: string): boolean {
  const appliedByDomain = gtidSequenceByDomain(applied);
  for (const [domain, sequence] of gtidSequenceByDomain(target)) {
    if ((appliedByDomain.get(domain) ?? -1n) < sequence) return false;
  }
  return true;
}

/** "0-1-5,1-2-9" → {0 → 5, 1 → 9} (domain-server-sequence, one GTID per domain). */
function gtidSequenceByDomain(position: string): Map<string, bigint> {
  const result = new Map<string, bigint>();
  for (const gtid of position.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [domain, , sequence] = gtid.split('-');
    if (domain !== undefined && sequence !== undefined) result.set(domain, BigInt(sequence));
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function identifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
