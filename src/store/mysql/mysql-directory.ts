/**
 * The key directory in InnoDB tables shared by every proxy (storage.directory.mysql).
 *
 * Invariants, cluster-wide:
 * - one library per key: a new key is acknowledged only after the transaction that inserted its row committed;
 *   the row's primary key makes a second insert fail, and the transaction that loses re-reads the winner's row;
 * - balance: the deficit rule runs on the shared counts, read FOR UPDATE and updated in the assigning transaction;
 * - memory holds only committed bindings, so lookups from memory never report one that could still be lost.
 *
 * New keys are grouped: keys that arrive while a transaction is in flight go into the next one (BatchQueue). Every
 * key row and correl object is loaded at start; a key seen later (assigned by another proxy) is fetched on its
 * first miss and kept. Every second the change feed (mysqlda_key_changes) and the shared counts are read, which
 * also notices by itself when an unreachable directory is back.
 */
import { Directory } from '../../routing/directory.js';
import { classProblem, valueProblem } from '../../routing/identifiers.js';
import { weightsOf } from '../durable-directory.js';
import { DirectoryError, type DirectoryState, type DirectoryStats, type KeyDirectory, type LibraryWeight } from '../key-directory.js';
import { planAssignments } from './assignment-plan.js';
import { BatchQueue } from './batch-queue.js';
import { describe, errnoOf, retrying, type DirectoryClient, type SqlConnection } from './directory-client.js';
import * as sql from './directory-sql.js';
import { loadDirectory } from './key-loader.js';

export interface MysqlDirectoryOptions {
  client: DirectoryClient;
  /** In config order: the order matters to the assignment rule. */
  libraries: readonly LibraryWeight[];
  /** Written to each key row this proxy assigns (assigned_by): host, port and pid. */
  identity: string;
  log?: (message: string) => void;
  /** How often the change feed and the counts are read (default 1 s). */
  pollIntervalMs?: number;
  /** The most new keys in one transaction (default 2,000). */
  maxBatchKeys?: number;
}

/** ER_DUP_ENTRY: a row with that primary key exists. */
const ER_DUP_ENTRY = 1062;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_MAX_BATCH_KEYS = 2_000;
/** Changes applied per poll; a longer backlog is read over the next polls. */
const CHANGES_PER_POLL = 10_000;

type KeyAnswer = { library: string } | { error: DirectoryError };

export class MysqlDirectory implements KeyDirectory {
  private readonly pendingKeys = new Map<string, Promise<string>>();
  /** Keys whose row this proxy inserted and whose first caller has not yet been told (isNew). */
  private readonly assignedHere = new Set<string>();
  /** Keyed by `${class}\n${object}`. */
  private readonly pendingCorrels = new Map<string, { key: string; done: Promise<void> }>();
  private readonly batches: BatchQueue<KeyAnswer>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly poller: NodeJS.Timeout;
  private polling = false;
  private closing: Promise<void> | undefined;
  private errors = 0;
  /** A write refused by a server that is otherwise reachable (e.g. a privilege revoked); cleared by the next good one. */
  private writeFailure: { reason: string; since: number } | null = null;

  private constructor(
    private readonly client: DirectoryClient,
    private readonly directory: Directory,
    private weights: ReadonlyMap<string, number>,
    /** The shared counts as last read (keys per library in the whole directory). */
    private sharedCounts: Map<string, number>,
    private lastSeq: number,
    private readonly identity: string,
    private readonly log: (message: string) => void,
    options: MysqlDirectoryOptions,
  ) {
    this.batches = new BatchQueue((keys) => this.track(this.resolveBatch(keys)), options.maxBatchKeys ?? DEFAULT_MAX_BATCH_KEYS);
    this.poller = setInterval(() => void this.poll(), options.pollIntervalMs ?? DEFAULT_POLL_MS);
    this.poller.unref();
  }

