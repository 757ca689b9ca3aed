import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { mariadbInstallation } from './installation.js';
import { findFreePort } from './ports.js';
import { reapStaleServer, sandboxRunDir, trackServerProcess, untrackServerProcess } from './reaper.js';
import { copyTemplate, INNODB_SIZE_OPTIONS } from './template.js';
import { copyTree, removeTree } from './tree.js';

export { assertMariadbInstalled } from './installation.js';
export { findFreePort } from './ports.js';

export interface MariadbServerOptions {
  /** The server's datadir is `<baseDir>/<name>`; it is wiped and re-created from the template on start. */
  baseDir: string;
  name: string;
  /** A free port is chosen when absent (and another one if that port is taken before mariadbd binds it). */
  port?: number;
  serverId: number;
  /** More mariadbd options (e.g. --ssl-cert/--ssl-key for a server that speaks TLS). */
  extraArgs?: readonly string[];
  /** Options for the first start only, not for restart() (e.g. bootstrapping a Galera cluster). */
  extraStartArgs?: readonly string[];
  /** A stopped server's datadir to copy instead of the template (nodes of a Galera cluster that share its state). */
  seedDataDir?: string;
  /** How long a start may take before it is given up (default 30 s; a Galera joiner waits for its state transfer). */
  readyTimeoutMs?: number;
  /** Runs on the fresh datadir before mariadbd starts. */
  prepareDataDir?: (dataDir: string) => Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 60_000;
const PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 25;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class PortInUseError extends Error {}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

interface Launch {
  child: ChildProcess;
  exited: Promise<Exit>;
  stderrTail: string[];
}

let socketSequence = 0;

/** One throwaway mariadbd: its own datadir, port, socket and binary log, reached as root over TCP. */
export class MariadbServer {
  readonly name: string;
  readonly host = '127.0.0.1' as const;
  readonly port: number;
  readonly dataDir: string;
  readonly socketPath: string;
  readonly serverId: number;
  private readonly pidFile: string;
  private readonly errorLog: string;
  private readonly extraArgs: readonly string[];
  private readonly readyTimeoutMs: number;
  private startArgs: readonly string[];
  private launch: Launch | undefined;
  private connection: Promise<Connection> | undefined;
  private queriesInFlight = 0;

  private constructor(options: MariadbServerOptions, port: number) {
    this.name = options.name;
    this.port = port;
    this.serverId = options.serverId;
    this.extraArgs = options.extraArgs ?? [];
    this.startArgs = options.extraStartArgs ?? [];
    this.readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    this.dataDir = join(resolve(options.baseDir), options.name);
    this.socketPath = join(sandboxRunDir(), `s${++socketSequence}.sock`);
    this.pidFile = join(this.dataDir, 'mariadbd.pid');
    this.errorLog = join(this.dataDir, 'error.log');
  }

