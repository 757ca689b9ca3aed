/**
 * The failover state of one process in mysqlda.state.json (current-server-file.ts). This process is the only
 * writer, so a compare-and-set is decided in memory at once and the file follows (written whole, coalesced).
 * Epochs live in memory only: every library loaded from the file starts at epoch 1, and the file's format stays
 * what older versions read.
 */
import path from 'node:path';
import { readSavedState, StateFileWriter, type SavedLibrary, type SavedState } from './current-server-file.js';
import type { CasResult, FailoverStateStore, StoredLibraryState } from './failover-state-store.js';

export class FileStateStore implements FailoverStateStore {
  private readonly writer: StateFileWriter;

  /** Reads the file (StateFileError when it exists but cannot be used). */
  static async open(file: string, onWriteError: (error: Error) => void): Promise<FileStateStore> {
    const saved = await readSavedState(file);
    const state = new Map([...saved].map(([name, library]) => [name, { ...library, epoch: 1 }]));
    return new FileStateStore(file, state, onWriteError);
  }

  static fileIn(saveDir: string, fileName: string): string {
    return path.join(saveDir, fileName);
  }

  private constructor(
    readonly file: string,
    private readonly state: Map<string, StoredLibraryState>,
    onWriteError: (error: Error) => void,
  ) {
    this.writer = new StateFileWriter(file, onWriteError);
  }

  load(): Promise<Map<string, StoredLibraryState>> {
    return Promise.resolve(new Map([...this.state].map(([name, library]) => [name, copy(library)])));
  }

  compareAndSet(library: string, expectedEpoch: number, next: StoredLibraryState): Promise<CasResult> {
    return Promise.resolve(this.compareAndSetNow(library, expectedEpoch, next));
  }

  compareAndSetNow(library: string, expectedEpoch: number, next: StoredLibraryState): CasResult {
    const stored = this.state.get(library) ?? null;
    if ((stored?.epoch ?? 0) !== expectedEpoch) return { won: false, state: stored && copy(stored) };
    const written = { ...copy(next), epoch: expectedEpoch + 1 };
    this.state.set(library, written);
    void this.persist();
    return { won: true, state: copy(written) };
  }

  forget(libraries: readonly string[]): void {
    const kept = new Set(libraries);
    let changed = false;
    for (const name of [...this.state.keys()]) {
      if (kept.has(name)) continue;
      this.state.delete(name);
      changed = true;
    }
    if (changed) void this.persist();
  }

  available(): boolean {
    return true;
  }

  describe(): { kind: 'files'; location: string; lastError: null } {
    return { kind: 'files', location: this.file, lastError: null };
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.flush();
  }

  private persist(): Promise<void> {
    const saved: SavedState = new Map<string, SavedLibrary>();
    for (const [name, { current, servers, since, leftByFailover }] of this.state) saved.set(name, { current, servers, since, leftByFailover });
    return this.writer.write(saved);
  }
}

function copy(state: StoredLibraryState): StoredLibraryState {
  return { ...state, servers: [...state.servers], leftByFailover: new Map(state.leftByFailover) };
}
