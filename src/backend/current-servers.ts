/**
 * The current server of every library (see failover-policy.ts for the policy), kept in step with server health,
 * reloads and operator failbacks, and kept in a FailoverStateStore: mysqlda.state.json for one process, the
 * directory's mysqlda_library_state for many proxies.
 *
 * A move has two steps. `decide` is this proxy's view (failover-policy.ts over its health book); `commit` stores
 * the proposal by compare-and-set on the library's epoch, and the move takes effect only when that is won. A lost
 * compare-and-set means another proxy moved the library first: this one adopts what is stored, so every proxy
 * routes a library to the one server decided once. Changes made through other proxies (their failovers, operator
 * failbacks) are read by polling the store every health interval.
 *
 * While the store cannot be reached no library moves: each keeps its last known current server (and answers 7106
 * while that one is down) rather than risk two proxies sending its writes to two servers.
 */
import type { LibraryConfig, ServerConfig } from '../config/types.js';
import { serverKey } from '../config/diff.js';
import type { Logger } from '../log/logger.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import type { StateStoreView } from './store-reachability.js';
import type { CasResult, FailoverStateStore, StoredLibraryState } from './failover-state-store.js';
import { adoptServerList, decideCurrent, failbackProblem, type FailoverDecision, type ServerTest } from './failover-policy.js';
import { adoptable, marksFrom, proposedState, storedOf, type LibraryEntry, type LibraryMove, type MoveReason } from './library-state.js';
import { logMove } from './move-log.js';
import type { ServerHealthBook } from './server-health.js';
import { StoreReachability } from './store-reachability.js';

export type { LibraryMove, MoveReason } from './library-state.js';

/**
 * The replication-aware failover modes (replication-failover.ts), consulted in the decide step before the
 * list-order policy. Their decision is a proposal like any other: it takes effect through the compare-and-set.
 */
export interface LibraryFailoverPolicy {
  /** Where the library moves now (null: stay); undefined leaves the decision to the list-order policy. */
  decide(library: LibraryConfig, servers: readonly string[], current: string, excluded: ServerTest): FailoverDecision | null | undefined;
  /** Why the library may not serve from its current server now (a refused failover, a promotion), or null. */
  holdReason(library: string): string | null;
}

export interface CurrentServersOptions {
  store: FailoverStateStore;
  libraries: readonly LibraryConfig[];
  health: ServerHealthBook;
  autoFailback: boolean;
  events: ProxyEvents;
  logger: Logger;
  /** How often the store is read for changes made by other proxies; null: never (this process is its only writer). */
  pollIntervalMs?: number | null;
  /**
   * The longest this proxy waits for the store to answer a read or a compare-and-set before it counts it as
   * unreachable (no move is assumed: a late answer is found by the next poll). Absent: as long as the store takes.
   */
  storeTimeoutMs?: number;
  /**
   * What a library starts from when the store has no row for it: the state file this machine kept before a shared
   * store replaced it, so that a library that failed over is not sent back to its stale first server by the switch.
   */
  seed?: ReadonlyMap<string, Omit<StoredLibraryState, 'epoch'>>;
  /** The failover mode's decisions and holds; absent: the list-order policy alone. */
  policy?: LibraryFailoverPolicy;
}

export type FailbackResult = { ok: true; move: LibraryMove | null } | { ok: false; error: string };

/** How a compare-and-set ended for this proxy. */
type CommitOutcome = { kind: 'won'; move: LibraryMove | null } | { kind: 'lost' } | { kind: 'unreachable'; error: string };

export type { StateStoreView } from './store-reachability.js';

const FAILBACK_ATTEMPTS = 3;

export class CurrentServers {
  private readonly entries = new Map<string, LibraryEntry>();
  private readonly listeners: ((move: LibraryMove) => void)[] = [];
  private readonly store: FailoverStateStore;
  private autoFailback: boolean;
  private pollIntervalMs: number | null;
  private storeTimeoutMs: number | undefined;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private closed = false;
  private readonly reachability: StoreReachability;
  /** The read of the store not answered yet: a poll waits for it rather than queue another behind a silent server. */
  private loading: Promise<Map<string, StoredLibraryState>> | null = null;

  /**
   * Loads the store (rejects when it cannot be read: StateFileError for a damaged state file, DirectoryError when
   * the directory is unreachable), adopts it for the configured libraries and writes the ones it lacks.
   */
  static async open(options: CurrentServersOptions): Promise<CurrentServers> {
    const stored = await options.store.load();
    const opened = new CurrentServers(options);
    await Promise.all(options.libraries.map((library) => opened.start(library, stored.get(library.name) ?? null)));
    options.store.forget?.(options.libraries.map((library) => library.name));
    opened.schedulePoll();
    return opened;
  }

