/**
 * Where each library's current server is kept so that everyone serving agrees on it: mysqlda.state.json for one
 * process, the directory's mysqlda_library_state table for many proxies, the supervisor (over IPC) for the workers
 * of one machine. A move is a compare-and-set on the library's epoch: of several proxies that see the same master
 * die, exactly one moves the library, and the others adopt what it decided.
 */

/** One library's shared failover state. */
export interface StoredLibraryState {
  /** The current server (host:port). */
  current: string;
  /** The server list (host:port, in config order) `current` was chosen from. */
  servers: string[];
  /** When the library moved to `current` (ISO 8601). */
  since: string;
  /** Servers left by failover → when (ISO 8601): no failover candidates until an operator fails back. */
  leftByFailover: Map<string, string>;
  /** Bumped by every change; the compare-and-set token. 0 for a library never stored. */
  epoch: number;
}

export type CasResult =
  /** The change is stored with `state.epoch` = the expected epoch + 1. */
  | { won: true; state: StoredLibraryState }
  /** Another writer changed the library first: `state` is what is stored now (null: the library has no row). */
  | { won: false; state: StoredLibraryState | null };

export interface FailoverStateStore {
  /** Every library's stored state (the start, and each poll for changes made by others). Rejects when unreachable. */
  load(): Promise<Map<string, StoredLibraryState>>;
  /**
   * Stores `next` for `library` when its stored epoch is still `expectedEpoch` (0: no row yet). `next.epoch` is
   * ignored: the stored one becomes expectedEpoch + 1. Rejects when the store cannot be reached (then nothing moved).
   */
  compareAndSet(library: string, expectedEpoch: number, next: StoredLibraryState): Promise<CasResult>;
  /**
   * compareAndSet answered in the same turn, by a store that only this process writes (mysqlda.state.json): a move
   * then takes effect at once, as the session that found the server dead asks again, rather than a moment later.
   */
  compareAndSetNow?(library: string, expectedEpoch: number, next: StoredLibraryState): CasResult;
  /**
   * Drops the libraries not listed (a reload removed them). Only a store with one writer does: in a shared store
   * another proxy may still serve them.
   */
  forget?(libraries: readonly string[]): void;
  /** False while the store cannot be reached: then no proxy may move a library on its own. */
  available(): boolean;
  /** Where the state is kept, for status: the state file, or the directory server in use (host:port). */
  describe(): { kind: 'files' | 'mysql' | 'worker'; location: string; lastError: string | null };
  /** Resolves once every change made so far is durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
