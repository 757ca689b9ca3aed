import type { LibraryConfig, ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { BackendError, serverAddress, shapeKey, type BackendConnection, type ConnectionShape } from './backend-connection.js';
import { ConnectionPool, type PoolOptions, type PoolStats } from './connection-pool.js';

/** After a server refuses a connection, new connections skip it this long (unless every server is down). */
const RETRY_DOWN_SERVER_AFTER_MS = 1_000;

export interface ServerPoolStats extends PoolStats {
  server: string;
  shape: string;
}

/**
 * Every pool of every server, and the failover walk: a library's servers are tried in config order and the
 * first that accepts within the connect timeout serves the session.
 */
export class BackendPools {
  private readonly pools = new Map<string, ConnectionPool>();
  private readonly downUntil = new Map<string, number>();
  private readonly owners = new WeakMap<BackendConnection, ConnectionPool>();

  constructor(
    private options: PoolOptions,
    private readonly logger: Logger,
  ) {}

  updateOptions(options: PoolOptions): void {
    this.options = options;
    for (const pool of this.pools.values()) pool.updateOptions(options);
  }

  /** A backend connection for the library, from the first server (in failover order) that can give one. */
  async acquireForLibrary(library: LibraryConfig, shape: ConnectionShape): Promise<BackendConnection> {
    const now = Date.now();
    const candidates = library.servers.filter((server) => (this.downUntil.get(serverAddress(server)) ?? 0) <= now);
    const order = candidates.length > 0 ? candidates : library.servers;
    const failures: string[] = [];
    for (const server of order) {
      try {
        const connection = await this.acquire(server, shape);
        this.downUntil.delete(serverAddress(server));
        return connection;
      } catch (err) {
        const message = (err as Error).message;
        failures.push(message);
        this.downUntil.set(serverAddress(server), Date.now() + RETRY_DOWN_SERVER_AFTER_MS);
        this.poolsOf(server).forEach((pool) => pool.dropIdle());
        this.logger.warn({ library: library.name, server: serverAddress(server) }, `backend unavailable: ${message}`);
      }
    }
    throw new BackendError(failures.join('; '), library.name);
  }

  async acquire(server: ServerConfig, shape: ConnectionShape): Promise<BackendConnection> {
    const pool = this.poolFor(server, shape);
    const connection = await pool.acquire();
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

  stats(): ServerPoolStats[] {
    return [...this.pools.values()].map((pool) => ({ server: pool.address, shape: shapeKey(pool.shape), ...pool.stats() }));
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private poolFor(server: ServerConfig, shape: ConnectionShape): ConnectionPool {
    const key = `${serverAddress(server)}/${server.user}/${server.database}|${shapeKey(shape)}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new ConnectionPool(server, shape, this.options);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private poolsOf(server: ServerConfig): ConnectionPool[] {
    const address = serverAddress(server);
    return [...this.pools.values()].filter((pool) => pool.address === address);
  }
}
