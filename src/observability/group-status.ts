/**
 * The status of a group of workers (server.workers > 1) as one proxy: sessions summed, each library's sessions
 * summed, its keys from the directory's owner (a worker only counts the keys it has seen), the rest (servers,
 * health, current server) from the first worker that answered. Pure.
 */
import type { LibraryStatus, ProxyStatus } from './status.js';

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
    return { ...library, keys, sessions: same.reduce((total, other) => total + (other?.sessions ?? 0), 0) };
  });
  return {
    ...first,
    pid: facts.pid,
    startedAt: facts.startedAt,
    uptimeSeconds: facts.uptimeSeconds,
    admin: facts.admin,
    sessions: { open: sum((s) => s.sessions.open), routed: sum((s) => s.sessions.routed), closing: sum((s) => s.sessions.closing) },
    libraries,
  };
}
