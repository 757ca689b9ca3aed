/**
 * The shared directory's connection to its MySQL/MariaDB server, through mysql2's promise pool. The servers are
 * tried in their configured order: the client stays on the first one that answers and is writable, and moves on
 * only when that one fails (a primary and its replicas, or the nodes of a Galera cluster). Whether the directory
 * can be used now is kept here (DirectoryState), for the health endpoints and the client's 7107.
 *
 * Transactions are retried on the errors that mean "try again" (deadlock, lock wait timeout, a Galera certification
 * failure or a node not ready); connection failures switch server and surface as DirectoryError('UNAVAILABLE').
 */
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { MysqlDirectoryConfig } from '../../config/types.js';
import { DirectoryError, type DirectoryState } from '../key-directory.js';
import { SCHEMA_DDL, SCHEMA_VERSION, TABLES } from './schema.js';

export type SqlConnection = mysql.PoolConnection;

/** Server errors after which the same transaction, run again, may succeed. */
const RETRYABLE_ERRNOS = new Set([
  1213, // ER_LOCK_DEADLOCK (also a Galera certification failure, "Deadlock found when trying to get lock")
  1205, // ER_LOCK_WAIT_TIMEOUT
  1180, // ER_ERROR_DURING_COMMIT (Galera: a commit that failed certification)
]);

/** Server errors that mean this server cannot serve the directory now: try the next one. */
const SERVER_UNUSABLE_ERRNOS = new Set([
  1047, // ER_UNKNOWN_COM_ERROR: Galera's "WSREP has not yet prepared node for application use"
  1290, // ER_OPTION_PREVENTS_STATEMENT: read_only (a replica, or a demoted primary)
  1836, // ER_READ_ONLY_MODE
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
  1040, // ER_CON_COUNT_ERROR
]);

const MAX_ATTEMPTS = 6;

/** ER_BAD_DB_ERROR: the configured database does not exist yet. */
const ER_BAD_DB_ERROR = 1049;

export interface TransactionOptions {
  /** For this transaction only; the server's default (REPEATABLE READ) otherwise. */
  isolation?: 'READ COMMITTED';
  /** More server errors after which the transaction is run again. */
  retryOn?: readonly number[];
}

export interface DirectoryClientOptions {
  connectTimeoutMs: number;
  /** Connections per server pool. */
  connectionLimit?: number;
  log?: (message: string) => void;
  /** Where the news that a server is in use (again) goes; `log` when absent. It is no warning. */
  notice?: (message: string) => void;
}

export class DirectoryClient {
  private serverIndex = 0;
  private pool: mysql.Pool | null = null;
  private current: DirectoryState;
  private closed = false;

  constructor(
    private readonly config: MysqlDirectoryConfig,
    private readonly options: DirectoryClientOptions,
  ) {
    this.current = { kind: 'mysql', available: false, location: this.address(0), lastError: 'not connected yet', since: Date.now() };
  }

  state(): DirectoryState {
    return { ...this.current };
  }

  /** The server in use (host:port). */
  get location(): string {
    return this.address(this.serverIndex);
  }