  private constructor(private readonly options: CurrentServersOptions) {
    this.store = options.store;
    this.reachability = new StoreReachability(options.store, options.logger);
    this.autoFailback = options.autoFailback;
    this.pollIntervalMs = options.pollIntervalMs ?? null;
    this.storeTimeoutMs = options.storeTimeoutMs;
  }

  /**
   * Called after every change of a library's current server (failover, failback, reload, adoption). `move.won`
   * tells a move this proxy stored from one it adopted.
   */
  onMove(listener: (move: LibraryMove) => void): void {
    this.listeners.push(listener);
  }

  /**
   * The server new backend connections of the library go to: its current server, after proposing a move when it is
   * down (or, with auto_failback, when an earlier server is up). Null when no server of the library is usable now,
   * which includes the moment a move is being stored (see `pendingMove`).
   */
  serverFor(library: LibraryConfig): ServerConfig | null {
    const entry = this.entries.get(library.name);
    if (!entry) return library.servers[0] ?? null; // a library this reload has not reached yet
    this.reconcile(entry);
    if (this.options.health.status(entry.current) === 'down' || this.options.policy?.holdReason(library.name)) return null;
    return library.servers.find((server) => serverKey(server) === entry.current) ?? serverOf(entry);
  }

  /** The move of the library being stored, or null: a session that found no usable server may wait for it. */
  pendingMove(libraryName: string): Promise<unknown> | null {
    return this.entries.get(libraryName)?.pending ?? null;
  }

  /** Re-decides every library (after a health change). */
  reconcileAll(): void {
    for (const entry of this.entries.values()) this.reconcile(entry);
  }

  /** The operator's move of a library to one of its servers (by default its first), stored for every proxy. */
  async failback(libraryName: string, to?: string): Promise<FailbackResult> {
    for (let attempt = 1; attempt <= FAILBACK_ATTEMPTS; attempt++) {
      const entry = this.entries.get(libraryName);
      if (!entry) return { ok: false, error: `no library is called '${libraryName}'` };
      if (entry.pending) {
        await entry.pending;
        continue;
      }
      const target = to ?? entry.servers[0];
      const problem = failbackProblem(entry.servers, target, (server) => this.options.health.status(server));
      if (problem) return { ok: false, error: `cannot move library '${libraryName}' to ${target}: ${problem}` };
      if (target === entry.current) return { ok: true, move: null };
      if (!this.storeUsable()) return { ok: false, error: this.unreachableRefusal(libraryName) };
      const outcome = await this.propose(entry, target, 'operator');
      if (outcome.kind === 'won') return { ok: true, move: outcome.move };
      if (outcome.kind === 'unreachable') return { ok: false, error: this.unreachableRefusal(libraryName) };
      // Lost: another proxy changed the library meanwhile; its state is adopted, so judge the failback again.
    }
    return { ok: false, error: `library '${libraryName}' keeps being moved by other proxies; try again` };
  }

  /** A reload's library list: new libraries start at their first server, changed lists are adopted. */
  setLibraries(libraries: readonly LibraryConfig[]): void {
    const names = new Set(libraries.map((library) => library.name));
    for (const name of [...this.entries.keys()]) if (!names.has(name)) this.entries.delete(name);
    this.store.forget?.([...names]);
    for (const library of libraries) {
      const entry = this.entries.get(library.name);
      if (entry) this.relist(entry, library);
      else void this.start(library, null);
    }
    this.reconcileAll();
  }

  setAutoFailback(autoFailback: boolean): void {
    this.autoFailback = autoFailback;
    this.reconcileAll();
  }

  /** A reload changed the health settings: a shared store is read at the new interval and waited for as long. */
  setStoreTiming(pollIntervalMs: number, storeTimeoutMs: number): void {
    if (this.pollIntervalMs === null) return;
    this.pollIntervalMs = pollIntervalMs;
    this.storeTimeoutMs = storeTimeoutMs;
  }

  /** The library's current server (host:port), whatever its health; null for an unknown library. */
  current(libraryName: string): string | null {
    return this.entries.get(libraryName)?.current ?? null;
  }

  /** When the library moved to its current server (ms since the epoch). */
  since(libraryName: string): number | null {
    return this.entries.get(libraryName)?.since ?? null;
  }