  /**
   * Creates the tables when missing, then loads every key and correl object. Rejects with a DirectoryError naming
   * the reason when the directory cannot be reached or used, or holds keys of a library that is not configured.
   */
  static async open(options: MysqlDirectoryOptions): Promise<MysqlDirectory> {
    const log = options.log ?? (() => {});
    const weights = weightsOf(options.libraries);
    const client = options.client;
    await client.ensureSchema();
    const directory = new Directory([...weights.keys()]);
    const { lastSeq, counts } = await client.run(async (connection) => {
      await retrying(() => sql.seedCountsIfEmpty(connection), [ER_DUP_ENTRY]);
      // The feed position first: a change written while the keys stream in is applied (again) by the first poll.
      const seq = await sql.lastChangeSeq(connection);
      const shared = await sql.readCounts(connection);
      const total = [...shared.values()].reduce((sum, n) => sum + n, 0);
      const loaded = await loadDirectory(connection, directory, total);
      if (loaded.unknownLibraries.size > 0) {
        const list = [...loaded.unknownLibraries].map(([name, n]) => `'${name}' (${n} keys)`).join(', ');
        throw new DirectoryError('INVALID_CONFIG', `the directory ${client.location} holds keys of libraries this config does not have: ${list}`);
      }
      return { lastSeq: seq, counts: shared };
    });
    return new MysqlDirectory(client, directory, weights, counts, lastSeq, options.identity, log, options);
  }

  async resolveKey(key: string): Promise<{ library: string; isNew: boolean }> {
    this.assertOpen();
    assertValid(valueProblem(key, 'key'));
    const known = this.directory.libraryOf(key);
    if (known !== undefined) return { library: known, isNew: false };
    const pending = this.pendingKeys.get(key);
    if (pending !== undefined) return { library: await pending, isNew: false };

    const resolved = this.batches.request(key).then((answer) => {
      if ('error' in answer) throw answer.error;
      return answer.library;
    });
    const shared = resolved.finally(() => this.pendingKeys.delete(key));
    this.pendingKeys.set(key, shared);
    shared.catch(() => undefined);
    const library = await shared;
    return { library, isNew: this.assignedHere.delete(key) };
  }

  lookupKey(key: string): string | undefined {
    return this.directory.libraryOf(key);
  }

  async bindCorrel(correlClass: string, object: string, key: string): Promise<void> {
    this.assertOpen();
    assertValid(classProblem(correlClass) ?? valueProblem(object, 'object') ?? valueProblem(key, 'key'));
    await this.pendingKeys.get(key)?.catch(() => undefined);
    if (this.directory.libraryOf(key) === undefined && !(await this.fetchKey(key))) {
      throw new DirectoryError('UNKNOWN_KEY', `key '${key}' has no library yet (select library ${key} first)`);
    }
    const id = `${correlClass}\n${object}`;
    for (let inFlight = this.pendingCorrels.get(id); inFlight !== undefined; inFlight = this.pendingCorrels.get(id)) {
      if (inFlight.key === key) return inFlight.done;
      await inFlight.done.catch(() => undefined);
    }
    this.assertOpen();
    const current = this.directory.keyOfCorrel(correlClass, object);
    if (current === key) return;
    if (current !== undefined) throw conflict(correlClass, object, current);

    const done = this.track(this.insertCorrel(correlClass, object, key)).finally(() => this.pendingCorrels.delete(id));
    this.pendingCorrels.set(id, { key, done });
    return done;
  }

  async findCorrel(correlClass: string, object: string): Promise<string | undefined> {
    const known = this.lookupCorrel(correlClass, object);
    if (known !== undefined) return known;
    this.assertOpen();
    const row = await this.write(`could not look up ${correlClass} object '${object}'`, (connection) => sql.readCorrel(connection, correlClass, object));
    if (row === undefined) return undefined;
    if (this.remember(row.key, row.library)) this.rememberCorrel(correlClass, object, row.key);
    return row.key;
  }

  lookupCorrel(correlClass: string, object: string): string | undefined {
    return this.directory.keyOfCorrel(correlClass, object);
  }

