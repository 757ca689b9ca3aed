/**
 * Everything a bench run measures against: one throwaway MariaDB server (a sandbox library of a master and no
 * replica, so that the proxy's every routed connection lands on the very server the direct path uses), its test
 * tables, haproxy in TCP mode and a bare Node forwarder in front of it, and the built proxy as a separate process.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { findFreePort } from '../../tools/sandbox/ports.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { GUARDED_CONFIG } from './guardrails.js';
import { ListeningProcess } from './listening-process.js';
import type { Tools } from './machine.js';

const MYSQLDA_BIN = join(PROJECT_ROOT, 'bin/mysqlda');

export type PathName = 'direct' | 'haproxy' | 'node' | 'mysqlda' | 'mysqlda_guarded';
/** The paths compared with one another throughput cell by throughput cell. */
export const PATH_NAMES: readonly PathName[] = ['direct', 'haproxy', 'node', 'mysqlda'];
/** Compared with mysqlda only, in cells of its own (see guardrails.ts). */
export const GUARDED_PATH: PathName = 'mysqlda_guarded';
/** What each path is, for the result tables. */
export const PATH_DESCRIPTIONS: Record<PathName, string> = {
  direct: 'the client talks to MariaDB itself',
  haproxy: 'haproxy in TCP mode, one thread: a layer-4 forwarder in C',
  node: 'a bare TCP forwarder in Node with the socket plumbing mysqlda uses and no MySQL logic (bench/src/node-forwarder.ts): the floor for a proxy written in Node',
  mysqlda: 'the proxy, after `select library <key>` on each connection',
  mysqlda_guarded: 'a second proxy process, as mysqlda but with every guardrail configured (bench/src/guardrails.ts), none of them firing',
};

/** One way to reach the MariaDB server. */
export interface BenchPath {
  name: PathName;
  port: number;
  /** Key prefix for `select library` (mysqlda only); '' for the paths that know nothing of it. */
  libraryKey: string;
  /** The forwarding process whose CPU is charged to this path (none for direct). */
  forwarder: ListeningProcess | null;
}

export interface TestData {
  /** Rows of sbtest1, the point-select table. */
  pointRows: number;
  /** Rows of big_rows, read whole by the large-result workload. */
  bigRows: number;
  /** Bytes of the one value of big_blob. */
  blobBytes: number;
}

export interface StageOptions {
  dir: string;
  tools: Tools;
  data: TestData;
  /** Extra node flags for the proxy process (e.g. --cpu-prof). */
  proxyNodeFlags?: string[];
  /** Also start the guarded proxy (the mysqlda_guarded path) beside the plain one. */
  guarded?: boolean;
  log: (line: string) => void;
}

export interface ProxyOptions {
  /** The save directory; `<dir>/<name>/` when absent. */
  saveDir?: string;
  /** Sections merged over the usual config, key by key within each section (Sandbox.configJson). */
  config?: Record<string, unknown>;
  /** Fail when the proxy warns about its config at start (an unknown key, a value it does not take). */
  refuseWarnings?: boolean;
}

/** How the proxy words a warning about its config file at start (src/supervisor/proxy-config.ts). */
const CONFIG_WARNING = /config: /;

/** Backend connections the proxy may hold: the idle-session memory test routes thousands of sessions. */
const MAX_BACKEND_CONNECTIONS = 12_000;
/** mariadbd starts with --max-connections=2000; the idle-session test needs a little more (a dynamic variable). */
const MARIADB_MAX_CONNECTIONS = 3_000;

