/**
 * mysqlda.state.json in the save directory: the current server of each library, with the server list it was
 * chosen from, so that a library that failed over stays on its new server across a restart of the daemon.
 * Written whole to a temporary file, synced, then renamed over the old one (0600), so a crash leaves either
 * the old or the new state, never a torn one.
 *
 * `left_by_failover` (per library, host:port → ISO 8601 time) came later and is optional: a file without it loads
 * as "no server left", and it is written only when a library has left a server, so older readers (which ignore
 * unknown fields) still load the file.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface SavedLibrary {
  current: string;
  /** The failover list (host:port, in order) when `current` was chosen. */
  servers: string[];
  /** When the library moved to `current` (ISO 8601). */
  since: string;
  /** Servers the library left by failover (host:port → when, ISO 8601): not failover candidates until failed back to. */
  leftByFailover: Map<string, string>;
}

export type SavedState = Map<string, SavedLibrary>;

const VERSION = 1;

export class StateFileError extends Error {
  override name = 'StateFileError';
}

/** The saved state; empty when the file does not exist. Throws StateFileError when it exists but cannot be used. */
export async function readSavedState(file: string): Promise<SavedState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StateFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const problem = (why: string) =>
    new StateFileError(
      `${file} ${why}. It records the server each library failed over to; fix it, or delete it to start every library at its first server`,
    );
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw problem(`is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(document) || document.version !== VERSION || !isObject(document.libraries)) {
    throw problem(`is not a version ${VERSION} state file`);
  }
  const state: SavedState = new Map();
  for (const [name, entry] of Object.entries(document.libraries)) {
    if (!isSavedLibrary(entry)) throw problem(`has a malformed entry for library ${JSON.stringify(name)}`);
    const left = entry.left_by_failover ?? {};
    state.set(name, { current: entry.current, servers: [...entry.servers], since: entry.since, leftByFailover: new Map(Object.entries(left)) });
  }
  return state;
}

/** Writes are serialized and coalesced: while one is in flight, only the latest state waits for its turn. */
export class StateFileWriter {
  private writing: Promise<void> = Promise.resolve();
  private queued: SavedState | null = null;

  constructor(
    readonly file: string,
    private readonly onError: (error: Error) => void,
  ) {}

  write(state: SavedState): Promise<void> {
    const startNow = this.queued === null;
    this.queued = new Map(state);
    if (startNow) {
      this.writing = this.writing.then(async () => {
        const latest = this.queued!;
        this.queued = null;
        try {
          await writeAtomically(this.file, serialize(latest));
        } catch (err) {
          this.onError(err as Error);
        }
      });
    }
    return this.writing;
  }

  /** Resolves once every write asked for so far is on disk (or has failed and been reported). */
  flush(): Promise<void> {
    return this.writing;
  }
}

function serialize(state: SavedState): string {
  const libraries = Object.fromEntries(
    [...state.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, { current, servers, since, leftByFailover }]) => [
        name,
        leftByFailover.size === 0 ? { current, servers, since } : { current, servers, since, left_by_failover: Object.fromEntries(leftByFailover) },
      ]),
  );
  return `${JSON.stringify({ version: VERSION, libraries }, null, 2)}\n`;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  const directory = await open(path.dirname(file), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface SavedLibraryDocument {
  current: string;
  servers: string[];
  since: string;
  left_by_failover?: Record<string, string>;
}

function isSavedLibrary(value: unknown): value is SavedLibraryDocument {
  return (
    isObject(value) &&
    typeof value.current === 'string' &&
    typeof value.since === 'string' &&
    Array.isArray(value.servers) &&
    value.servers.every((server) => typeof server === 'string') &&
    value.servers.includes(value.current) &&
    (value.left_by_failover === undefined ||
      (isObject(value.left_by_failover) && Object.values(value.left_by_failover).every((when) => typeof when === 'string')))
  );
}
