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
import type { HealthStatus } from './server-health.js';

export type StatusOf = (server: string) => HealthStatus;
export type ServerTest = (server: string) => boolean;
const NONE: ServerTest = () => false;

export interface FailoverDecision {
  to: string;
  /** `down`: the current server is down; `failback`: auto_failback to an earlier server that is up. */
  reason: 'down' | 'failback';
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