export class Stage {
  private readonly proxies = new Set<ListeningProcess>();
  private haproxy: ListeningProcess | null = null;
  private nodeForwarder: ListeningProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly sandbox: Sandbox,
    readonly paths: BenchPath[],
    private readonly options: StageOptions,
  ) {}

  static async start(options: StageOptions): Promise<Stage> {
    const sandbox = await Sandbox.start({ dir: join(options.dir, 'sandbox'), libraries: 1, replicas: 0, log: options.log });
    let haproxy: { process: ListeningProcess; port: number } | null = null;
    let nodeForwarder: { process: ListeningProcess; port: number } | null = null;
    let stage: Stage | null = null;
    try {
      const master = sandbox.libraries[0].master;
      await master.query(`SET GLOBAL max_connections = ${MARIADB_MAX_CONNECTIONS}`);
      await createTestData(sandbox, options.data);
      haproxy = await startHaproxy(options.tools.haproxy, join(options.dir, 'haproxy'), master.port);
      nodeForwarder = await startNodeForwarder(master.port);
      stage = new Stage(options.dir, sandbox, [], options);
      const proxy = await stage.startProxy('proxy');
      stage.paths.push(
        { name: 'direct', port: master.port, libraryKey: '', forwarder: null },
        { name: 'haproxy', port: haproxy.port, libraryKey: '', forwarder: haproxy.process },
        { name: 'node', port: nodeForwarder.port, libraryKey: '', forwarder: nodeForwarder.process },
        { name: 'mysqlda', port: proxy.port, libraryKey: 'bench', forwarder: proxy.process },
      );
      // Started with the plain proxy, so that both processes are of the same age (see docs/benchmarks.md).
      if (options.guarded) {
        const guarded = await stage.startProxy('proxy-guarded', { config: GUARDED_CONFIG, refuseWarnings: true });
        stage.paths.push({ name: GUARDED_PATH, port: guarded.port, libraryKey: 'bench', forwarder: guarded.process });
      }
      stage.haproxy = haproxy.process;
      stage.nodeForwarder = nodeForwarder.process;
      return stage;
    } catch (error) {
      await Promise.all([...(stage?.proxies ?? [])].map((proxy) => proxy.stop()));
      await haproxy?.process.stop();
      await nodeForwarder?.process.stop();
      await sandbox.stop();
      throw error;
    }
  }

  path(name: PathName): BenchPath {
    return this.paths.find((path) => path.name === name)!;
  }

  /** The sandbox's account, for clients. */
  get account(): { user: string; password: string; database: string } {
    const { user, password, database } = this.sandbox;
    return { user, password, database };
  }

  /**
   * Starts one more proxy process (`bin/mysqlda -a start --no-daemon --loglevel-warn`) in front of the server,
   * saving into `<dir>/<name>/` unless `saveDir` is given. Stopped by stop() unless stopped before.
   */
  async startProxy(name: string, options: ProxyOptions = {}): Promise<{ process: ListeningProcess; port: number }> {
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const port = await findFreePort();
    const configPath = join(dir, 'mysqlda.conf');
    const extra = {
      ...options.config,
      session_pool: { unused_forward_session_timeout: 60, max_connections_per_server: MAX_BACKEND_CONNECTIONS },
    };
    await writeFile(configPath, this.sandbox.configJson({ listenPort: port, saveDir: options.saveDir ?? dir, extra }), { mode: 0o600 });
    const started = await ListeningProcess.start({
      name: `mysqlda (${name})`,
      command: process.execPath,
      args: [...(this.options.proxyNodeFlags ?? []), MYSQLDA_BIN, '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'],
      port,
      timeoutMs: 120_000,
    });
    this.proxies.add(started);
    // The proxy ignores a key it does not know, with a warning at start: a misspelt guardrail would go unmeasured.
    if (options.refuseWarnings && CONFIG_WARNING.test(started.outputTail)) {
      await this.stopProxy(started);
      throw new Error(`mysqlda (${name}) warned about its config ${configPath}:\n${started.outputTail}`);
    }
    return { process: started, port };
  }

  async stopProxy(proxy: ListeningProcess): Promise<void> {
    await proxy.stop();
    this.proxies.delete(proxy);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.proxies].map((proxy) => proxy.stop()));
    this.proxies.clear();
    await this.haproxy?.stop();
    await this.nodeForwarder?.stop();
    await this.sandbox.stop();
  }
}

async function createTestData(sandbox: Sandbox, data: TestData): Promise<void> {
  const master = sandbox.libraries[0].master;
  const db = `\`${sandbox.database}\``;
  // sysbench's own table layout for the point selects; MariaDB's SEQUENCE engine (seq_1_to_N) fills the tables.
  await master.query(
    `CREATE TABLE ${db}.sbtest1 (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY (k))`,
  );
  await master.query(
    `INSERT INTO ${db}.sbtest1 SELECT seq, seq % 1000, REPEAT(CHAR(97 + seq % 26), 120), REPEAT('p', 60) FROM ${db}.seq_1_to_${data.pointRows}`,
  );
  await master.query(`CREATE TABLE ${db}.big_rows (id INT NOT NULL PRIMARY KEY, c CHAR(100) NOT NULL)`);
  await master.query(`INSERT INTO ${db}.big_rows SELECT seq, REPEAT(CHAR(97 + seq % 26), 100) FROM ${db}.seq_1_to_${data.bigRows}`);
  await master.query(`CREATE TABLE ${db}.big_blob (id INT NOT NULL PRIMARY KEY, b LONGBLOB NOT NULL)`);
  await master.query(`INSERT INTO ${db}.big_blob VALUES (1, REPEAT('b', ${data.blobBytes}))`);
}

/** Column bytes of one `SELECT * FROM big_rows` (the id as text plus c): the payload a large-result event moves. */
export async function bigRowsBytes(sandbox: Sandbox): Promise<number> {
  const [row] = await sandbox.libraries[0].master.query(
    `SELECT SUM(LENGTH(CAST(id AS CHAR)) + LENGTH(c)) AS bytes FROM \`${sandbox.database}\`.big_rows`,
  );
  return Number(row.bytes);
}

/** haproxy as a layer-4 forwarder: TCP mode, one thread, in the foreground. */
async function startNodeForwarder(serverPort: number): Promise<{ process: ListeningProcess; port: number }> {
  const port = await findFreePort();
  // Compiled beside this module (build/bench/src/): the bench runs from its compiled copy.
  const script = join(import.meta.dirname, 'node-forwarder.js');
  const started = await ListeningProcess.start({ name: 'node forwarder', command: process.execPath, args: [script, String(port), String(serverPort)], port });
  return { process: started, port };
}

async function startHaproxy(haproxy: string, dir: string, serverPort: number): Promise<{ process: ListeningProcess; port: number }> {
  await mkdir(dir, { recursive: true });
  const port = await findFreePort();
  const configPath = join(dir, 'haproxy.cfg');
  const config = [
    'global',
    '  nbthread 1',
    // Each connection takes two descriptors; keep within the usual 20000-descriptor limit.
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    'listen mariadb',
    `  bind 127.0.0.1:${port}`,
    `  server master 127.0.0.1:${serverPort}`,
    '',
  ].join('\n');
  await writeFile(configPath, config);
  const started = await ListeningProcess.start({ name: 'haproxy', command: haproxy, args: ['-f', configPath, '-db'], port });
  return { process: started, port };
}
