/**
 * The failover policy, as pure decisions over a library's ordered server list (host:port, master first).
 *
 * Sticky primary: each library has one current server, where every new backend connection goes. When it is down
 * the library moves to the next server of the list that is up (wrapping around), and it stays there when the
 * earlier server comes back, because that server may have missed writes made meanwhile. Going back is an
 * operator's decision (failback), or automatic only with `failover.auto_failback`.
 *
 * A server the library left by failover is no failover candidate either, until an operator fails back to it:
 * after A → B, B dying must not send the library back to A, which missed B's writes (the caller passes these
 * servers as `excluded`; with auto_failback it passes none, see CurrentServers).
 *
 * mysqlda instead tried the list from the top for every new connection, so it went back to a stale master as soon
 * as that accepted TCP, and split a library's writes between two servers while the master flapped.
 */
import { isReordered } from '../config/diff.js';
import { compareGtid, tryParseGtidPosition, type GtidPosition } from './gtid.js';
import type { HealthStatus, ReplicationState } from './server-health.js';

export type StatusOf = (server: string) => HealthStatus;
export type ServerTest = (server: string) => boolean;
const NONE: ServerTest = () => false;

export interface FailoverDecision {
  to: string;
  /**
   * `down`: the current server is down; `failback`: auto_failback to an earlier server that is up; `read_only`:
   * follow_read_only found the library's one writable server elsewhere.
   */
  reason: 'down' | 'failback' | 'read_only';
}

/** Where the library's current server should move now, or null to stay. `excluded`: servers left by failover. */
export function decideCurrent(
  servers: readonly string[],
  current: string,
  statusOf: StatusOf,
  autoFailback: boolean,
  excluded: ServerTest = NONE,
): FailoverDecision | null {
  const index = servers.indexOf(current);
  if (index === -1) return servers.length > 0 ? { to: servers[0], reason: 'down' } : null;
  if (autoFailback) {
    const earliestUp = servers.findIndex((server) => statusOf(server) === 'up');
    if (earliestUp !== -1 && earliestUp < index) return { to: servers[earliestUp], reason: 'failback' };
  }
  if (statusOf(current) !== 'down') return null;
  const candidate = (status: HealthStatus) => (server: string) => statusOf(server) === status && !excluded(server);
  const next = nextAfter(servers, index, candidate('up')) ?? nextAfter(servers, index, candidate('unknown'));
  return next === undefined ? null : { to: next, reason: 'down' };
}

/** The first server after `index` (wrapping around, excluding it) that passes `test`. */
function nextAfter(servers: readonly string[], index: number, test: (server: string) => boolean): string | undefined {
  for (let step = 1; step < servers.length; step++) {
    const server = servers[(index + step) % servers.length];
    if (test(server)) return server;
  }
  return undefined;
}

export type AdoptReason = 'initial' | 'kept' | 'removed' | 'reordered';

/**
 * The current server after the list changed (a reload, or a start after the config was edited), given the list the
 * current server was chosen from. Servers added or removed elsewhere in the list keep it; re-ranking the servers
 * (the operator's way to fail back through the config) or removing the current server starts again at the top.
 */
export function adoptServerList(
  previous: readonly string[] | null,
  next: readonly string[],
  current: string | null,
): { current: string; reason: AdoptReason } {
  if (previous === null || current === null) return { current: next[0], reason: 'initial' };
  if (!next.includes(current)) return { current: next[0], reason: 'removed' };
  if (isReordered(previous, next)) return { current: next[0], reason: 'reordered' };
  return { current, reason: 'kept' };
}

/** Why an operator's failback to `to` cannot be done, or null when it can. */
export function failbackProblem(servers: readonly string[], to: string, statusOf: StatusOf): string | null {
  if (!servers.includes(to)) return `${to} is not one of its servers (${servers.join(', ')})`;
  if (statusOf(to) === 'down') return `${to} is down`;
  return null;
}

// Replication-aware modes (failover.mode; docs/replication-failover.md). The ordered mode is decideCurrent above.

