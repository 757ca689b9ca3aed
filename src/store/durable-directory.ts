/**
 * The directory the proxy talks to: assignment of new keys plus persistence in mysqlda's save files.
 *
 * Invariant: nothing is acknowledged unless it is on disk, and nothing is half-applied. A new key is placed in
 * memory synchronously (so concurrent assignments see each other's counts), appended to mysqlda.save, and the
 * caller's promise resolves only after the fsync. If the write fails, the key is taken out of memory again and the
 * promise rejects with PERSIST_FAILED; the save file is cut back too, at once or before the next record is written
 * (see SaveFileWriter), so the directory recovers by itself once the file can be written again. While a binding is
 * in flight, lookups do not report it, and concurrent callers for the same key or object share the one write.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseLibrary } from '../routing/assignment.js';
import { Directory } from '../routing/directory.js';
import { classProblem, valueProblem } from '../routing/identifiers.js';
import { loadSaveFiles } from './loader.js';
import { SaveFileWriter } from './save-file.js';
import { DirectoryError, type DirectoryState, type DirectoryStats, type KeyDirectory, type LibraryWeight } from './key-directory.js';
import { CORE_SAVE_FILE, correlSaveFileName, formatCoreRecord, formatCorrelRecord } from './save-format.js';

export { DirectoryError, type DirectoryErrorCode, type LibraryWeight } from './key-directory.js';

export interface DurableDirectoryOptions {
  /** Existing directory holding mysqlda.save and mysqlda.<class>.save. */
  saveDir: string;
  /** In config order: the order matters to the assignment rule. */
  libraries: readonly LibraryWeight[];
  /** Receives load warnings and repairs, and permission fixes. */
  log?: (msg: string) => void;
}

export class DurableDirectory implements KeyDirectory {
  private readonly pendingKeys = new Map<string, Promise<string>>();
  /** Keyed by `${class}\n${object}` (neither may contain a newline). */
  private readonly pendingCorrels = new Map<string, { key: string; done: Promise<void> }>();
  private readonly correlWriters = new Map<string, Promise<SaveFileWriter>>();
  private closing: Promise<void> | undefined;
  private readonly openedAt = Date.now();

  private constructor(
    private readonly saveDir: string,
    private readonly directory: Directory,
    private weights: ReadonlyMap<string, number>,
    private readonly core: SaveFileWriter,
    private readonly log: (msg: string) => void,
  ) {}

  /**
   * Load the save files (repairing a torn last line) and open mysqlda.save for appending. Rejects with a
   * SaveFileError listing every bad line (e.g. keys that belong to a library no longer in the config), or with a
   * DirectoryError('INVALID_CONFIG') for a bad library list or a missing save directory.
   */
  static async open(options: DurableDirectoryOptions): Promise<DurableDirectory> {
    const log = options.log ?? (() => {});
    const weights = weightsOf(options.libraries);
    await assertDirectory(options.saveDir);
    const loaded = await loadSaveFiles(options.saveDir, [...weights.keys()]);
    for (const warning of loaded.warnings) log(warning);
    const core = await SaveFileWriter.open(join(options.saveDir, CORE_SAVE_FILE));
    reportTightened(core, log);
    const opened = new DurableDirectory(options.saveDir, loaded.directory, weights, core, log);
    try {
      // Open the existing correl files now: their permissions get fixed and their last line checked at start-up.
      for (const correlClass of loaded.directory.correlClasses()) await opened.correlWriter(correlClass);
    } catch (err) {
      await opened.close();
      throw err;
    }
    return opened;
  }

  /**
   * The library of the key. A new key is assigned (chooseLibrary) and fsynced to mysqlda.save before this resolves;
   * isNew is true only for the call that assigned it (concurrent calls for the same new key share that assignment
   * and get isNew false).
   */
  async resolveKey(key: string): Promise<{ library: string; isNew: boolean }> {
    this.assertOpen();
    assertValid(valueProblem(key, 'key'));
    const pending = this.pendingKeys.get(key);
    if (pending !== undefined) return { library: await pending, isNew: false };
    const known = this.directory.libraryOf(key);
    if (known !== undefined) return { library: known, isNew: false };

    const library = chooseLibrary(key, this.directory.loads(this.weights));
    this.directory.put(key, library);
    const persisted = this.core.append(formatCoreRecord(key, library)).then(
      () => {
        this.pendingKeys.delete(key);
        return library;
      },
      (err: Error) => {
        this.pendingKeys.delete(key);
        this.directory.unput(key);
        throw new DirectoryError('PERSIST_FAILED', `could not save the library of key '${key}': ${err.message}`, {
          cause: err,
        });
      },
    );
    this.pendingKeys.set(key, persisted);
    return { library: await persisted, isNew: true };
  }

  /** The library of a key whose assignment is on disk; undefined otherwise. */
  lookupKey(key: string): string | undefined {
    return this.pendingKeys.has(key) ? undefined : this.directory.libraryOf(key);
  }

