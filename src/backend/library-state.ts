/**
 * A library's failover state as one proxy holds it, and the pure steps between that and what the failover state
 * store keeps: the state a proposed move would store, and what of a stored state this proxy can adopt.
 */
import type { LibraryConfig } from '../config/types.js';
import type { StoredLibraryState } from './failover-state-store.js';

/**
 * Why a library's current server changed. `read_only`: follow_read_only found its one writable server elsewhere.
 * `adopted`: another proxy (or an operator through it) moved it.
 */
export type MoveReason = 'down' | 'failback' | 'operator' | 'reload' | 'read_only' | 'adopted';

export interface LibraryMove {
  library: string;
  from: string;
  to: string;
  reason: MoveReason;
  /** The stored epoch after the move. */
  epoch: number;
  /**
   * True when this proxy won the compare-and-set that stored the move; false when it adopted a move another proxy
   * stored (a lost compare-and-set, or a poll). What follows a move (a promotion) is run by its winner only.
   */
  won: boolean;
}

export interface LibraryEntry {
  config: LibraryConfig;
  /** The server list (host:port) of this proxy's config. */
  servers: string[];
  current: string;
  since: number;
  /** Servers the library left by failover (→ when, ms): no failover candidates until a move back to them. */
  left: Map<string, number>;
  /** The stored state's epoch this entry matches (0: nothing stored yet). */
  epoch: number;
  /** The compare-and-set in flight for this library, or null. */
  pending: Promise<unknown> | null;
}

/**
 * What moving the library to `to` stores. A server left because it was down may miss the writes made from now on,
 * so it is marked as left by failover; the server moved to is unmarked (an operator's failback, a reload that
 * re-ranks the list, or auto_failback chose it).
 */
export function proposedState(entry: LibraryEntry, to: string, reason: MoveReason, now: number): StoredLibraryState {
  const left = new Map(entry.left);
  if (reason === 'down') left.set(entry.current, now);
  left.delete(to);
  return { current: to, servers: [...entry.servers], since: new Date(now).toISOString(), leftByFailover: isoMarks(left), epoch: entry.epoch + 1 };
}

/** The entry's state as the store keeps it (a library written for the first time). */
export function storedOf(entry: LibraryEntry): StoredLibraryState {
  return { current: entry.current, servers: [...entry.servers], since: new Date(entry.since).toISOString(), leftByFailover: isoMarks(entry.left), epoch: entry.epoch };
}

/** Whether this proxy can route to the stored current server (another proxy may have another list). */
export function adoptable(entry: Pick<LibraryEntry, 'servers'>, stored: StoredLibraryState): boolean {
  return entry.servers.includes(stored.current);
}

/** The stored marks that bind here: servers of this list other than the current one. */
export function marksFrom(stored: Pick<StoredLibraryState, 'leftByFailover' | 'current'>, servers: readonly string[], now: number): Map<string, number> {
  const left = new Map<string, number>();
  for (const [server, when] of stored.leftByFailover) {
    if (servers.includes(server) && server !== stored.current) left.set(server, Date.parse(when) || now);
  }
  return left;
}

function isoMarks(left: ReadonlyMap<string, number>): Map<string, string> {
  return new Map([...left].map(([server, when]) => [server, new Date(when).toISOString()]));
}
