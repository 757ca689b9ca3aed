import type { ServerConfig } from '../config/types.js';
import { ServerStatus } from '../protocol/constants.js';
import { BackendConnection, BackendError, serverAddress, type ConnectionShape } from './backend-connection.js';

/**
 * How long after the server last answered mysqlda on a connection it is reused without a check round trip. Short,
 * so that a server frozen before then is caught; long enough that connections reused at once (churn: each is
 * reused within about a millisecond) keep their reset riding with the next command, saving a round trip.
 */
export const CHECK_AFTER_MS = 50;

export interface PoolOptions {
  maxConnections: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * How long a released connection may keep its last user's session before it is reset. Within this time the
   * reset goes out with the next user's first command; 0 resets at release.
   */
  maxResetDelayMs: number;
}

interface Waiter {
  resolve: (connection: BackendConnection) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface PoolStats {
  idle: number;
  active: number;
  waiting: number;
}

/**
 * Authenticated connections to one server with one connection shape. A connect failure is handed straight
 * to the caller, so failover moves to the next server at once (generic-pool re-dispatches a failing create
 * in a loop while acquirers wait, hammering a dead server until the acquire times out).
 * Idle connections are kept newest-first, watched for close, and closed after idleTimeoutMs.
 */
export class ConnectionPool {
  private readonly idle: BackendConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private total = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;
  /** Connections that owe their reset (idle or handed out again), and the timer that sees it done in time. */
  private readonly owing = new Set<BackendConnection>();
  private resetTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly server: ServerConfig,
    readonly shape: ConnectionShape,
    private options: PoolOptions,
    /** Whether the server is marked down now: connections released then are closed, not kept (see dropIdle). */
    private readonly serverDown: () => boolean = () => false,
  ) {
    const interval = Math.max(250, Math.min(5_000, options.idleTimeoutMs / 2));
    this.sweeper = setInterval(() => this.evictIdle(), interval);
    this.sweeper.unref();
  }

  get address(): string {
    return serverAddress(this.server);
  }

  updateOptions(options: PoolOptions): void {
    this.options = options;
  }

  stats(): PoolStats {
    return { idle: this.idle.length, active: this.total - this.idle.length, waiting: this.waiters.length };
  }

  /**
   * An idle connection (newest first), or a new one. An idle connection the server has not answered on for
   * CHECK_AFTER_MS first makes one round trip within connectTimeoutMs (see BackendConnection.roundTrip): a frozen
   * server (SIGSTOP, a hung host) otherwise hangs the next user's first statement with no bound. Without an answer
   * in time the connection is destroyed, the other idle ones too (same server), and the caller gets a timeout error.
   */
  async acquire(): Promise<BackendConnection> {
    if (this.closed) throw new BackendError('pool is closed', this.address);
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!;
      if (!connection.alive) {
        this.total--;
        continue;
      }
      if (Date.now() - connection.lastAnswerAt < CHECK_AFTER_MS) return connection;
      const outcome = await connection.roundTrip(this.options.connectTimeoutMs);
      if (outcome === 'answered' && !this.closed && connection.alive) return connection;
      this.discard(connection);
      if (this.closed) throw new BackendError('pool is closed', this.address);
      if (outcome === 'silent') {
        this.dropIdle();
        throw new BackendError(`a pooled connection to ${this.address} timed out after ${this.options.connectTimeoutMs} ms`, this.address);
      }
    }
    if (this.total < this.options.maxConnections) {
      this.total++;
      try {
        const connection = await BackendConnection.connect(this.server, this.shape, this.options.connectTimeoutMs);
        connection.onClose(() => this.forgetIdle(connection));
        return connection;
      } catch (err) {
        this.total--;
        this.wakeWaiter();
        throw err;
      }
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new BackendError(`all ${this.options.maxConnections} connections to ${this.address} are busy`, this.address));
        }, this.options.connectTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Takes a connection back after use. It must be idle (no response in flight). Its reset is deferred to its
   * next use (see BackendConnection.deferReset), or to maxResetDelayMs from now when it is not used by then;
   * a connection left inside a transaction is reset at once, so that its locks go with its user, and so is one
   * whose reset has not yet been seen to work (its first release). A connection
   * whose reset fails is destroyed (a deferred one when its answer is read, ending its new user's session).
   */
  async release(connection: BackendConnection): Promise<void> {
    if (this.closed || !connection.alive || this.serverDown()) return this.discard(connection);
    if (this.options.maxResetDelayMs > 0 && connection.resetWorks && !(connection.statusFlags & ServerStatus.IN_TRANS)) {
      connection.deferReset();
      this.owing.add(connection);
      this.resetTimer ??= setTimeout(this.resetOverdue, this.options.maxResetDelayMs).unref();
      this.handBack(connection);
      return;
    }
    const reset = await connection.reset(this.options.connectTimeoutMs);
    if (!reset || !connection.alive) return this.discard(connection);
    this.handBack(connection);
  }

  /** A clean (or reset-owing) connection: to the oldest waiter, else to the idle list (not while the server is down). */
  private handBack(connection: BackendConnection): void {
    if (this.serverDown() || this.closed) return this.discard(connection);
    connection.lastUsedAt = Date.now();
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(connection);
      return;
    }
    this.idle.push(connection);
  }

  /**
   * Sees owed resets done within maxResetDelayMs of the release: a connection still owing one, idle or handed out
   * to a user who has sent nothing yet, gets its reset sent alone. It stays where it is (an idle one can be taken
   * meanwhile); the reset's answer is dropped when the connection is next read.
   */
  private readonly resetOverdue = (): void => {
    this.resetTimer = null;
    const now = Date.now();
    let nextDue = Infinity;
    for (const connection of this.owing) {
      const due = connection.owedResetSince + this.options.maxResetDelayMs;
      if (!connection.owesReset || !connection.alive) {
        this.owing.delete(connection);
      } else if (due > now) {
        nextDue = Math.min(nextDue, due);
      } else {
        this.owing.delete(connection);
        connection.sendOwedReset();
      }
    }
    if (nextDue !== Infinity && !this.closed) this.resetTimer = setTimeout(this.resetOverdue, nextDue - now).unref();
  };

  /** Drops a connection that cannot be reused (dead, or left mid-response). */
  discard(connection: BackendConnection): void {
    const index = this.idle.indexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    connection.destroy();
    this.total--;
    this.wakeWaiter();
  }

  /** Closes every idle connection and refuses new acquires; connections in use are closed when released. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.resetTimer) clearTimeout(this.resetTimer);
    this.owing.clear();
    for (const connection of this.idle.splice(0)) {
      connection.close();
      this.total--;
    }
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new BackendError('pool is closed', this.address));
    }
  }

  /**
   * Closes every idle connection (the server was marked down: it may be frozen, and a connection kept would hang
   * its next user or outlive a failover); keeps the pool usable.
   */
  dropIdle(): void {
    for (const connection of this.idle.splice(0)) {
      connection.destroy();
      this.total--;
    }
  }

  private forgetIdle(connection: BackendConnection): void {
    const index = this.idle.indexOf(connection);
    if (index === -1) return;
    this.idle.splice(index, 1);
    this.total--;
  }

  /** A slot freed up: let the oldest waiter open a new connection. */
  private wakeWaiter(): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.acquire().then(waiter.resolve, waiter.reject);
  }

  private evictIdle(): void {
    const deadline = Date.now() - this.options.idleTimeoutMs;
    // idle is newest-last: the oldest are at the front.
    while (this.idle.length > 0 && this.idle[0].lastUsedAt <= deadline) {
      this.idle.shift()!.close();
      this.total--;
    }
  }
}