  /**
   * set correl_object: bind `object` of `correlClass` to `key`, which must already have a library (else
   * UNKNOWN_KEY). The same binding again is a no-op; an object bound to another key is a CORREL_CONFLICT (mysqlda
   * answered OK and changed nothing). A new binding is fsynced to mysqlda.<class>.save before this resolves.
   */
  async bindCorrel(correlClass: string, object: string, key: string): Promise<void> {
    this.assertOpen();
    assertValid(classProblem(correlClass) ?? valueProblem(object, 'object') ?? valueProblem(key, 'key'));
    await this.pendingKeys.get(key)?.catch(() => undefined);
    if (this.directory.libraryOf(key) === undefined) {
      throw new DirectoryError('UNKNOWN_KEY', `key '${key}' has no library yet (select library ${key} first)`);
    }
    const id = `${correlClass}\n${object}`;
    for (let inFlight = this.pendingCorrels.get(id); inFlight !== undefined; inFlight = this.pendingCorrels.get(id)) {
      if (inFlight.key === key) return inFlight.done;
      await inFlight.done.catch(() => undefined); // another key is being bound: decide once that is settled
    }
    this.assertOpen();
    const current = this.directory.keyOfCorrel(correlClass, object);
    if (current === key) return;
    if (current !== undefined) {
      throw new DirectoryError(
        'CORREL_CONFLICT',
        `${correlClass} object '${object}' is already bound to key '${current}'`,
      );
    }

    this.directory.bindCorrel(correlClass, object, key);
    const done = this.correlWriter(correlClass)
      .then((writer) => writer.append(formatCorrelRecord(object, key)))
      .then(
        () => {
          this.pendingCorrels.delete(id);
        },
        (err: Error) => {
          this.pendingCorrels.delete(id);
          this.directory.unbindCorrel(correlClass, object);
          throw new DirectoryError(
            'PERSIST_FAILED',
            `could not save ${correlClass} object '${object}' → key '${key}': ${err.message}`,
            { cause: err },
          );
        },
      );
    this.pendingCorrels.set(id, { key, done });
    return done;
  }

  /** The save files hold every binding, so memory is the whole answer. */
  async findCorrel(correlClass: string, object: string): Promise<string | undefined> {
    return this.lookupCorrel(correlClass, object);
  }

  /** The key a correl object is durably bound to; undefined when the class or object is unknown. */
  lookupCorrel(correlClass: string, object: string): string | undefined {
    if (this.pendingCorrels.has(`${correlClass}\n${object}`)) return undefined;
    return this.directory.keyOfCorrel(correlClass, object);
  }

  /**
   * Live reload: new libraries start empty (and so receive new keys first), weights and order change at once.
   * Throws DirectoryError('LIBRARY_IN_USE') and changes nothing when a removed library still owns keys.
   */
  setLibraries(libraries: readonly LibraryWeight[]): void {
    const weights = weightsOf(libraries);
    try {
      this.directory.setLibraries([...weights.keys()]);
    } catch (err) {
      throw new DirectoryError('LIBRARY_IN_USE', (err as Error).message.replace(/^Directory: /, ''), { cause: err });
    }
    this.weights = weights;
  }

  /** Save files are always there to write; a failed write is PERSIST_FAILED for that one binding. */
  state(): DirectoryState {
    return { kind: 'files', available: true, location: this.saveDir, lastError: null, since: this.openedAt };
  }

  stats(): DirectoryStats {
    return {
      keys: this.directory.size(),
      perLibrary: this.directory.perLibrary(),
      correlObjects: this.directory.correlCount(),
    };
  }

  /** Refuse new work, let the writes in flight finish, close the files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const inFlight = [...this.pendingKeys.values(), ...[...this.pendingCorrels.values()].map((p) => p.done)];
      await Promise.allSettled(inFlight);
      const writers = await Promise.allSettled(this.correlWriters.values());
      await Promise.all([
        this.core.close(),
        ...writers.map((w) => (w.status === 'fulfilled' ? w.value.close() : undefined)),
      ]);
    })();
    return this.closing;
  }

  private correlWriter(correlClass: string): Promise<SaveFileWriter> {
    let writer = this.correlWriters.get(correlClass);
    if (writer === undefined) {
      writer = SaveFileWriter.open(join(this.saveDir, correlSaveFileName(correlClass))).then(
        (opened) => {
          reportTightened(opened, this.log);
          return opened;
        },
        (err: unknown) => {
          this.correlWriters.delete(correlClass); // let a later bind try again
          throw err;
        },
      );
      this.correlWriters.set(correlClass, writer);
    }
    return writer;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new DirectoryError('CLOSED', 'the directory is closed');
  }
}

function assertValid(problem: string | undefined): void {
  if (problem !== undefined) throw new DirectoryError('INVALID_ARGUMENT', problem);
}

/** Weights by name, in config order; throws INVALID_CONFIG for an empty list, a repeated name or a bad weight. */
export function weightsOf(libraries: readonly LibraryWeight[]): Map<string, number> {
  if (libraries.length === 0) throw new DirectoryError('INVALID_CONFIG', 'no libraries are configured');
  const weights = new Map<string, number>();
  for (const { name, weight } of libraries) {
    if (!/^[\x21-\x7e]{1,64}$/.test(name)) {
      throw new DirectoryError('INVALID_CONFIG', `library name ${JSON.stringify(name)} cannot be written to a save file`);
    }
    if (weights.has(name)) throw new DirectoryError('INVALID_CONFIG', `library '${name}' is listed twice`);
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw new DirectoryError('INVALID_CONFIG', `library '${name}' has weight ${weight}; weights must be > 0`);
    }
    weights.set(name, weight);
  }
  return weights;
}

async function assertDirectory(saveDir: string): Promise<void> {
  try {
    if ((await stat(saveDir)).isDirectory()) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // A typo in save_dir must not silently start an empty directory and re-assign every customer.
    throw new DirectoryError('INVALID_CONFIG', `save directory ${saveDir} does not exist; create it (mode 0700)`);
  }
  throw new DirectoryError('INVALID_CONFIG', `save directory ${saveDir} is not a directory`);
}

function reportTightened(writer: SaveFileWriter, log: (msg: string) => void): void {
  if (writer.previousMode !== undefined) {
    log(`${writer.path} was mode ${writer.previousMode.toString(8).padStart(4, '0')}; changed it to 0600`);
  }
}
