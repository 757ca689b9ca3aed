import { performance } from 'node:perf_hooks';
import type { LibraryConfig, ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import { BackendError, serverAddress, shapeKey, type BackendConnection, type ConnectionShape } from './backend-connection.js';
import { tlsKey } from './backend-tls.js';
import { classifyConnectFailure } from './connect-failure.js';
import { ConnectionPool, type PoolOptions, type PoolStats } from './connection-pool.js';
import type { HealthObservation } from './server-health.js';

export interface ServerPoolStats extends PoolStats {
  server: string;
  shape: string;
}

/** Which server a library's new connections go to, and where connect failures are reported (CurrentServers + health). */
export interface ServerRouting {
  /** The library's current server, or null when none of its servers is usable. */
  serverFor(library: LibraryConfig): ServerConfig | null;
  /** A session's connect attempt failed: counts like a failed health check (a refused connection is conclusive). */
  connectFailed(server: string, observation: HealthObservation): void;
  /** Why the library has no usable server, for the client's error message. */
  whyUnavailable(library: LibraryConfig): string;
  /** Whether the server (host:port) is marked down: its connections are not pooled then. */
  isDown(server: string): boolean;
  /** The library's move being stored (a shared failover state store answers a moment later), or null. */
  pendingMove?(library: LibraryConfig): Promise<unknown> | null;
  /** A replica of the library fresh enough for a read session, or why none is (replica-choice.ts). */
  replicaFor?(library: LibraryConfig, maxLagSeconds: number): { server: ServerConfig } | { none: string };
}

/** A read session's connection: on a replica, or on the current server when no replica was fresh enough. */
export interface ReadConnection {
  connection: BackendConnection;
  onReplica: boolean;
}

/** The longest a session waits for a library's move to be stored before it hears that no server is usable. */
const PENDING_MOVE_WAIT_MS = 5_000;

/**
 * Every pool of every server, and the way to a library's current server. New backend connections go only to the
 * library's current server; servers that are down are never tried, so no session waits for a connect timeout on a
 * server known to be dead. A connect that fails because nothing listens marks the server down at once, which
 * fails the library over, and the session follows to the new current server. A server that answers with an error
 * (login refused, too many connections) is alive: the session gets the error and the library stays.
 */
export class BackendPools {
  private readonly pools = new Map<string, ConnectionPool>();
  /** Every connection handed out, with its pool; a connection seen before is a pooled reuse, not a connect. */
  private readonly owners = new WeakMap<BackendConnection, ConnectionPool>();

  constructor(
    private options: PoolOptions,
    private readonly logger: Logger,
    private readonly routing: ServerRouting,
    private readonly events?: ProxyEvents,
  ) {}

  updateOptions(options: PoolOptions): void {
    this.options = options;
    for (const pool of this.pools.values()) pool.updateOptions(options);
  }

  /** A backend connection to the library's current server (failing the library over first if that one is down). */
  async acquireForLibrary(library: LibraryConfig, shape: ConnectionShape): Promise<BackendConnection> {
    const tried = new Set<string>();
    const failures: string[] = [];
    for (let server = await this.serverAfterMove(library); server; server = await this.serverAfterMove(library)) {
      const address = serverAddress(server);
      if (tried.has(address)) break;
      tried.add(address);
      const started = performance.now();
      try {
        const connection = await this.acquire(server, shape, library.name, started);
        return connection;
      } catch (err) {
        const message = (err as Error).message;
        const kind = classifyConnectFailure(err);
        if (kind === 'answered' || kind === 'pool') throw err;
        failures.push(message);
        this.logger.warn({ library: library.name, server: address }, `backend unavailable: ${message}`);
        this.routing.connectFailed(address, { ok: false, error: message, conclusive: kind === 'unreachable' });
      }
    }
    throw new BackendError([...failures, this.routing.whyUnavailable(library)].join('; '), library.name);
  }

  /**
   * The library's server; when there is none because its move is being stored, the one it moves to. Only a
   * session that found no usable server waits, and never past PENDING_MOVE_WAIT_MS.
   */
  private async serverAfterMove(library: LibraryConfig): Promise<ServerConfig | null> {
    const server = this.routing.serverFor(library);
    if (server) return server;
    const pending = this.routing.pendingMove?.(library);
    if (!pending) return null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, PENDING_MOVE_WAIT_MS)));
    await Promise.race([pending, timeout]);
    clearTimeout(timer);
    return this.routing.serverFor(library);
  }

  /**
   * A connection for a read-only session: to a replica within `maxLagSeconds` (sessions take turns among them), else
   * to the library's current server, counted as a fallback (mysqlda_replica_read_fallbacks_total).
   */
  async acquireForRead(library: LibraryConfig, shape: ConnectionShape, maxLagSeconds: number): Promise<ReadConnection> {
    const choice = this.routing.replicaFor?.(library, maxLagSeconds) ?? { none: 'no replica readings' };
    let why: string;
    if ('server' in choice) {
      const address = serverAddress(choice.server);
      try {
        return { connection: await this.acquire(choice.server, shape, library.name), onReplica: true };
      } catch (err) {
        why = `${address}: ${(err as Error).message}`;
        const kind = classifyConnectFailure(err);
        if (kind === 'unreachable' || kind === 'uncertain') this.routing.connectFailed(address, { ok: false, error: (err as Error).message, conclusive: kind === 'unreachable' });
      }
    } else {
      why = choice.none;
    }
    this.logger.debug({ library: library.name, reason: why }, 'replica read falls back to the current server');
    this.events?.emit('replica-read-fallback', { library: library.name });
    return { connection: await this.acquireForLibrary(library, shape), onReplica: false };
  }

  /** A connection to this server (pooled or new). `library` and `started` are for the backend-connect event. */
  async acquire(server: ServerConfig, shape: ConnectionShape, library = '', started = performance.now()): Promise<BackendConnection> {
    const pool = this.poolFor(server, shape);
    let connection: BackendConnection;
    try {
      connection = await pool.acquire();
    } catch (err) {
      if (classifyConnectFailure(err) !== 'pool') {
        this.events?.emit('backend-connect', { server: pool.address, library, ms: performance.now() - started, ok: false });
      }
      throw err;
    }
    if (!this.owners.has(connection)) {
      this.events?.emit('backend-connect', { server: pool.address, library, ms: performance.now() - started, ok: true });
    }
    this.owners.set(connection, pool);
    return connection;
  }

  /** Gives a connection back: reset and pooled when it is idle and alive, destroyed otherwise. */
  release(connection: BackendConnection, idle: boolean): Promise<void> {
    const pool = this.owners.get(connection);
    if (!pool) {
      connection.destroy();
      return Promise.resolve();
    }
    if (!idle || !connection.alive) {
      pool.discard(connection);
      return Promise.resolve();
    }
    return pool.release(connection).catch((err) => {
      this.logger.warn({ server: connection.address }, `backend reset failed: ${(err as Error).message}`);
      pool.discard(connection);
    });
  }

  /** Discards the idle connections to a server (it was found down); connections in use are left to their sessions. */
  dropIdle(server: string): void {
    for (const pool of this.pools.values()) if (pool.address === server) pool.dropIdle();
  }

  /**
   * After a reload: closes the pools of servers no longer configured, or configured with other credentials or TLS
   * (connections in use stay with their sessions and are closed when given back); the others are kept.
   */
  retainOnly(servers: readonly ServerConfig[]): string[] {
    const closed: string[] = [];
    for (const [key, pool] of this.pools) {
      if (servers.some((server) => sameServer(server, pool.server))) continue;
      pool.close();
      this.pools.delete(key);
      closed.push(pool.address);
    }
    return [...new Set(closed)];
  }

  stats(): ServerPoolStats[] {
    return [...this.pools.values()].map((pool) => ({ server: pool.address, shape: shapeKey(pool.shape), ...pool.stats() }));
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private poolFor(server: ServerConfig, shape: ConnectionShape): ConnectionPool {
    const key = `${serverAddress(server)}/${server.user}/${server.database}/${tlsKey(server.tls)}|${shapeKey(shape)}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const address = serverAddress(server);
      pool = new ConnectionPool(server, shape, this.options, () => this.routing.isDown(address));
      this.pools.set(key, pool);
    }
    return pool;
  }
}

function sameServer(a: ServerConfig, b: ServerConfig): boolean {
  return a.host === b.host && a.port === b.port && a.user === b.user && a.password === b.password && a.database === b.database && tlsKey(a.tls) === tlsKey(b.tls);
}