/** What the replication-aware modes know of a server, from its last health check. */
export interface ServerFacts {
  status: HealthStatus;
  readOnly: boolean | null;
  /** undefined: not read yet; null: the server would not say. */
  replication: ReplicationState | null | undefined;
  lastKnownLagSeconds: number | null;
}

export type FactsOf = (server: string) => ServerFacts;

export type ReplicaChoice =
  | { to: string }
  /** No candidate may take the library without an operator's `force`: why. */
  | { refused: string };

/**
 * most_advanced (and promote, which then promotes the choice), when the current server is down: of the servers that
 * are up and not excluded, the one whose executed GTID position contains every other's (ties: list order). Null
 * when no other server is up (nothing to choose from). The choice is refused when it does not apply what it
 * receives (SQL thread stopped or broken) or lagged more than `maxLagSeconds` at its last reading.
 */
export function chooseMostAdvanced(
  servers: readonly string[],
  current: string,
  factsOf: FactsOf,
  maxLagSeconds: number,
  excluded: ServerTest = NONE,
): ReplicaChoice | null {
  const up = servers.filter((server) => server !== current && !excluded(server) && factsOf(server).status === 'up');
  if (up.length === 0) return null;
  const positioned: { server: string; position: GtidPosition }[] = [];
  const unknown: string[] = [];
  for (const server of up) {
    const position = tryParseGtidPosition(factsOf(server).replication?.gtidExecuted);
    if (position === null) unknown.push(server);
    else positioned.push({ server, position });
  }
  const unknownNote = unknown.length === 0 ? '' : ` (${unknown.join(', ')}: GTID position unknown, no candidate)`;
  if (positioned.length === 0) return { refused: `no candidate's GTID position is known${unknownNote}` };
  const best = positioned.find((candidate) =>
    positioned.every((other) => other === candidate || ['equal', 'ahead'].includes(compareGtid(candidate.position, other.position))),
  );
  if (!best) {
    const positions = positioned.map(({ server }) => `${server} at ${factsOf(server).replication?.gtidExecuted}`).join(', ');
    return { refused: `the candidates' GTID positions diverge, none holds every transaction of the others (${positions})${unknownNote}` };
  }
  const problem = candidateProblem(best.server, factsOf(best.server), maxLagSeconds);
  return problem === null ? { to: best.server } : { refused: problem };
}

/**
 * Why `server` may not take its library without an operator's `force` under most_advanced and promote, or null.
 * Only a replica is checked: a server that does not replicate has nothing to lag behind.
 */
export function candidateProblem(server: string, facts: ServerFacts, maxLagSeconds: number): string | null {
  const replication = facts.replication;
  if (!replication?.replicating) return null;
  const at = replication.gtidExecuted ? ` at ${replication.gtidExecuted}` : '';
  if (replication.sqlRunning === false) {
    const why = replication.lastErrorThread === 'sql' ? `its replication broke: ${replication.lastError}` : 'its SQL thread is stopped (it does not apply what it receives)';
    return `the most advanced candidate ${server}${at} cannot take it: ${why}`;
  }
  const lag = facts.lastKnownLagSeconds;
  if (lag !== null && lag > maxLagSeconds) {
    return `the most advanced candidate ${server}${at} lagged ${lag} s behind its master at its last reading (failover.max_lag_s ${maxLagSeconds})`;
  }
  return null;
}

export type ReadOnlyDecision =
  | FailoverDecision
  /** Several servers are writable: the library does not move (split-brain guard). */
  | { splitBrain: string[] };

/**
 * follow_read_only: the current server is the library's one server that is up and reports read_only = OFF (an
 * external manager promoted it). None writable: stay. Several: stay, and say so (two masters would split the
 * library's writes).
 */
export function followReadOnly(servers: readonly string[], current: string, factsOf: FactsOf): ReadOnlyDecision | null {
  const writable = servers.filter((server) => {
    const facts = factsOf(server);
    return facts.status === 'up' && facts.readOnly === false;
  });
  if (writable.length > 1) return { splitBrain: writable };
  if (writable.length === 1 && writable[0] !== current) return { to: writable[0], reason: 'read_only' };
  return null;
}