  /**
   * Live reload. A library that still owns keys in the shared directory (as last read) cannot be removed; a new
   * one starts from its shared count (0 when no proxy has used it) and receives new keys until it has caught up.
   */
  setLibraries(libraries: readonly LibraryWeight[]): void {
    const weights = weightsOf(libraries);
    const stranded = [...this.weights.keys()].filter((name) => !weights.has(name) && (this.sharedCounts.get(name) ?? 0) > 0);
    if (stranded.length > 0) {
      const list = stranded.map((name) => `'${name}' (${this.sharedCounts.get(name)} keys)`).join(', ');
      throw new DirectoryError('LIBRARY_IN_USE', `cannot remove libraries that still own keys: ${list}`);
    }
    try {
      this.directory.setLibraries([...weights.keys()]);
    } catch (err) {
      throw new DirectoryError('LIBRARY_IN_USE', (err as Error).message.replace(/^Directory: /, ''), { cause: err });
    }
    this.weights = weights;
  }

  /** Keys per library in the whole directory (as last read, at most a second old); correl objects known here. */
  stats(): DirectoryStats {
    const perLibrary: Record<string, number> = {};
    for (const name of this.weights.keys()) perLibrary[name] = this.sharedCounts.get(name) ?? 0;
    const keys = [...this.sharedCounts.values()].reduce((sum, n) => sum + n, 0);
    return { keys, perLibrary, correlObjects: this.directory.correlCount() };
  }

  state(): DirectoryState {
    const state = this.client.state();
    if (state.available && this.writeFailure) {
      return { ...state, available: false, lastError: this.writeFailure.reason, since: this.writeFailure.since, errors: this.errors };
    }
    return { ...state, errors: this.errors };
  }

  /** Keys known to this process (loaded, assigned here, or fetched on a miss). */
  knownKeys(): number {
    return this.directory.size();
  }

  /** Refuses new work and lets the transactions in flight finish; the client is the caller's to close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.poller);
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    })();
    return this.closing;
  }

  /** One batch of keys unknown here when they were asked for. */
  private async resolveBatch(keys: readonly string[]): Promise<Map<string, KeyAnswer>> {
    const answers = new Map<string, KeyAnswer>();
    const unknown: string[] = [];
    for (const key of keys) {
      const known = this.directory.libraryOf(key);
      if (known !== undefined) answers.set(key, { library: known });
      else unknown.push(key);
    }
    if (unknown.length === 0) return answers;
    const outcome = await this.write('could not save new keys', async (connection) => {
      // Keys assigned by another proxy since this one started: found without the counts lock.
      const found = await sql.readKeys(connection, unknown);
      const missing = unknown.filter((key) => !found.has(key));
      if (missing.length === 0) return { found, assigned: [] as { key: string; library: string }[] };
      const plan = await retrying(async () => {
        try {
          const { counts, existing } = await sql.beginAssignment(connection, missing);
          const planned = planAssignments(missing, existing, counts, this.librariesInOrder());
          await sql.commitAssignment(connection, planned.assigned, planned.increments, this.identity);
          return planned;
        } catch (err) {
          await sql.rollback(connection).catch(() => undefined);
          throw err;
        }
      }, [ER_DUP_ENTRY]);
      this.sharedCounts = plan.countsAfter;
      for (const [key, library] of plan.found) found.set(key, library);
      return { found, assigned: plan.assigned };
    });
    for (const [key, library] of outcome.found) answers.set(key, this.answerFor(key, library));
    for (const { key, library } of outcome.assigned) {
      const answer = this.answerFor(key, library);
      if ('library' in answer) this.assignedHere.add(key);
      answers.set(key, answer);
    }
    return answers;
  }

  /** Keeps a committed binding in memory; an error answer when its library is not configured here. */
  private answerFor(key: string, library: string): KeyAnswer {
    if (this.remember(key, library)) return { library };
    return { error: new DirectoryError('INVALID_CONFIG', `key '${key}' belongs to library '${library}', which this proxy's config does not have`) };
  }