  /**
   * Runs `work` on a connection of the first usable server. A connection-level failure marks the directory
   * unavailable, moves to the next server for the next call, and rejects with DirectoryError('UNAVAILABLE').
   */
  async run<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new DirectoryError('CLOSED', 'the directory is closed');
    const servers = this.config.servers.length;
    let lastError: unknown;
    for (let attempt = 0; attempt < servers; attempt++) {
      let connection: SqlConnection;
      try {
        connection = await this.poolFor(this.serverIndex).getConnection();
      } catch (err) {
        lastError = err;
        this.serverFailed(err);
        continue;
      }
      try {
        const result = await work(connection);
        this.markAvailable();
        connection.release();
        return result;
      } catch (err) {
        if (isConnectionLevel(err)) {
          connection.destroy();
          lastError = err;
          this.serverFailed(err);
          continue;
        }
        connection.release();
        throw err;
      }
    }
    // The last server tried and why (with several servers, each failure has been logged as it happened).
    throw new DirectoryError('UNAVAILABLE', `the directory is unreachable: ${this.current.lastError ?? describe(lastError)}`, { cause: lastError });
  }

  /**
   * Runs `work` inside a transaction, committing it; retried on deadlocks and certification failures (and on the
   * extra errors of `options.retryOn`, e.g. a duplicate key that a re-read resolves).
   */
  transaction<T>(work: (connection: SqlConnection) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.run((connection) =>
      retrying(async () => {
        if (options.isolation) await connection.query(`SET TRANSACTION ISOLATION LEVEL ${options.isolation}`);
        await connection.query('START TRANSACTION');
        try {
          const result = await work(connection);
          await connection.query('COMMIT');
          return result;
        } catch (err) {
          await connection.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }, options.retryOn),
    );
  }

  /**
   * Creates the database and tables when missing and checks the schema version. Rejects with a DirectoryError
   * naming the reason when the server cannot be reached or used (mysqlda then refuses to start).
   */
  async ensureSchema(): Promise<void> {
    try {
      await this.createTables();
    } catch (err) {
      if (errnoOf((err as Error).cause) !== ER_BAD_DB_ERROR) throw err;
      await this.createDatabase();
      await this.createTables();
    }
  }

  private async createTables(): Promise<void> {
    await this.run(async (connection) => {
      try {
        await this.createTablesOn(connection);
      } catch (err) {
        if (err instanceof DirectoryError || isConnectionLevel(err)) throw err;
        throw new DirectoryError('UNAVAILABLE', `cannot use the directory database ${this.config.database} on ${this.location}: ${describe(err)}`, { cause: err });
      }
    });
  }

  private async createTablesOn(connection: SqlConnection): Promise<void> {
    {
      for (const ddl of SCHEMA_DDL) await connection.query(ddl);
      await connection.query(`INSERT IGNORE INTO ${TABLES.schema} (id, version) VALUES (1, ?)`, [SCHEMA_VERSION]);
      const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT version FROM ${TABLES.schema} WHERE id = 1`);
      const version = Number(rows[0]?.version);
      if (version > SCHEMA_VERSION) {
        throw new DirectoryError('INVALID_CONFIG', `the directory ${this.config.database} has schema version ${version}; this mysqlda knows up to ${SCHEMA_VERSION}: upgrade mysqlda`);
      }
    }
  }

  /** CREATE DATABASE on the server in use, through a connection that names no database (the pool's would fail). */
  private async createDatabase(): Promise<void> {
    const server = this.config.servers[this.serverIndex];
    let connection: mysql.Connection | undefined;
    try {
      connection = await mysql.createConnection({ ...this.connectionOptions(server), database: undefined });
      await connection.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(this.config.database)}`);
    } catch (err) {
      throw new DirectoryError('UNAVAILABLE', `cannot create the directory database ${this.config.database} on ${this.location}: ${describe(err)}`, { cause: err });
    } finally {
      await connection?.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.end().catch(() => undefined);
  }

  private poolFor(index: number): mysql.Pool {
    if (this.pool) return this.pool;
    const server = this.config.servers[index];
    this.pool = mysql.createPool({ ...this.connectionOptions(server), connectionLimit: this.options.connectionLimit ?? 8, enableKeepAlive: true });
    this.pool.on('connection', (connection) => {
      // A connection to a read_only server makes every write fail with 1290: run() then moves on. Row locks are
      // held for one short batch, so a long wait means a stuck peer: give up and retry rather than queue.
      connection.query('SET SESSION innodb_lock_wait_timeout = 5');
    });
    return this.pool;
  }

  private connectionOptions(server: { host: string; port: number }): mysql.ConnectionOptions {
    return {
      host: server.host,
      port: server.port,
      user: this.config.user,
      password: this.config.password,
      database: this.config.database,
      connectTimeout: this.options.connectTimeoutMs,
      ssl: sslOptions(this.config),
      supportBigNumbers: true,
      bigNumberStrings: false,
      // The assigning transaction sends its statements in two round trips (see assignment-sql.ts). Values are
      // always escaped by mysql2's format(), never pasted in.
      multipleStatements: true,
    };
  }

  private serverFailed(err: unknown): void {
    const failed = this.address(this.serverIndex);
    const pool = this.pool;
    this.pool = null;
    void pool?.end().catch(() => undefined);
    this.serverIndex = (this.serverIndex + 1) % this.config.servers.length;
    const reason = `${failed}: ${describe(err)}`;
    if (this.current.available || this.current.lastError !== reason) {
      this.options.log?.(`directory server ${reason}; trying ${this.address(this.serverIndex)}`);
    }
    this.current = { kind: 'mysql', available: false, location: this.address(this.serverIndex), lastError: reason, since: this.current.available ? Date.now() : this.current.since };
  }

  private markAvailable(): void {
    if (this.current.available) return;
    this.current = { kind: 'mysql', available: true, location: this.address(this.serverIndex), lastError: null, since: Date.now() };
    (this.options.notice ?? this.options.log)?.(`directory server ${this.address(this.serverIndex)} in use`);
  }

  private address(index: number): string {
    const server = this.config.servers[index];
    return server ? `${server.host}:${server.port}` : '?';
  }
}

/**
 * Runs `attempt` again (up to MAX_ATTEMPTS, after a short random pause) while it fails with an error that means
 * "try again": a deadlock, a lock wait timeout, a Galera certification failure, or one of `extra`.
 */
export async function retrying<T>(attempt: () => Promise<T>, extra: readonly number[] = []): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      const errno = errnoOf(err);
      if (tries >= MAX_ATTEMPTS || !(RETRYABLE_ERRNOS.has(errno) || extra.includes(errno))) throw err;
      await sleep(Math.min(200, 5 * 2 ** tries) * Math.random());
    }
  }
}

/** The server's error number (mysql2's `errno`), or 0. */
export function errnoOf(err: unknown): number {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : 0;
}

/** A failure of the connection or of the server as a whole, not of the statement: try another server. */
function isConnectionLevel(err: unknown): boolean {
  if (err instanceof DirectoryError) return false;
  const e = err as { fatal?: boolean; code?: string } | null;
  // A statement past its timeout (a network cut) leaves its answer owed on the connection: the connection goes too.
  return Boolean(e?.fatal) || SERVER_UNUSABLE_ERRNOS.has(errnoOf(err)) || e?.code === 'PROTOCOL_CONNECTION_LOST' || e?.code === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

export function describe(err: unknown): string {
  if (err === undefined) return 'no server is configured';
  const e = err as { code?: string; message?: string };
  const message = String(e?.message ?? err).slice(0, 200);
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}

function sslOptions(config: MysqlDirectoryConfig): mysql.SslOptions | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  return {
    ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
    cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
    key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
    rejectUnauthorized: tls.mode !== 'required',
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
