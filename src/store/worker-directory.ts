/**
 * A worker's key directory when the save files belong to another process of the same machine (server.workers > 1):
 * every answer the owner gives is kept in memory — an assignment never changes — and only what is not known yet
 * is asked for. When the owner cannot be asked, known keys still route and new ones fail with UNAVAILABLE.
 *
 * Concurrent first sights of one key within this worker share one question; the owner makes first sights across
 * workers share one assignment.
 */
import { errorOfAnswer, type DirectoryAnswer, type DirectoryAsk } from './directory-asks.js';
import { DirectoryError, type DirectoryState, type DirectoryStats, type KeyDirectory, type LibraryWeight } from './key-directory.js';

/** How a worker reaches the owner of the save files. */
export interface DirectoryOwnerLink {
  /** Rejects when the owner cannot be asked (gone, or no answer in time). */
  ask(ask: DirectoryAsk): Promise<DirectoryAnswer>;
  /** Whether the channel to the owner is open. */
  connected(): boolean;
  /** For status: "primary pid 1234". */
  readonly location: string;
}

export class WorkerDirectory implements KeyDirectory {
  private readonly keys = new Map<string, string>();
  /** Keyed by `${class}\n${object}` (neither may contain a newline). */
  private readonly correls = new Map<string, string>();
  private readonly pendingKeys = new Map<string, Promise<string>>();
  private libraries: string[];
  private closed = false;
  private lastError: string | null = null;
  private available = true;
  private since = Date.now();

  constructor(
    private readonly owner: DirectoryOwnerLink,
    libraries: readonly LibraryWeight[],
  ) {
    this.libraries = libraries.map((library) => library.name);
  }

  async resolveKey(key: string): Promise<{ library: string; isNew: boolean }> {
    this.assertOpen();
    const known = this.keys.get(key);
    if (known !== undefined) return { library: known, isNew: false };
    const pending = this.pendingKeys.get(key);
    if (pending !== undefined) return { library: await pending, isNew: false };
    let isNew = false;
    const asked = this.ask({ op: 'resolve-key', key }).then((answer) => {
      if (answer.op !== 'resolve-key') throw unexpected(answer.op);
      this.keys.set(key, answer.library);
      isNew = answer.isNew;
      return answer.library;
    });
    this.pendingKeys.set(key, asked);
    try {
      return { library: await asked, isNew };
    } finally {
      this.pendingKeys.delete(key);
    }
  }

  lookupKey(key: string): string | undefined {
    return this.keys.get(key);
  }

  async findCorrel(correlClass: string, object: string): Promise<string | undefined> {
    this.assertOpen();
    const known = this.lookupCorrel(correlClass, object);
    if (known !== undefined) return known;
    const answer = await this.ask({ op: 'find-correl', correlClass, object });
    if (answer.op !== 'find-correl') throw unexpected(answer.op);
    // Only a binding is kept: an unbound object may be bound by another worker at any moment.
    if (answer.key !== null) this.correls.set(`${correlClass}\n${object}`, answer.key);
    return answer.key ?? undefined;
  }

  lookupCorrel(correlClass: string, object: string): string | undefined {
    return this.correls.get(`${correlClass}\n${object}`);
  }

  async bindCorrel(correlClass: string, object: string, key: string): Promise<void> {
    this.assertOpen();
    if (this.lookupCorrel(correlClass, object) === key) return;
    const answer = await this.ask({ op: 'bind-correl', correlClass, object, key });
    if (answer.op !== 'bind-correl') throw unexpected(answer.op);
    this.correls.set(`${correlClass}\n${object}`, key);
  }

  /** The owner checks and applies the library list on its own reload; this worker only labels its counts. */
  setLibraries(libraries: readonly LibraryWeight[]): void {
    this.libraries = libraries.map((library) => library.name);
  }

  /** What this worker has seen: the owner's stats are the whole directory's. */
  stats(): DirectoryStats {
    const perLibrary: Record<string, number> = Object.fromEntries(this.libraries.map((name) => [name, 0]));
    for (const library of this.keys.values()) perLibrary[library] = (perLibrary[library] ?? 0) + 1;
    return { keys: this.keys.size, perLibrary, correlObjects: this.correls.size };
  }

  state(): DirectoryState {
    const available = this.owner.connected() && this.available;
    return { kind: 'worker', available, location: this.owner.location, lastError: this.lastError, since: this.since };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The owner's answer, or the DirectoryError it stands for; UNAVAILABLE when the owner cannot be asked. */
  private async ask(ask: DirectoryAsk): Promise<Extract<DirectoryAnswer, { ok: true }>> {
    let answer: DirectoryAnswer;
    try {
      answer = await this.owner.ask(ask);
    } catch (error) {
      const reason = `the save files' owner (${this.owner.location}) cannot be asked: ${error instanceof Error ? error.message : String(error)}`;
      this.noteAvailable(false, reason);
      throw new DirectoryError('UNAVAILABLE', reason, { cause: error });
    }
    this.noteAvailable(true, this.lastError);
    if (!answer.ok) throw errorOfAnswer(answer);
    return answer;
  }

  private noteAvailable(available: boolean, lastError: string | null): void {
    if (available !== this.available) this.since = Date.now();
    this.available = available;
    this.lastError = lastError;
  }

  private assertOpen(): void {
    if (this.closed) throw new DirectoryError('CLOSED', 'the directory is closed');
  }
}

function unexpected(op: string): DirectoryError {
  return new DirectoryError('UNAVAILABLE', `the save files' owner answered a different question (${op})`);
}
