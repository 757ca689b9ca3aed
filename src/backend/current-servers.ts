/**
 * The current server of every library (see failover-policy.ts for the policy), kept in step with server health,
 * reloads and operator failbacks, and saved in mysqlda.state.json so that it survives a restart.
 */
import path from 'node:path';
import type { LibraryConfig, ServerConfig } from '../config/types.js';
import { serverKey } from '../config/diff.js';
import type { Logger } from '../log/logger.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import { readSavedState, StateFileWriter, type SavedLibrary, type SavedState } from './current-server-file.js';
import { adoptServerList, decideCurrent, failbackProblem, type FailoverDecision, type ServerTest } from './failover-policy.js';
import type { ServerHealthBook } from './server-health.js';

/** Why a library's current server changed. */
export type MoveReason = 'down' | 'failback' | 'operator' | 'reload' | 'read_only';

/** The replication-aware failover modes (replication-failover.ts), consulted before the list-order policy. */
export interface LibraryFailoverPolicy {
  /** Where the library moves now (null: stay); undefined leaves the decision to the list-order policy. */
  decide(library: LibraryConfig, servers: readonly string[], current: string, excluded: ServerTest): FailoverDecision | null | undefined;
  /** Why the library may not serve from its current server now (a refused failover, a promotion), or null. */
  holdReason(library: string): string | null;
}

export interface LibraryMove {
  library: string;
  from: string;
  to: string;
  reason: MoveReason;
}

export interface CurrentServersOptions {
  /** Where mysqlda.state.json lives (the save directory). */
  stateFile: string;
  libraries: readonly LibraryConfig[];
  health: ServerHealthBook;
  autoFailback: boolean;
  events: ProxyEvents;
  logger: Logger;
  policy?: LibraryFailoverPolicy;
}

interface LibraryEntry {
  config: LibraryConfig;
  servers: string[];
  current: string;
  since: number;
  /** Servers the library left by failover (→ when, ms): no failover candidates until a move back to them. */
  left: Map<string, number>;
}

export type FailbackResult = { ok: true; move: LibraryMove | null } | { ok: false; error: string };

export class CurrentServers {
  private readonly entries = new Map<string, LibraryEntry>();
  private readonly listeners: ((move: LibraryMove) => void)[] = [];
  private readonly writer: StateFileWriter;
  private autoFailback: boolean;

  /** Reads the saved state (throws StateFileError when it is unusable), adopts it for the configured libraries. */
  static async open(options: CurrentServersOptions): Promise<CurrentServers> {
    const saved = await readSavedState(options.stateFile);
    const opened = new CurrentServers(options);
    for (const library of options.libraries) opened.adopt(library, saved.get(library.name) ?? null);
    await opened.persist();
    return opened;
  }

  static stateFileIn(saveDir: string, fileName: string): string {
    return path.join(saveDir, fileName);
  }

  private constructor(private readonly options: CurrentServersOptions) {
    this.autoFailback = options.autoFailback;
    this.writer = new StateFileWriter(options.stateFile, (error) =>
      options.logger.error({ err: error }, `could not save the current servers to ${options.stateFile}`),
    );
  }

  /** Called after every change of a library's current server (failover, failback, reload). */
  onMove(listener: (move: LibraryMove) => void): void {
    this.listeners.push(listener);
  }

  /**
   * The server new backend connections of the library go to: its current server, after moving it when it is down
   * (or, with auto_failback, when an earlier server is up). Null when no server of the library is usable.
   */
  serverFor(library: LibraryConfig): ServerConfig | null {
    const entry = this.entries.get(library.name);
    if (!entry) return library.servers[0] ?? null; // a library this reload has not reached yet
    this.reconcile(entry);
    if (this.options.health.status(entry.current) === 'down' || this.options.policy?.holdReason(library.name)) return null;
    return library.servers.find((server) => serverKey(server) === entry.current) ?? serverOf(entry);
  }

  /** Re-decides every library (after a health change). */
  reconcileAll(): void {
    for (const entry of this.entries.values()) this.reconcile(entry);
  }

  /** The operator's move of a library to one of its servers (by default its first). */
  failback(libraryName: string, to?: string): FailbackResult {
    const entry = this.entries.get(libraryName);
    if (!entry) return { ok: false, error: `no library is called '${libraryName}'` };
    const target = to ?? entry.servers[0];
    const problem = failbackProblem(entry.servers, target, (server) => this.options.health.status(server));
    if (problem) return { ok: false, error: `cannot move library '${libraryName}' to ${target}: ${problem}` };
    if (target === entry.current) return { ok: true, move: null };
    return { ok: true, move: this.move(entry, target, 'operator') };
  }

  /** A reload's library list: new libraries start at their first server, changed lists are adopted. */
  setLibraries(libraries: readonly LibraryConfig[]): void {
    const names = new Set(libraries.map((library) => library.name));
    for (const name of [...this.entries.keys()]) if (!names.has(name)) this.entries.delete(name);
    for (const library of libraries) {
      const entry = this.entries.get(library.name);
      this.adopt(library, entry ? savedOf(entry) : null);
    }
    this.reconcileAll();
    void this.persist();
  }

  setAutoFailback(autoFailback: boolean): void {
    this.autoFailback = autoFailback;
    this.reconcileAll();
  }

  /** The library's current server (host:port), whatever its health; null for an unknown library. */
  current(libraryName: string): string | null {
    return this.entries.get(libraryName)?.current ?? null;
  }

