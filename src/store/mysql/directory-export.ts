/**
 * `mysqlda -a directory-export`: the shared directory's tables as mysqlda's save files and state file, so that a
 * proxy (or mysqlda itself) can run on files again.
 *
 * One consistent snapshot of the tables (a read-only transaction) is written in primary-key order: mysqlda.save
 * by key bytes, each mysqlda.<class>.save by object bytes, so that the same tables always give the same bytes.
 * Each file is written to a temporary file, synced and renamed over the target, so a crash leaves the old file or
 * the new one. Non-empty save files and a state file already in the target directory are not overwritten unless
 * `force` is given.
 */
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type mysql from 'mysql2/promise';
import { StateFileWriter, type SavedState } from '../../backend/current-server-file.js';
import { DEFAULTS } from '../../config/schema.js';
import { classProblem, valueProblem } from '../../routing/identifiers.js';
import { CORE_SAVE_FILE, correlClassOfFileName, correlSaveFileName } from '../save-format.js';
import type { DirectoryClient, SqlConnection } from './directory-client.js';
import { TABLES } from './schema.js';
import { exportedLine, exportedTimestamp, savedLibraryOf } from './transfer-plan.js';

export interface ExportOptions {
  client: DirectoryClient;
  /** Created when missing. */
  targetDir: string;
  /** Overwrite non-empty save files and a state file. */
  force: boolean;
  /** Rows per read; default 10000. */
  pageSize?: number;
}

export interface ExportReport {
  keys: number;
  /** Objects per class. */
  aliases: Record<string, number>;
  states: number;
  files: string[];
  /** Rows that cannot be written as save-file records (skipped), stale files left in place. */
  warnings: string[];
  ms: number;
}

export class ExportRefusedError extends Error {
  override name = 'ExportRefusedError';
}

const DEFAULT_PAGE = 10_000;
const WRITE_CHUNK_CHARS = 1 << 20;

export async function exportDirectory(options: ExportOptions): Promise<ExportReport> {
  const started = performance.now();
  const { client, targetDir } = options;
  const pageSize = options.pageSize ?? DEFAULT_PAGE;
  await mkdir(targetDir, { recursive: true });
  const existing = await existingFiles(targetDir);
  const report: ExportReport = { keys: 0, aliases: {}, states: 0, files: [], warnings: [], ms: 0 };

  await client.run(async (connection) => {
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    try {
      const [classRows] = await connection.query<mysql.RowDataPacket[]>(`SELECT DISTINCT correl_class FROM ${TABLES.aliases} ORDER BY correl_class`);
      const classes = classRows.map((row) => text(row.correl_class)).filter((correlClass) => {
        const problem = classProblem(correlClass);
        if (problem !== undefined) report.warnings.push(`correl class '${correlClass}' cannot name a save file (${problem}): its objects are not exported`);
        return problem === undefined;
      });
      const state = await readState(connection, report);
      const targets = [CORE_SAVE_FILE, ...classes.map(correlSaveFileName), ...(state.size > 0 ? [DEFAULTS.stateFileName] : [])];
      refuseOverwrite(targetDir, existing, targets, options.force);

      const corePath = join(targetDir, CORE_SAVE_FILE);
      report.keys = await writeAtomically(corePath, (write) => writeKeys(connection, pageSize, write, report));
      report.files.push(corePath);
      for (const correlClass of classes) {
        const path = join(targetDir, correlSaveFileName(correlClass));
        report.aliases[correlClass] = await writeAtomically(path, (write) => writeAliases(connection, correlClass, pageSize, write, report));
        report.files.push(path);
      }
      if (state.size > 0) {
        const path = join(targetDir, DEFAULTS.stateFileName);
        let failure: Error | undefined;
        await new StateFileWriter(path, (error) => (failure = error)).write(state);
        if (failure) throw failure;
        report.states = state.size;
        report.files.push(path);
      }
      const stale = [...existing.keys()].filter((name) => !targets.includes(name) && existing.get(name)! > 0 && name !== DEFAULTS.stateFileName);
      for (const name of stale) report.warnings.push(`${join(targetDir, name)}: not in the directory, left as it was (delete it unless it belongs here)`);
    } finally {
      await connection.query('COMMIT').catch(() => undefined);
    }
  });
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** The save files and state file in `dir`, with their sizes. */
async function existingFiles(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const name of await readdir(dir)) {
    if (name !== CORE_SAVE_FILE && name !== DEFAULTS.stateFileName && correlClassOfFileName(name) === undefined) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) found.set(name, info.size);
  }
  return found;
}