  /** Creates a fresh datadir from the template and starts mariadbd; resolves once it answers `SELECT`. */
  static async start(options: MariadbServerOptions): Promise<MariadbServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new MariadbServer(options, options.port ?? (await findFreePort()));
      await discardDataDir(server.dataDir);
      await mkdir(resolve(options.baseDir), { recursive: true });
      if (options.seedDataDir) await copyTree(options.seedDataDir, server.dataDir);
      else await copyTemplate(server.dataDir);
      await options.prepareDataDir?.(server.dataDir);
      try {
        await server.launchAndWait();
        return server;
      } catch (error) {
        const retry = error instanceof PortInUseError && options.port === undefined && attempt < PORT_ATTEMPTS;
        if (!retry) throw error;
      }
    }
  }

  get running(): boolean {
    return this.launch !== undefined;
  }

  /** Runs one statement as root and returns mysql2's rows (or its ResultSetHeader). */
  async query(sql: string, params?: unknown[]): Promise<any> {
    const connection = await this.rootConnection();
    // The cached connection holds Node's event loop only while a query is in flight (see holdEventLoop).
    this.queriesInFlight++;
    holdEventLoop(connection, true);
    try {
      const [rows] = await connection.query(sql, params);
      return rows;
    } catch (error) {
      if ((error as { fatal?: boolean }).fatal) this.dropConnection();
      throw error;
    } finally {
      if (--this.queriesInFlight === 0) holdEventLoop(connection, false);
    }
  }

  /** Sends `signal` (SIGKILL unless told otherwise) and resolves once the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.terminate(signal);
  }

  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) the server without waiting: a frozen server keeps its sockets open and
   * accepts TCP connections, but answers nothing.
   */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.launch?.child.kill(signal);
  }

  /** Clean shutdown (SIGTERM); resolves once the process has exited. */
  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  /**
   * Starts mariadbd again on the same port and datadir (stopping it first if it is running); `onceArgs` are added
   * for this start only.
   */
  async restart(onceArgs: readonly string[] = []): Promise<void> {
    if (this.running) await this.stop();
    this.startArgs = onceArgs;
    await this.launchAndWait();
  }

  /**
   * Runs mariadbd on this (stopped) server's datadir with `onceArgs` added, for a task that ends by itself (e.g.
   * --wsrep-recover), and resolves with the error log's new lines once it has exited.
   */
  async runTask(onceArgs: readonly string[]): Promise<string> {
    if (this.running) throw new Error(`${this.describe()} is running`);
    const before = (await readFile(this.errorLog, 'utf8').catch(() => '')).length;
    const child = spawn(mariadbInstallation().mariadbd, [...this.args(), ...onceArgs], { stdio: 'ignore' });
    if (child.pid !== undefined) trackServerProcess(child.pid);
    const exit = await new Promise<Exit>((resolveExit) => {
      child.once('error', (error) => resolveExit({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
    if (child.pid !== undefined) untrackServerProcess(child.pid);
    const log = (await readFile(this.errorLog, 'utf8').catch(() => '')).slice(before);
    if (exit.error || exit.code !== 0) {
      throw new Error(`${this.describe()} ${onceArgs.join(' ')} failed (${exit.error?.message ?? exit.signal ?? `code ${exit.code}`})\n${log.split('\n').slice(-LOG_TAIL_LINES).join('\n')}`);
    }
    return log;
  }

  private args(): string[] {
    return [
      '--no-defaults',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      `--datadir=${this.dataDir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socketPath}`,
      `--pid-file=${this.pidFile}`,
      `--log-error=${this.errorLog}`,
      `--server-id=${this.serverId}`,
      '--log-bin=mysql-bin',
      // The default relay log name contains the host name: fix it so a datadir stays valid anywhere.
      '--relay-log=relay-bin',
      '--binlog-format=ROW',
      '--log-slave-updates',
      '--skip-name-resolve',
      // Tests connect and drop connections half-way on purpose: never block 127.0.0.1 for that.
      '--host-cache-size=0',
      '--max-connect-errors=4294967295',
      // What Debian's packaged server uses (its my.cnf is skipped by --no-defaults).
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--max-allowed-packet=64M',
      '--max-connections=2000',
      ...INNODB_SIZE_OPTIONS,
      // Throwaway servers: durability against an OS crash is not needed, start-up and commit speed are.
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--innodb-doublewrite=0',
      '--innodb-buffer-pool-dump-at-shutdown=0',
      '--innodb-buffer-pool-load-at-startup=0',
      '--innodb-temp-data-file-path=ibtmp1:1M:autoextend',
      ...this.extraArgs,
      ...this.startArgs,
    ];
  }

  private spawnServer(): Launch {
    const child = spawn(mariadbInstallation().mariadbd, this.args(), { stdio: ['ignore', 'ignore', 'pipe'] });
    const stderrTail: string[] = [];
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderrTail.push(...chunk.split('\n').filter(Boolean));
      stderrTail.splice(0, Math.max(0, stderrTail.length - LOG_TAIL_LINES));
    });
    const exited = new Promise<Exit>((resolveExit) => {
      child.once('error', (error) => resolveExit({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    });
    const launch: Launch = { child, exited, stderrTail };
    if (child.pid !== undefined) trackServerProcess(child.pid);
    void exited.then(() => {
      if (child.pid !== undefined) untrackServerProcess(child.pid);
      if (this.launch === launch) {
        this.launch = undefined;
        this.dropConnection();
      }
    });
    // A forgotten server must not keep Node alive: the exit handler kills it instead.
    child.unref();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    return launch;
  }

  private async launchAndWait(): Promise<void> {
    const launch = this.spawnServer();
    this.launch = launch;
    let exit: Exit | undefined;
    void launch.exited.then((e) => (exit = e));
    const deadline = Date.now() + this.readyTimeoutMs;
    while (!exit) {
      const connection = await this.tryConnect();
      if (connection) {
        holdEventLoop(connection, false);
        this.connection = Promise.resolve(connection);
        return;
      }
      if (Date.now() > deadline) {
        await this.terminate('SIGKILL');
        throw new Error(`${this.describe()} did not accept connections within ${this.readyTimeoutMs / 1000} s${await this.logTail(launch)}`);
      }
      await sleep(READY_POLL_MS);
    }
    const tail = await this.logTail(launch);
    const how = exit.error ? exit.error.message : `exited with ${exit.signal ?? `code ${exit.code}`}`;
    const message = `${this.describe()} ${how} while starting${tail}`;
    throw /Bind on TCP\/IP port|Address already in use/.test(tail) ? new PortInUseError(message) : new Error(message);
  }

  /** A root connection if the server on our port is ours (its socket is ours: not another server on a reused port). */
  private async tryConnect(): Promise<Connection | undefined> {
    let connection: Connection | undefined;
    try {
      connection = await this.openRootConnection(1_000);
      const [rows] = await connection.query('SELECT @@socket AS socket');
      if ((rows as Array<{ socket: string }>)[0]?.socket === this.socketPath) return connection;
    } catch {
      // not ready yet
    }
    connection?.destroy();
    return undefined;
  }

  private async openRootConnection(connectTimeout: number): Promise<Connection> {
    const connection = await createConnection({ host: this.host, port: this.port, user: 'root', password: '', connectTimeout });
    connection.on('error', () => this.dropConnection(connection));
    return connection;
  }

  private rootConnection(): Promise<Connection> {
    if (!this.connection) {
      const opening = this.openRootConnection(10_000).then((connection) => {
        holdEventLoop(connection, false);
        return connection;
      });
      opening.catch(() => {
        if (this.connection === opening) this.connection = undefined;
      });
      this.connection = opening;
    }
    return this.connection;
  }

  /** Forgets the cached root connection (all of it, or only if it is `which`). */
  private dropConnection(which?: Connection): void {
    const cached = this.connection;
    if (!cached) return;
    void cached.then(
      (connection) => {
        if (which && which !== connection) return;
        if (this.connection === cached) this.connection = undefined;
        connection.destroy();
      },
      () => {},
    );
    if (!which) this.connection = undefined;
  }

  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const launch = this.launch;
    if (!launch) return;
    this.dropConnection();
    launch.child.ref();
    launch.child.kill(signal);
    const timeout = signal === 'SIGKILL' ? 10_000 : STOP_TIMEOUT_MS;
    const timer = setTimeout(() => launch.child.kill('SIGKILL'), timeout);
    await launch.exited;
    clearTimeout(timer);
  }

  private describe(): string {
    return `mariadbd "${this.name}" (port ${this.port}, datadir ${this.dataDir})`;
  }

  private async logTail(launch: Launch): Promise<string> {
    const log = await readFile(this.errorLog, 'utf8').catch(() => '');
    const lines = [...log.split('\n').filter(Boolean).slice(-LOG_TAIL_LINES), ...launch.stderrTail];
    return lines.length ? `\n--- ${this.errorLog} (tail) ---\n${lines.join('\n')}` : '';
  }
}

/**
 * Refs or unrefs the socket of a mysql2 connection. An idle cached root connection must not keep Node alive
 * (a script that forgets stop() should still end, its servers killed by the exit handler), but a pending query must.
 */
function holdEventLoop(connection: Connection, hold: boolean): void {
  const socket = (connection as unknown as { connection?: { stream?: { ref?: () => void; unref?: () => void } } }).connection?.stream;
  if (hold) socket?.ref?.();
  else socket?.unref?.();
}

/** Removes a datadir, first killing a mariadbd an earlier run may have left running on it. */
export async function discardDataDir(dataDir: string): Promise<void> {
  await reapStaleServer(dataDir, join(dataDir, 'mariadbd.pid'));
  await removeTree(dataDir);
}
