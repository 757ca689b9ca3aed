/**
 * The health of each backend server: up, down or unknown (not checked yet), with the thresholds that keep one
 * slow check from flapping a server. The transition function is pure; ServerHealthBook keeps one state per
 * server (host:port) and tells listeners about each change of status.
 */

export type HealthStatus = 'unknown' | 'up' | 'down';

/**
 * What a check read of a server's replication (health monitor). Null fields were not readable (no privilege, an
 * older server, no replication configured).
 */
export interface ReplicationState {
  /** Whether the server replicates from another one (has a configured source). */
  replicating: boolean;
  /** host:port of its source, when replicating. */
  source: string | null;
  ioRunning: boolean | null;
  sqlRunning: boolean | null;
  /** Seconds_Behind_Master; null when unknown (threads stopped, not replicating). */
  lagSeconds: number | null;
  /** The last IO or SQL error, when replication broke. */
  lastError: string | null;
  /**
   * Which thread `lastError` is of: an SQL thread error means the replica stopped applying (broken); IO thread errors
   * come with every source that went away, as after its master died.
   */
  lastErrorThread?: 'io' | 'sql' | null;
  /** Executed GTID position as the server reports it (MariaDB @@gtid_current_pos, MySQL @@gtid_executed). */
  gtidExecuted: string | null;
  /** MariaDB @@gtid_binlog_pos (what it wrote to its own binary log). */
  gtidBinlog: string | null;
}

export interface ServerHealth {
  status: HealthStatus;
  /** Consecutive failed observations (reset by a good one). */
  failures: number;
  /** Consecutive good observations while down (reset by a failed one). */
  successes: number;
  /** @@read_only at the last good check; null before one. */
  readOnly: boolean | null;
  /** Why the last failed observation failed; null after a good one. */
  lastError: string | null;
  /** When the status last changed (ms since the epoch). */
  since: number;
  /** When the last observation was made; null before any. */
  checkedAt: number | null;
  /**
   * Replication as read at the last good check; null when the server would not say (no privilege for the replica
   * status); undefined before one (or when the check does not read it).
   */
  replication?: ReplicationState | null;
  /**
   * The last lag read while the server replicated with its SQL thread running, or null. Seconds_Behind_Master turns
   * NULL while the IO thread reconnects, which is exactly when the master has just died: a failover decision reads
   * this instead. Null again once the server no longer replicates.
   */
  lastKnownLagSeconds?: number | null;
}

export interface HealthThresholds {
  /** Consecutive failed checks before an up (or unknown) server counts as down. */
  failThreshold: number;
  /** Consecutive good checks before a down server counts as up again. */
  riseThreshold: number;
}

export type HealthObservation =
  | { ok: true; readOnly: boolean | null; replication?: ReplicationState | null }
  /**
   * `conclusive`: nothing listens on the server's port (connection refused, reset during the handshake). A session
   * was waiting on it, so the server is down at once rather than after failThreshold checks.
   */
  | { ok: false; error: string; conclusive?: boolean };

export function initialHealth(now: number): ServerHealth {
  return { status: 'unknown', failures: 0, successes: 0, readOnly: null, lastError: null, since: now, checkedAt: null };
}

/** The state after one observation. */
export function nextHealth(health: ServerHealth, observation: HealthObservation, thresholds: HealthThresholds, now: number): ServerHealth {
  const moved = (status: HealthStatus) => (status === health.status ? health.since : now);
  if (observation.ok) {
    const readOnly = observation.readOnly ?? health.readOnly;
    const replication = replicationAfter(health, observation.replication);
    if (health.status === 'down') {
      const successes = health.successes + 1;
      const status = successes >= thresholds.riseThreshold ? 'up' : 'down';
      return { status, failures: 0, successes: status === 'up' ? 0 : successes, readOnly, lastError: null, since: moved(status), checkedAt: now, ...replication };
    }
    return { status: 'up', failures: 0, successes: 0, readOnly, lastError: null, since: moved('up'), checkedAt: now, ...replication };
  }
  const failures = health.failures + 1;
  const status = health.status === 'down' || observation.conclusive || failures >= thresholds.failThreshold ? 'down' : health.status;
  return { ...health, status, failures, successes: 0, lastError: observation.error, since: moved(status), checkedAt: now };
}

/** The replication fields after a good check that read `replication` (undefined: the check did not read it). */
function replicationAfter(health: ServerHealth, replication: ReplicationState | null | undefined): Pick<ServerHealth, 'replication' | 'lastKnownLagSeconds'> {
  if (replication === undefined) return health.replication === undefined ? {} : { replication: health.replication, lastKnownLagSeconds: health.lastKnownLagSeconds ?? null };
  const previous = health.lastKnownLagSeconds ?? null;
  if (replication === null) return { replication, lastKnownLagSeconds: previous };
  if (!replication.replicating) return { replication, lastKnownLagSeconds: null };
  return { replication, lastKnownLagSeconds: replication.lagSeconds ?? previous };
}

export interface HealthChange {
  server: string;
  from: HealthStatus;
  to: HealthStatus;
  health: ServerHealth;
}

export class ServerHealthBook {
  private readonly servers = new Map<string, ServerHealth>();
  private readonly listeners: ((change: HealthChange) => void)[] = [];

  constructor(
    private thresholds: HealthThresholds,
    private readonly clock: () => number = Date.now,
  ) {}

  setThresholds(thresholds: HealthThresholds): void {
    this.thresholds = thresholds;
  }

  /** Starts tracking new servers (as unknown) and forgets the ones not listed. */
  track(servers: Iterable<string>): void {
    const wanted = new Set(servers);
    for (const server of this.servers.keys()) if (!wanted.has(server)) this.servers.delete(server);
    for (const server of wanted) if (!this.servers.has(server)) this.servers.set(server, initialHealth(this.clock()));
  }

  get(server: string): ServerHealth {
    return this.servers.get(server) ?? initialHealth(this.clock());
  }

  status(server: string): HealthStatus {
    return this.servers.get(server)?.status ?? 'unknown';
  }

  /** Records an observation of a tracked server; untracked servers (removed by a reload meanwhile) are ignored. */
  record(server: string, observation: HealthObservation): HealthChange | null {
    const before = this.servers.get(server);
    if (!before) return null;
    const after = nextHealth(before, observation, this.thresholds, this.clock());
    this.servers.set(server, after);
    if (after.status === before.status) return null;
    const change = { server, from: before.status, to: after.status, health: after };
    for (const listener of this.listeners) listener(change);
    return change;
  }

  onChange(listener: (change: HealthChange) => void): void {
    this.listeners.push(listener);
  }

  entries(): [string, ServerHealth][] {
    return [...this.servers.entries()];
  }
}
