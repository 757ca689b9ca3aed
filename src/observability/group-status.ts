/**
 * The status of a group of workers (server.workers > 1) as one proxy: sessions summed, each library's sessions
 * summed, its keys from the directory's owner (a worker only counts the keys it has seen), the rest (servers,
 * health, current server) from the first worker that answered, except where one worker knows what the others do
 * not: a library's failover phase (a promotion is run, and may fail, in the worker that won its move), and a
 * failover state store or key directory that one worker cannot reach. Pure.
 */
import type { LibraryFailoverStatus, LibraryStatus, ProxyStatus } from './status.js';

/** Which worker's failover phase of a library the group shows: the one an operator must hear of first. */
const PHASE_WEIGHT: Record<LibraryFailoverStatus['phase'], number> = { serving: 0, promoting: 1, split_brain: 2, refused: 3, promotion_failed: 4 };

export interface GroupFacts {
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  admin: string | null;
  /** Keys per library from the directory's owner; null: take the largest count a worker reports. */
  keysPerLibrary: Record<string, number> | null;
}

export function mergeStatuses(statuses: readonly ProxyStatus[], facts: GroupFacts): ProxyStatus | null {
  const first = statuses[0];
  if (first === undefined) return null;
  const sum = (pick: (status: ProxyStatus) => number | undefined) => statuses.reduce((total, status) => total + (pick(status) ?? 0), 0);
  const libraries = first.libraries.map((library): LibraryStatus => {
    const same = statuses.map((status) => status.libraries.find((other) => other.name === library.name));
    const keys = facts.keysPerLibrary?.[library.name] ?? Math.max(...same.map((other) => other?.keys ?? 0));
    const sessions = same.reduce((total, other) => total + (other?.sessions ?? 0), 0);
    const held = same.reduce<LibraryStatus | undefined>((worst, other) => (weight(other) > weight(worst) ? other : worst), library);
    if (held === library || !held?.failover) return { ...library, keys, sessions };
    return { ...library, keys, sessions, failover: held.failover, currentServer: held.currentServer };
  });
  return {
    ...first,
    pid: facts.pid,
    startedAt: facts.startedAt,
    uptimeSeconds: facts.uptimeSeconds,
    admin: facts.admin,
    sessions: { open: sum((s) => s.sessions.open), routed: sum((s) => s.sessions.routed), closing: sum((s) => s.sessions.closing) },
    libraries,
    ...(first.failoverState ? { failoverState: statuses.find((status) => status.failoverState?.reachable === false)?.failoverState ?? first.failoverState } : {}),
    ...(first.directory
      ? {
          directory: {
            ...(statuses.find((status) => status.directory?.available === false)?.directory ?? first.directory),
            errors: sum((s) => s.directory?.errors),
          },
        }
      : {}),
  };
}

function weight(library: LibraryStatus | undefined): number {
  return library?.failover ? PHASE_WEIGHT[library.failover.phase] : 0;
}