function refuseOverwrite(dir: string, existing: ReadonlyMap<string, number>, targets: readonly string[], force: boolean): void {
  if (force) return;
  const inTheWay = [...existing].filter(([name, size]) => size > 0 && (targets.includes(name) || name !== DEFAULTS.stateFileName)).map(([name]) => join(dir, name));
  if (inTheWay.length > 0) {
    throw new ExportRefusedError(`${inTheWay.join(', ')} already exist${inTheWay.length === 1 ? 's' : ''} and ${inTheWay.length === 1 ? 'is' : 'are'} not empty: export into an empty directory (--to), or give --force to overwrite`);
  }
}

type Write = (chunk: string) => Promise<void>;

async function writeKeys(connection: SqlConnection, pageSize: number, write: Write, report: ExportReport): Promise<number> {
  let written = 0;
  let after: Buffer = Buffer.alloc(0);
  for (;;) {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT core_key, library, UNIX_TIMESTAMP(assigned_at) DIV 1 AS at FROM ${TABLES.keys} WHERE core_key > ? ORDER BY core_key LIMIT ?`,
      [after, pageSize],
    );
    if (rows.length === 0) return written;
    let chunk = '';
    for (const row of rows) {
      const key = text(row.core_key);
      const library = String(row.library);
      const problem = valueProblem(key, 'key') ?? (/^[^\s\u0000-\u001f\u007f]+$/u.test(library) ? undefined : 'library name is not a token');
      if (problem !== undefined) {
        report.warnings.push(`key ${JSON.stringify(key)}: ${problem}: not exported`);
        continue;
      }
      chunk += exportedLine(exportedTimestamp(Number(row.at)), key, library);
      written++;
    }
    await write(chunk);
    after = row0(rows[rows.length - 1].core_key);
  }
}

async function writeAliases(connection: SqlConnection, correlClass: string, pageSize: number, write: Write, report: ExportReport): Promise<number> {
  let written = 0;
  let after: Buffer = Buffer.alloc(0);
  const classBytes = Buffer.from(correlClass, 'utf8');
  for (;;) {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT correl_object, core_key, UNIX_TIMESTAMP(bound_at) DIV 1 AS at FROM ${TABLES.aliases}
        WHERE correl_class = ? AND correl_object > ? ORDER BY correl_object LIMIT ?`,
      [classBytes, after, pageSize],
    );
    if (rows.length === 0) return written;
    let chunk = '';
    for (const row of rows) {
      const object = text(row.correl_object);
      const key = text(row.core_key);
      const problem = valueProblem(object, 'object') ?? valueProblem(key, 'key');
      if (problem !== undefined) {
        report.warnings.push(`${correlClass} object ${JSON.stringify(object)}: ${problem}: not exported`);
        continue;
      }
      chunk += exportedLine(exportedTimestamp(Number(row.at)), object, key);
      written++;
    }
    await write(chunk);
    after = row0(rows[rows.length - 1].correl_object);
  }
}

async function readState(connection: SqlConnection, report: ExportReport): Promise<SavedState> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT library, current_server, servers, left_by_failover, UNIX_TIMESTAMP(since) * 1000 AS since_ms FROM ${TABLES.libraryState} ORDER BY library`,
  );
  const state: SavedState = new Map();
  for (const row of rows) {
    const saved = savedLibraryOf({
      currentServer: String(row.current_server),
      servers: String(row.servers),
      leftByFailover: String(row.left_by_failover),
      sinceMs: Math.round(Number(row.since_ms)),
    });
    if (saved && saved.servers.includes(saved.current)) state.set(String(row.library), saved);
    else report.warnings.push(`library state of '${row.library}' is malformed: not exported`);
  }
  return state;
}

/** Writes a file through `fill` into `<path>.export.tmp`, syncs it, renames it over `path` and syncs the directory. */
async function writeAtomically<T>(path: string, fill: (write: Write) => Promise<T>): Promise<T> {
  const temporary = `${path}.export.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  let result: T;
  try {
    let buffered = '';
    const flush = async () => {
      if (buffered.length > 0) await handle.write(buffered);
      buffered = '';
    };
    result = await fill(async (chunk) => {
      buffered += chunk;
      if (buffered.length >= WRITE_CHUNK_CHARS) await flush();
    });
    await flush();
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(temporary, path);
  await syncDirectory(dirname(path));
  return result;
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } finally {
    await handle?.close();
  }
}

function row0(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
