/**
 * What a client session needs of the key directory, whatever keeps it: mysqlda's save files on this machine
 * (DurableDirectory, the default), InnoDB tables shared by many proxies (MysqlDirectory), or the process that owns
 * the save files for the other workers of one machine (a worker's directory over IPC).
 *
 * The rules every kind keeps: a key's library never changes once acknowledged (until a key move, which is not built
 * yet, bumps its epoch); nothing is acknowledged before it is durable; concurrent first sights of one key share one
 * answer; lookups from memory (`lookup*`) never block and never report a binding that is not yet durable.
 */

export type DirectoryErrorCode =
  /** A key, object or class that breaks the rules of routing/identifiers.ts. */
  | 'INVALID_ARGUMENT'
  /** set correl_object with a key that has no library yet. */
  | 'UNKNOWN_KEY'
  /** set correl_object for an object already bound to another key. */
  | 'CORREL_CONFLICT'
  /** The save file could not be written or synced; nothing was changed. */
  | 'PERSIST_FAILED'
  /** The shared directory (or the process owning the save files) cannot be reached; nothing was changed. */
  | 'UNAVAILABLE'
  /** A reload would remove a library that still owns keys. */
  | 'LIBRARY_IN_USE'
  /** Bad library list or save directory. */
  | 'INVALID_CONFIG'
  | 'CLOSED';

export class DirectoryError extends Error {
  constructor(
    readonly code: DirectoryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DirectoryError';
  }
}

export interface LibraryWeight {
  name: string;
  weight: number;
}

export interface DirectoryStats {
  /** Keys known (for a shared directory: in the whole directory, as last read). */
  keys: number;
  perLibrary: Record<string, number>;
  correlObjects: number;
}

/** Where the directory lives and whether it can be used now: for /healthz, /metrics, `-a status`, `show status`. */
export interface DirectoryState {
  kind: 'files' | 'mysql' | 'worker';
  /** False while new keys and aliases cannot be saved (known keys still route). */
  available: boolean;
  /** The save directory, or the directory server in use (host:port), or the owning process. */
  location: string;
  /** Why it is unavailable, or the last error seen; null when none. */
  lastError: string | null;
  /** When `available` last changed (ms since the epoch). */
  since: number;
  /** Directory operations that failed since start (shared kinds): for mysqlda_directory_errors_total. */
  errors?: number;
}

export interface KeyDirectory {
  /**
   * The library of the key. A new key is assigned by the weighted deficit rule and made durable before this
   * resolves; isNew is true only for the call that assigned it. Rejects with a DirectoryError (UNAVAILABLE,
   * PERSIST_FAILED, INVALID_ARGUMENT, CLOSED) and then nothing was assigned.
   */
  resolveKey(key: string): Promise<{ library: string; isNew: boolean }>;
  /** The library of a key known to this process with a durable assignment; undefined otherwise. Never blocks. */
  lookupKey(key: string): string | undefined;
  /**
   * The key a correl object is bound to: from memory, else (shared kinds) from the directory itself. Undefined when
   * it is bound to none. Rejects with UNAVAILABLE when it is not in memory and the directory cannot be asked.
   */
  findCorrel(correlClass: string, object: string): Promise<string | undefined>;
  /** The key of a correl object known to this process; undefined otherwise. Never blocks. */
  lookupCorrel(correlClass: string, object: string): string | undefined;
  /**
   * set correl_object: binds `object` of `correlClass` to `key`, which must already have a library (UNKNOWN_KEY);
   * the same binding again is a no-op; an object bound to another key is a CORREL_CONFLICT. Durable before it
   * resolves.
   */
  bindCorrel(correlClass: string, object: string, key: string): Promise<void>;
  /** Live reload: the libraries and weights. Throws LIBRARY_IN_USE, changing nothing, when a removed library owns keys. */
  setLibraries(libraries: readonly LibraryWeight[]): void;
  stats(): DirectoryStats;
  state(): DirectoryState;
  /** Refuses new work, lets the writes in flight finish, releases files and connections. Idempotent. */
  close(): Promise<void>;
}