  /** Puts a committed binding into memory (a newer one, from a key move, replaces it). False for an unconfigured library. */
  private remember(key: string, library: string): boolean {
    if (!this.directory.hasLibrary(library)) return false;
    try {
      this.directory.put(key, library);
    } catch {
      this.directory.rebind(key, library);
    }
    return true;
  }

  private rememberCorrel(correlClass: string, object: string, key: string): void {
    try {
      this.directory.bindCorrel(correlClass, object, key);
    } catch {
      // Bound to another key in memory already: the directory's row, read just now, is the newer fact.
      this.directory.unbindCorrel(correlClass, object);
      this.directory.bindCorrel(correlClass, object, key);
    }
  }

  /** Reads a key's row into memory; false when it has none (or its library is not configured here). */
  private async fetchKey(key: string): Promise<boolean> {
    const rows = await this.write(`could not look up key '${key}'`, (connection) => sql.readKeys(connection, [key]));
    const library = rows.get(key);
    return library !== undefined && this.remember(key, library);
  }

  private async insertCorrel(correlClass: string, object: string, key: string): Promise<void> {
    const bound = await this.write(`could not save ${correlClass} object '${object}' → key '${key}'`, async (connection) => {
      try {
        await sql.insertCorrel(connection, correlClass, object, key);
        return key;
      } catch (err) {
        if (errnoOf(err) !== ER_DUP_ENTRY) throw err;
        // Bound by another proxy meanwhile: its row decides.
        return (await sql.readCorrel(connection, correlClass, object))?.key ?? key;
      }
    });
    this.rememberCorrel(correlClass, object, bound);
    if (bound !== key) throw conflict(correlClass, object, bound);
  }

  /**
   * Runs a directory operation. Any failure becomes DirectoryError('UNAVAILABLE') naming the reason (the client
   * hears 7107 and may retry); nothing was acknowledged.
   */
  private async write<T>(what: string, work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    try {
      const result = await this.client.run(work);
      this.writeFailure = null;
      return result;
    } catch (err) {
      this.errors++;
      if (err instanceof DirectoryError && err.code !== 'UNAVAILABLE') throw err;
      const reason = err instanceof DirectoryError ? err.message : `${what}: ${describe(err)}`;
      if (!(err instanceof DirectoryError)) {
        if (this.writeFailure?.reason !== reason) this.log(`directory ${this.client.location}: ${reason}`);
        this.writeFailure = { reason, since: this.writeFailure?.since ?? Date.now() };
      }
      throw err instanceof DirectoryError ? err : new DirectoryError('UNAVAILABLE', `the directory ${reason}`, { cause: err });
    }
  }

  /** Reads the change feed and the shared counts: key moves made elsewhere reach memory within a poll. */
  private async poll(): Promise<void> {
    if (this.polling || this.closing) return;
    this.polling = true;
    try {
      const { changes, counts } = await this.client.run((connection) => sql.readChangesAndCounts(connection, this.lastSeq, CHANGES_PER_POLL));
      this.sharedCounts = counts;
      for (const change of changes) {
        // Keys this process never saw are left out: their first miss reads the row itself.
        if (this.directory.libraryOf(change.key) !== undefined && !this.directory.rebind(change.key, change.library)) {
          this.log(`key change ${change.seq}: library '${change.library}' of key '${change.key}' is not configured here; ignored`);
        }
        this.lastSeq = change.seq;
      }
    } catch {
      this.errors++; // DirectoryClient has logged the reason and keeps the state
    } finally {
      this.polling = false;
    }
  }

  private librariesInOrder(): LibraryWeight[] {
    return [...this.weights].map(([name, weight]) => ({ name, weight }));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new DirectoryError('CLOSED', 'the directory is closed');
  }
}

function assertValid(problem: string | undefined): void {
  if (problem !== undefined) throw new DirectoryError('INVALID_ARGUMENT', problem);
}

function conflict(correlClass: string, object: string, current: string): DirectoryError {
  return new DirectoryError('CORREL_CONFLICT', `${correlClass} object '${object}' is already bound to key '${current}'`);
}