  /** When the library moved to its current server (ms since the epoch). */
  since(libraryName: string): number | null {
    return this.entries.get(libraryName)?.since ?? null;
  }

  /**
   * When the library left `server` by failover (ms since the epoch), while that keeps it from failing over there;
   * null otherwise. With auto_failback the marks are kept but do not bind: that setting says a server that comes
   * back may be used again.
   */
  leftByFailover(libraryName: string, server: string): number | null {
    if (this.autoFailback) return null;
    return this.entries.get(libraryName)?.left.get(server) ?? null;
  }

  /** Resolves once the state file holds every change made so far. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private adopt(library: LibraryConfig, saved: SavedLibrary | null): void {
    const servers = library.servers.map(serverKey);
    const { current, reason } = adoptServerList(saved?.servers ?? null, servers, saved?.current ?? null);
    const existing = this.entries.get(library.name);
    if (existing) {
      existing.config = library;
      existing.servers = servers;
      for (const server of existing.left.keys()) if (!servers.includes(server)) existing.left.delete(server);
      if (current !== existing.current) this.move(existing, current, 'reload');
      return;
    }
    const since = reason === 'kept' && saved ? Date.parse(saved.since) || Date.now() : Date.now();
    const left = new Map<string, number>();
    for (const [server, when] of saved?.leftByFailover ?? []) {
      if (servers.includes(server) && server !== current) left.set(server, Date.parse(when) || Date.now());
    }
    this.entries.set(library.name, { config: library, servers, current, since, left });
    const log = this.options.logger;
    if (reason === 'kept' && current !== servers[0]) {
      log.notice({ library: library.name, server: current, since: saved?.since }, `library ${library.name} stays on ${current}, where it failed over; fail back with the admin statement \`failback library ${library.name}\``);
    } else if (reason === 'reordered' || reason === 'removed') {
      const why = reason === 'reordered' ? 'its failover order changed' : `${saved?.current} left its server list`;
      log.notice({ library: library.name, server: current }, `library ${library.name} starts at its first server ${current}: ${why}`);
    }
  }

  private reconcile(entry: LibraryEntry): void {
    const excluded = this.autoFailback ? undefined : (server: string) => entry.left.has(server);
    const byMode = this.options.policy?.decide(entry.config, entry.servers, entry.current, excluded ?? (() => false));
    const decision =
      byMode !== undefined ? byMode : decideCurrent(entry.servers, entry.current, (server) => this.options.health.status(server), this.autoFailback, excluded);
    if (decision) this.move(entry, decision.to, decision.reason);
  }

  /**
   * Moves the library. A server left because it was down may miss the writes made from now on, so it is marked as
   * left by failover; the server moved to is unmarked (an operator's failback, a reload that re-ranks the list,
   * or auto_failback chose it).
   */
  private move(entry: LibraryEntry, to: string, reason: MoveReason): LibraryMove {
    const move: LibraryMove = { library: entry.config.name, from: entry.current, to, reason };
    if (reason === 'down') entry.left.set(entry.current, Date.now());
    entry.left.delete(to);
    entry.current = to;
    entry.since = Date.now();
    this.options.events.emit('failover', { library: move.library, from: move.from, to: move.to });
    this.logMove(move);
    void this.persist();
    for (const listener of this.listeners) listener(move);
    return move;
  }

  private logMove(move: LibraryMove): void {
    const { health, logger } = this.options;
    const from = health.get(move.from);
    const target = health.get(move.to);
    const fields = { library: move.library, from: move.from, to: move.to, reason: move.reason };
    const readOnly = target.readOnly ? ` (${move.to} has read_only=1: writes fail until it is made writable)` : '';
    switch (move.reason) {
      case 'down':
        logger.warn(fields, `library ${move.library} failed over from ${move.from} to ${move.to}: ${move.from} is down (${from.lastError ?? 'no answer'})${readOnly}; it stays on ${move.to} until an operator fails it back${this.autoFailback ? '' : `, and ${move.from} is no failover candidate until then (it misses the writes made on ${move.to})`}`);
        return;
      case 'failback':
        logger.warn(fields, `library ${move.library} failed back from ${move.from} to ${move.to} (failover.auto_failback)${readOnly}`);
        return;
      case 'operator':
        logger.notice(fields, `library ${move.library} moved from ${move.from} to ${move.to} by an operator${readOnly}`);
        return;
      case 'reload':
        logger.notice(fields, `library ${move.library} moved from ${move.from} to ${move.to} by a config reload${readOnly}`);
        return;
      case 'read_only':
        logger.warn(fields, `library ${move.library} moved from ${move.from} to ${move.to}: ${move.to} is its one writable server (failover.mode follow_read_only)`);
    }
  }

  private persist(): Promise<void> {
    const state: SavedState = new Map();
    for (const [name, entry] of this.entries) state.set(name, savedOf(entry));
    return this.writer.write(state);
  }
}

function savedOf(entry: LibraryEntry): SavedLibrary {
  const leftByFailover = new Map([...entry.left].map(([server, when]) => [server, new Date(when).toISOString()]));
  return { current: entry.current, servers: [...entry.servers], since: new Date(entry.since).toISOString(), leftByFailover };
}

function serverOf(entry: LibraryEntry): ServerConfig {
  return entry.config.servers.find((server) => serverKey(server) === entry.current) ?? entry.config.servers[0];
}