  /** The stored epoch this proxy's state of the library matches (0 before it was first stored). */
  epoch(libraryName: string): number | null {
    return this.entries.get(libraryName)?.epoch ?? null;
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

  /** Where the failover state is kept and whether it can be reached. */
  stateStore(): StateStoreView {
    return this.reachability.view();
  }

  /** Whether moves can be stored now: no proxy moves a library on its own. */
  storeUsable(): boolean {
    return this.reachability.usable();
  }

  /** Reads the store and adopts what other proxies changed; then re-decides (moves may be due once it is back). */
  async refresh(): Promise<void> {
    let stored: Map<string, StoredLibraryState>;
    try {
      this.loading ??= this.store.load().finally(() => (this.loading = null));
      stored = await this.bounded(this.loading);
    } catch (err) {
      this.unreachable(err);
      return;
    }
    if (this.closed) return;
    this.reachable();
    for (const entry of this.entries.values()) {
      if (entry.pending) continue;
      const row = stored.get(entry.config.name);
      if (!row) {
        // Not stored (written while the store was away, or the table was emptied): write this proxy's state.
        entry.epoch = 0;
        void this.commit(entry, { ...storedOf(entry), epoch: 1 }, 'reload');
      } else if (row.epoch !== entry.epoch) {
        this.adopt(entry, row);
      }
    }
    this.reconcileAll();
  }

  /** Resolves once the store holds every change made so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.entries.values()].map((entry) => entry.pending));
    await this.store.flush();
  }

  /** Stops polling, lets compare-and-sets in flight finish, closes the store. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.polling;
    await this.flush();
    await this.store.close();
  }

  /**
   * A library seen for the first time (the start, or a reload adding it), with its stored state if any. Without
   * one, the seed (this machine's state file, when a shared store replaces it) is the first state written.
   */
  private start(library: LibraryConfig, row: StoredLibraryState | null): Promise<unknown> {
    const servers = library.servers.map(serverKey);
    const basis = row ?? this.options.seed?.get(library.name) ?? null;
    const { current, reason } = adoptServerList(basis?.servers ?? null, servers, basis?.current ?? null);
    const now = Date.now();
    const kept = basis !== null && reason === 'kept';
    const entry: LibraryEntry = row
      ? { config: library, servers, current: row.current, since: Date.parse(row.since) || now, left: marksFrom(row, servers, now), epoch: row.epoch, pending: null }
      : { config: library, servers, current, since: kept ? Date.parse(basis.since) || now : now, left: basis ? marksFrom({ ...basis, current }, servers, now) : new Map(), epoch: 0, pending: null };
    this.entries.set(library.name, entry);
    const log = this.options.logger;
    if (reason === 'kept' && current !== servers[0]) {
      log.notice({ library: library.name, server: current, since: basis?.since }, `library ${library.name} stays on ${current}, where it failed over; fail back with the admin statement \`failback library ${library.name}\``);
    } else if (reason === 'reordered' || reason === 'removed') {
      const why = reason === 'reordered' ? 'its failover order changed' : `${basis?.current} left its server list`;
      log.notice({ library: library.name, server: current }, `library ${library.name} starts at its first server ${current}: ${why}`);
    }
    if (!row) return this.commit(entry, { ...storedOf(entry), epoch: 1 }, 'reload');
    if (reason === 'reordered' || reason === 'removed') return this.propose(entry, current, 'reload');
    return Promise.resolve();
  }

  /** A reload changed the library's server list: re-ranking it (or removing its current server) starts at the top. */
  private relist(entry: LibraryEntry, library: LibraryConfig): void {
    const servers = library.servers.map(serverKey);
    const { current } = adoptServerList(entry.servers, servers, entry.current);
    entry.config = library;
    entry.servers = servers;
    for (const server of entry.left.keys()) if (!servers.includes(server)) entry.left.delete(server);
    if (current === entry.current) return;
    const move = () => (entry.current === current ? undefined : this.propose(entry, current, 'reload'));
    if (entry.pending) void entry.pending.then(move);
    else void move();
  }

  /** The decide step: where this proxy's view of server health says the library should go, or null to stay. */
  private decide(entry: LibraryEntry): FailoverDecision | null {
    const excluded = this.autoFailback ? undefined : (server: string) => entry.left.has(server);
    const byMode = this.options.policy?.decide(entry.config, entry.servers, entry.current, excluded ?? (() => false));
    if (byMode !== undefined) return byMode;
    return decideCurrent(entry.servers, entry.current, (server) => this.options.health.status(server), this.autoFailback, excluded);
  }

  private reconcile(entry: LibraryEntry): void {
    if (entry.pending || this.closed) return;
    const decision = this.decide(entry);
    if (!decision) return;
    if (!this.storeUsable()) {
      this.noteStuck(entry);
      return;
    }
    void this.propose(entry, decision.to, decision.reason);
  }

  private propose(entry: LibraryEntry, to: string, reason: MoveReason): Promise<CommitOutcome> {
    return this.commit(entry, proposedState(entry, to, reason, Date.now()), reason);
  }

  /**
   * The commit step: stores `next` if the library's epoch is still the one this proxy holds. A store with one
   * writer answers in the same turn; a shared one answers later, and meanwhile the library has a move pending.
   */
  private commit(entry: LibraryEntry, next: StoredLibraryState, reason: MoveReason): Promise<CommitOutcome> {
    const expected = entry.epoch;
    const name = entry.config.name;
    if (this.store.compareAndSetNow) {
      let result: CasResult;
      try {
        result = this.store.compareAndSetNow(name, expected, next);
      } catch (err) {
        return Promise.resolve(this.unreachable(err));
      }
      return Promise.resolve(this.settle(entry, result, reason));
    }
    const outcome = this.bounded(this.store.compareAndSet(name, expected, next)).then(
      (result) => {
        entry.pending = null;
        return this.settle(entry, result, reason);
      },
      (err: unknown) => {
        entry.pending = null;
        return this.unreachable(err);
      },
    );
    entry.pending = outcome;
    return outcome;
  }

  /** Won: the move takes effect. Lost: what the winner stored is adopted, then judged again by this proxy's view. */
  private settle(entry: LibraryEntry, result: CasResult, reason: MoveReason): CommitOutcome {
    if (this.entries.get(entry.config.name) !== entry) return { kind: 'lost' }; // removed by a reload meanwhile
    this.reachable();
    if (result.won) {
      const move = this.apply(entry, result.state, reason, true);
      this.reconcile(entry); // the server moved to may have gone down while the move was stored
      return { kind: 'won', move };
    }
    if (result.state === null) entry.epoch = 0; // the row went away: the next proposal writes it again
    else this.adopt(entry, result.state);
    this.reconcile(entry);
    return { kind: 'lost' };
  }

  /** Takes a state another proxy stored. One naming a server this proxy does not have is noted, not routed to. */
  private adopt(entry: LibraryEntry, stored: StoredLibraryState): void {
    if (adoptable(entry, stored)) {
      this.apply(entry, stored, 'adopted', false);
      return;
    }
    if (entry.epoch !== stored.epoch) {
      this.options.logger.warn(
        { library: entry.config.name, server: stored.current, epoch: stored.epoch },
        `library ${entry.config.name} was moved by another proxy to ${stored.current}, which is not in this proxy's server list (${entry.servers.join(', ')}): it stays on ${entry.current} here; give every proxy the same list`,
      );
    }
    entry.epoch = stored.epoch;
  }

  private apply(entry: LibraryEntry, stored: StoredLibraryState, reason: MoveReason, won: boolean): LibraryMove | null {
    const now = Date.now();
    const from = entry.current;
    entry.current = stored.current;
    entry.since = Date.parse(stored.since) || now;
    entry.left = marksFrom(stored, entry.servers, now);
    entry.epoch = stored.epoch;
    if (from === stored.current) return null;
    const move: LibraryMove = { library: entry.config.name, from, to: stored.current, reason, epoch: stored.epoch, won };
    this.options.events.emit('failover', { library: move.library, from: move.from, to: move.to });
    logMove(this.options.logger, this.options.health, move, this.autoFailback);
    for (const listener of this.listeners) listener(move);
    return move;
  }

  private unreachable(err: unknown): CommitOutcome {
    return { kind: 'unreachable', error: this.reachability.failed(err) };
  }

  private reachable(): void {
    this.reachability.succeeded();
  }

  private noteStuck(entry: LibraryEntry): void {
    this.reachability.noteStuck(entry.config.name, entry.current);
  }

  private unreachableRefusal(libraryName: string): string {
    return `cannot move library '${libraryName}': the failover state store is unreachable (${this.stateStore().lastError ?? 'no answer'}), so the other proxies would not follow; try again once it is back`;
  }

  /** The store's answer, or a rejection once storeTimeoutMs has passed without one. */
  private bounded<T>(answer: Promise<T>): Promise<T> {
    const timeoutMs = this.storeTimeoutMs;
    if (timeoutMs === undefined) return answer;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    answer.catch(() => undefined); // answered after the deadline: the next poll reads what it did
    return Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
  }

  private schedulePoll(): void {
    if (this.pollIntervalMs === null || this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.polling = this.refresh().finally(() => {
        this.polling = null;
        this.schedulePoll();
      });
    }, this.pollIntervalMs);
    this.pollTimer.unref();
  }
}

function serverOf(entry: LibraryEntry): ServerConfig {
  return entry.config.servers.find((server) => serverKey(server) === entry.current) ?? entry.config.servers[0];
}
