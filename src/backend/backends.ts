/**
 * The backend side of the proxy in one place: server health, the health monitor, each library's current server
 * and the connection pools, wired so that a server going down discards its idle connections and fails its
 * libraries over, and a reload reaches all of them.
 */
import type { ConfigDiff } from '../config/diff.js';
import { serverKey } from '../config/diff.js';
import type { FailoverMode, LibraryConfig, MysqldaConfig, ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import type { ServerReplicationStatus } from '../observability/status.js';
import { BackendPools, type ServerRouting } from './backend-pools.js';
import type { DirectoryClient } from '../store/mysql/directory-client.js';
import type { FailoverStateStore } from './failover-state-store.js';
import type { PoolOptions } from './connection-pool.js';
import { CurrentServers, type FailbackResult, type LibraryMove, type StateStoreView } from './current-servers.js';
import { directoryConfigOf, openFailoverStateStore, stateFileSeed } from './open-state-store.js';
import { ReplicationFailover, type LibraryFailoverPhase } from './replication-failover.js';
import { HealthMonitor, probeServer, type Probe } from './health-monitor.js';
import { freshReplicas, ReplicaTurns, staleReason } from './replica-choice.js';
import { ServerHealthBook, type HealthChange, type ServerHealth, type HealthObservation, type HealthStatus } from './server-health.js';

export interface ServerView {
  address: string;
  state: HealthStatus;
  readOnly: boolean | null;
  /** The library's current server. */
  current: boolean;
  /** Consecutive failed checks. */
  failures: number;
  lastError: string | null;
  /** When the state last changed (ISO 8601). */
  since: string;
  /** When the library left this server by failover, while that keeps it from failing over there (ISO 8601). */
  leftByFailoverAt: string | null;
  /** Replication at the last good check; null when unreadable, undefined before a check. */
  replication?: ServerReplicationStatus | null;
}

export interface LibraryView {
  name: string;
  /** Its current server, or null while that one is down and no other is usable. */
  currentServer: string | null;
  /** When the library moved to its current server (ISO 8601). */
  currentSince: string | null;
  /** The failover state store's epoch this proxy's state of the library matches (bumped by every move). */
  epoch: number | null;
  servers: ServerView[];
  /** Its failover mode and phase (replication-failover.ts). */
  failover: { mode: FailoverMode } & LibraryFailoverPhase;
}

export function poolOptionsOf(config: MysqldaConfig): PoolOptions {
  return {
    maxConnections: config.pool.maxConnectionsPerServer,
    idleTimeoutMs: config.pool.idleTimeoutSeconds * 1000,
    connectTimeoutMs: config.pool.connectTimeoutMs,
    maxResetDelayMs: config.pool.maxResetDelayMs,
  };
}

export interface BackendsOptions {
  logger: Logger;
  events: ProxyEvents;
  /** Replaces the real health check (tests). */
  probe?: Probe;
  /** The process's connection to the shared directory server, when the key directory has one: the failover state uses it too. */
  directoryClient?: DirectoryClient | null;
  /**
   * A worker of a group (server.workers > 1) with save files: the failover state the primary holds, shared by every
   * worker of the machine and read every health interval for the moves the others made.
   */
  stateStore?: FailoverStateStore;
}

export class Backends implements ServerRouting {
  readonly pools: BackendPools;
  private readonly monitor: HealthMonitor;
  private readonly replicaTurns = new ReplicaTurns();

  /**
   * Loads the failover state (mysqlda.state.json, or the shared directory's table: StateFileError or DirectoryError
   * when it cannot be used) and starts the health monitor.
   */
  static async open(config: MysqldaConfig, options: BackendsOptions): Promise<Backends> {
    const health = new ServerHealthBook(config.health);
    health.track(allServers(config).map(serverKey));
    const given = options.stateStore ?? null;
    const seed = given ? new Map() : await stateFileSeed(config, options.logger);
    const store = given ?? (await openFailoverStateStore(config, options.logger, options.directoryClient ?? null));
    const failover = new ReplicationFailover(config.failover, health, options.logger);
    let current: CurrentServers;
    try {
      current = await CurrentServers.open({
        store,
        libraries: config.libraries,
        health,
        autoFailback: config.failover.autoFailback,
        events: options.events,
        logger: options.logger,
        // A shared store (the directory, or the group's primary over IPC) is read every health interval for the
        // moves others made.
        pollIntervalMs: directoryConfigOf(config).kind === 'files' && !given ? null : config.health.intervalMs,
        // A store that answers no faster than a health check may take counts as unreachable: no move waits longer.
        storeTimeoutMs: config.health.timeoutMs,
        seed,
        policy: failover,
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    return new Backends(config, health, current, failover, options);
  }

  private constructor(
    private config: MysqldaConfig,
    readonly health: ServerHealthBook,
    readonly current: CurrentServers,
    readonly failover: ReplicationFailover,
    private readonly options: BackendsOptions,
  ) {
    this.pools = new BackendPools(poolOptionsOf(config), options.logger, this, options.events);
    this.monitor = new HealthMonitor(health, config.health, options.probe ?? probeServer);
    this.monitor.setServers(allServers(config));
    health.onChange((change) => this.onHealthChange(change));
    current.onMove((move) => {
      const library = this.config.libraries.find((candidate) => candidate.name === move.library);
      if (library) failover.moved(library, move);
    });
    // follow_read_only and the replication-aware modes read more than up/down: re-decide after every round.
    this.monitor.onRound(() => current.reconcileAll());
    this.monitor.start();
  }

  /**
   * The operator's move of a library to one of its servers (by default its first). `force` moves it even where
   * the library's failover mode would refuse (a lagging replica), and serves from a server whose promotion failed.
   */
  async failback(libraryName: string, to: string | undefined, force: boolean): Promise<FailbackResult & { message?: string }> {
    const library = this.config.libraries.find((candidate) => candidate.name === libraryName);
    const current = this.current.current(libraryName);
    if (!library || current === null) return await this.current.failback(libraryName, to);
    const target = to ?? serverKey(library.servers[0]);
    const check = this.failover.checkOperatorMove(library, current, target, force);
    if (!check.ok) return { ok: false, error: `cannot move library '${libraryName}' to ${target}: ${check.error}` };
    if (check.retried) return { ok: true, move: null, message: check.retried };
    const result = await this.current.failback(libraryName, target);
    if (result.ok && result.move) this.failover.operatorMoved(library, result.move, force);
    return result;
  }

  serverFor(library: LibraryConfig): ServerConfig | null {
    return this.current.serverFor(library);
  }

  pendingMove(library: LibraryConfig): Promise<unknown> | null {
    return this.current.pendingMove(library.name);
  }

  connectFailed(server: string, observation: HealthObservation): void {
    this.health.record(server, observation);
  }

  isDown(server: string): boolean {
    return this.health.status(server) === 'down';
  }

  whyUnavailable(library: LibraryConfig): string {
    const states = library.servers.map(serverKey).map((address) => {
      const left = this.current.leftByFailover(library.name, address);
      if (left !== null) {
        return `${address} left by failover at ${new Date(left).toISOString()} (it may miss later writes; fail back with \`failback library ${library.name} to ${address}\` once it has them)`;
      }
      const health = this.health.get(address);
      return `${address} ${health.status}${health.lastError ? ` (${health.lastError})` : ''}`;
    });
    const current = this.current.current(library.name);
    const store = this.current.stateStore();
    if (current !== null && this.health.status(current) === 'down' && !store.reachable) {
      return `library ${library.name} stays on ${current}, which is down: the failover state store (${store.location}) is unreachable (${store.lastError ?? 'no answer'}), and no proxy moves a library on its own meanwhile (${states.join('; ')})`;
    }
    const held = this.failover.holdReason(library.name);
    if (held !== null) return `library ${library.name} does not serve: ${held} (${states.join('; ')})`;
    if (current === null || this.health.status(current) === 'down') return `no usable server for library ${library.name}: ${states.join('; ')}`;
    return `library ${library.name} stays on its current server ${current} until it is down (${states.join('; ')})`;
  }

  replicaFor(library: LibraryConfig, maxLagSeconds: number): { server: ServerConfig } | { none: string } {
    const servers = library.servers.map(serverKey);
    const { intervalMs, timeoutMs } = this.config.health;
    // Three health rounds without a reading: the lag it gave says nothing about now.
    const request = { servers, current: this.current.current(library.name), maxLagSeconds, now: Date.now(), maxReadingAgeMs: 3 * intervalMs + timeoutMs };
    const chosen = this.replicaTurns.next(library.name, freshReplicas(request, (server) => this.health.get(server)));
    const server = chosen === null ? undefined : library.servers.find((candidate) => serverKey(candidate) === chosen);
    if (server) return { server };
    const reasons = servers.filter((address) => address !== request.current).map((address) => `${address}: ${staleReason(this.health.get(address), request)}`);
    return { none: reasons.length > 0 ? `no replica within ${maxLagSeconds} s (${reasons.join('; ')})` : `library ${library.name} has no replica` };
  }

  onMove(listener: (move: LibraryMove) => void): void {
    this.current.onMove(listener);
  }

  /** Every library with its current server and the state of each of its servers, in config order. */
  libraries(): LibraryView[] {
    return this.config.libraries.map((library) => {
      const designated = this.current.current(library.name);
      const since = this.current.since(library.name);
      const held = this.failover.holdReason(library.name) !== null;
      return {
        name: library.name,
        currentServer: designated !== null && this.health.status(designated) !== 'down' && !held ? designated : null,
        currentSince: since === null ? null : new Date(since).toISOString(),
        epoch: this.current.epoch(library.name),
        servers: library.servers.map(serverKey).map((address) => {
          const health = this.health.get(address);
          return {
            address,
            state: health.status,
            readOnly: health.readOnly,
            current: address === designated,
            failures: health.failures,
            lastError: health.lastError,
            since: new Date(health.since).toISOString(),
            leftByFailoverAt: isoOrNull(this.current.leftByFailover(library.name, address)),
            ...replicationView(health),
          };
        }),
        failover: { mode: this.failover.modeOf(library), ...this.failover.phaseOf(library.name) },
      };
    });
  }

  /** Where the failover state is kept and whether it can be reached now. */
  stateStore(): StateStoreView {
    return this.current.stateStore();
  }

  /** Applies a reload that was accepted (the directory took the library list). Returns lines for the reload report. */
  apply(next: MysqldaConfig, diff: ConfigDiff): string[] {
    const notes: string[] = [];
    this.config = next;
    if (diff.health) {
      this.health.setThresholds(next.health);
      this.monitor.updateSettings(next.health);
      this.current.setStoreTiming(next.health.intervalMs, next.health.timeoutMs);
    }
    this.monitor.setServers(allServers(next));
    if (diff.pool) this.pools.updateOptions(poolOptionsOf(next));
    for (const server of this.pools.retainOnly(allServers(next))) notes.push(`idle connections to ${server} closed (server removed or its credentials changed)`);
    if (diff.failover) {
      this.failover.updateSettings(next.failover);
      this.current.setAutoFailback(next.failover.autoFailback);
    }
    this.failover.retain(next.libraries);
    this.current.setLibraries(next.libraries);
    return notes;
  }

  /** Runs one health round now (tests, and `failback` right after a server came back). */
  checkNow(): Promise<void> {
    return this.monitor.checkNow();
  }

  async close(): Promise<void> {
    await this.monitor.stop();
    this.pools.close();
    await this.current.close();
  }

  private onHealthChange(change: HealthChange): void {
    const { logger } = this.options;
    const fields = { server: change.server, from: change.from, to: change.to };
    if (change.to === 'down') {
      this.pools.dropIdle(change.server);
      logger.warn(fields, `server ${change.server} is down: ${change.health.lastError ?? 'no answer'}`);
    } else if (change.to === 'up') {
      const elsewhere = this.config.libraries
        .filter((library) => library.servers.some((server) => serverKey(server) === change.server))
        .filter((library) => this.current.current(library.name) !== change.server)
        .map((library) => library.name);
      const note = change.from === 'down' && elsewhere.length > 0 && !this.config.failover.autoFailback
        ? `; ${elsewhere.join(', ')} stay(s) on the current server until an operator fails back`
        : '';
      logger[change.from === 'down' ? 'notice' : 'info'](fields, `server ${change.server} is up${change.health.readOnly ? ' (read_only)' : ''}${note}`);
    }
    this.current.reconcileAll();
    this.options.events.emit('server-health', { server: change.server, from: change.from, to: change.to });
  }
}

function replicationView(health: ServerHealth): Pick<ServerView, 'replication'> {
  if (health.replication === undefined) return {};
  if (health.replication === null) return { replication: null };
  return { replication: { ...health.replication, lastKnownLagSeconds: health.lastKnownLagSeconds ?? null } };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function allServers(config: MysqldaConfig): ServerConfig[] {
  return config.libraries.flatMap((library) => library.servers);
}
