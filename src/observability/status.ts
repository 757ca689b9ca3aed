/**
 * What the running proxy reports about itself: `mysqlda status`, the admin `/status` endpoint and
 * `mysqlda reload`'s answer. Plain JSON-able data.
 */

import type { ReplicationState } from '../backend/server-health.js';

/** What `mysqlda reload` reports back. */
export interface ReloadResult {
  ok: boolean;
  /** One line: what was applied, or why nothing was. */
  message: string;
  /** Each change applied, e.g. "library mysqlda3 added", "server 10.0.0.2:3306 removed from mysqlda1". */
  changes: string[];
}

export type ServerState = 'up' | 'down' | 'unknown';

export interface ServerStatusEntry {
  address: string;
  state: ServerState;
  /** @@read_only at the last good check; null before one. */
  readOnly?: boolean | null;
  /** Whether this is the library's current server. */
  current?: boolean;
  /** Why the last check failed; null after a good one. */
  lastError?: string | null;
  /**
   * When the library left this server by failover (ISO 8601): it is no failover candidate of the library until an
   * operator fails back to it. Null when it was not left, or while failover.auto_failback is on.
   */
  leftByFailoverAt?: string | null;
  /**
   * Replication as read at the last good check (GTID positions as the server prints them); null when the server
   * would not say (no privilege for the replica status), absent before a check.
   */
  replication?: ServerReplicationStatus | null;
}

export interface ServerReplicationStatus extends ReplicationState {
  /** The last lag read while the server replicated with its threads running (see ServerHealth.lastKnownLagSeconds). */
  lastKnownLagSeconds: number | null;
}

export interface LibraryStatus {
  name: string;
  weight: number;
  keys: number;
  /** The server new backend connections go to, or null when none is up. */
  currentServer: string | null;
  /** When the library moved to its current server (ISO 8601). */
  currentSince?: string | null;
  /** Sessions routed to the library now. */
  sessions?: number;
  /** The failover state store's epoch of the library as this proxy holds it (bumped by every move). */
  epoch?: number | null;
  servers: ServerStatusEntry[];
  /** Its failover mode and where it stands (docs/replication-failover.md). */
  failover?: LibraryFailoverStatus;
}

export interface LibraryFailoverStatus {
  mode: 'ordered' | 'most_advanced' | 'promote' | 'follow_read_only';
  phase: 'serving' | 'refused' | 'promoting' | 'promotion_failed' | 'split_brain';
  /** Why it does not serve (refused, promotion_failed), the server being promoted, or the writable servers (split_brain). */
  detail?: string;
}

/** Where each library's current server is kept (mysqlda.state.json, or the shared directory), and whether it answers. */
export interface FailoverStateStatus {
  kind: 'files' | 'mysql' | 'worker';
  /** The state file, or the directory server in use (host:port). */
  location: string;
  /** False while it cannot be reached: then no library fails over (each keeps its current server). */
  reachable: boolean;
  lastError: string | null;
  /** When `reachable` last changed (ISO 8601). */
  since: string;
}

/** What `mysqlda status` and the admin `/status` show. */
export interface ProxyStatus {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  listen: string;
  /** The admin HTTP listener (host:port), or null when it is off. */
  admin?: string | null;
  /**
   * Client sessions: `open` (logging in, in the lobby or routed), `routed` (of those, on a library) and `closing`
   * (ended, their client socket not yet closed: a lasting count means clients that never close their side).
   */
  sessions: { open: number; routed: number; closing?: number };
  libraries: LibraryStatus[];
  failoverState?: FailoverStateStatus;
  /** Where the key directory lives and whether new keys can be saved now. */
  directory?: DirectoryStatus;
}

/** The key directory's state (KeyDirectory.state()), `since` as ISO 8601. */
export interface DirectoryStatus {
  kind: 'files' | 'mysql' | 'worker';
  available: boolean;
  location: string;
  lastError: string | null;
  since: string;
  /** Directory operations that failed since start. */
  errors: number;
}
