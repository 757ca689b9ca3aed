/**
 * `mysqlda -a directory-import`: mysqlda's save files (mysqlda.save, mysqlda.<class>.save) and its state file
 * (mysqlda.state.json) into the shared directory's tables. `-a directory-export` is in directory-export.ts.
 *
 * The files are read as the loader reads them, but never changed (a torn last line is imported when it is a whole
 * record, and skipped otherwise). Records go in by batches, each one transaction. Keys: one multi-row INSERT IGNORE
 * tagged with the batch (assigned_by); when it inserts fewer rows than it was given, the batch's keys are read
 * back, and the tag tells the rows this batch inserted from those that were there (or that a proxy inserted
 * meanwhile). When the previous batch found its keys there already, a batch reads its keys first and inserts only
 * the missing ones: a second run costs reads, not duplicate inserts. The counts of mysqlda_library_counts grow by what the batch inserted, in the same transaction, so
 * they stay what the keys say even with proxies assigning keys at the same time. Objects: the batch's keys and
 * objects are read first (FOR UPDATE), then the new bindings inserted; should a concurrent writer bind one of them
 * in between (on another Galera node, where row locks do not reach), the batch is rolled back and planned again.
 * A key the tables bind to another library, an object bound to another key, or an object of a key without a
 * library is a conflict: reported with its file and line, and not imported.
 *
 * Running it again changes nothing: every record is then already present.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import type mysql from 'mysql2/promise';
import { readSavedState, StateFileError } from '../../backend/current-server-file.js';
import { DEFAULTS } from '../../config/schema.js';
import { classProblem } from '../../routing/identifiers.js';
import { LineFile } from '../line-file.js';
import { CORE_SAVE_FILE, correlClassOfFileName, RecordReader } from '../save-format.js';
import type { DirectoryClient, SqlConnection } from './directory-client.js';
import { TABLES } from './schema.js';
import {
  addedPerLibrary, firstRecords, lineTimestamp, planAliasBatch, planKeyBatch, stateRows, storedTimestamp,
  type AliasRecord, type KeyRecord, type KeyRow,
} from './transfer-plan.js';

export { exportDirectory, type ExportOptions, type ExportReport, ExportRefusedError } from './directory-export.js';

export interface ImportOptions {
  /** The directory holding the save files and the state file. */
  saveDir: string;
  /** The configured libraries: keys of any other library are not imported. */
  libraries: readonly string[];
  client: DirectoryClient;
  /** Records per transaction; default 5000. */
  batchSize?: number;
}

export interface TransferCount {
  read: number;
  added: number;
  present: number;
}

export interface ImportReport {
  keys: TransferCount;
  aliases: TransferCount;
  states: { added: number; kept: number };
  /** Records not imported because the tables say otherwise, each as `file:line: why`. */
  conflicts: string[];
  /** Lines that are not records, keys of libraries not in the config, unreadable files. */
  problems: string[];
  warnings: string[];
  /** Libraries whose count did not match their keys and was set right at the end. */
  countsRepaired: string[];
  ms: number;
}

const DEFAULT_BATCH = 5000;
/** Who wrote the rows (mysqlda_keys.assigned_by, mysqlda_library_state.changed_by). */
const WRITER = `directory-import ${hostname().slice(0, 64)}`;

/** A batch that lost a race to a concurrent writer: rolled back and planned again (DirectoryClient retries 1213). */
class BatchRaced extends Error {
  readonly errno = 1213;
}

export async function importDirectory(options: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const { client, saveDir } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const report: ImportReport = {
    keys: { read: 0, added: 0, present: 0 },
    aliases: { read: 0, added: 0, present: 0 },
    states: { added: 0, kept: 0 },
    conflicts: [],
    problems: [],
    warnings: [],
    countsRepaired: [],
    ms: 0,
  };
  const names = await readdir(saveDir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the save directory ${saveDir}: ${err.code === 'ENOENT' ? 'no such directory' : err.message}`);
  });
  await client.ensureSchema();
  await client.run((connection) =>
    connection.query(`INSERT IGNORE INTO ${TABLES.counts} (library, key_count) VALUES ?`, [options.libraries.map((library) => [library, 0])]),
  );

  if (names.includes(CORE_SAVE_FILE)) await importKeys(join(saveDir, CORE_SAVE_FILE), options.libraries, client, batchSize, report);
  else report.warnings.push(`${join(saveDir, CORE_SAVE_FILE)} does not exist: no keys to import`);
  for (const name of names.sort()) {
    const correlClass = correlClassOfFileName(name);
    if (correlClass === undefined) continue;
    const problem = classProblem(correlClass);
    if (problem !== undefined) report.warnings.push(`${join(saveDir, name)}: ignored, ${problem}`);
    else await importAliases(join(saveDir, name), correlClass, client, batchSize, report);
  }
  await importState(join(saveDir, DEFAULTS.stateFileName), client, report);
  report.countsRepaired = await reconcileCounts(client);
  report.ms = Math.round(performance.now() - started);
  return report;
}

/**
 * Reads a save file's records into batches of `batchSize` and hands each full batch (and the last) to `flush`,
 * awaited between chunks of the file. Lines that are not records are reported; a torn last line is kept when it
 * is a whole record.
 */
async function readBatches<T>(
  path: string,
  reader: RecordReader,
  report: ImportReport,
  batchSize: number,
  toRecord: (first: string, second: string, line: number, at: string) => T | undefined,
  flush: (batch: T[]) => Promise<void>,
): Promise<void> {
  let lines: LineFile;
  try {
    lines = await LineFile.open(path);
  } catch (err) {
    report.problems.push(`${path}: cannot read: ${(err as Error).message}`);
    return;
  }
  let pending: T[] = [];
  let line = 0;
  let droppedDates = 0;
  const flushFull = async () => {
    while (pending.length >= batchSize) await flush(pending.splice(0, batchSize));
  };
  try {
    await lines.forEachLine((buf, start, end, _offset, torn) => {
      line++;
      const record = reader.readSpans(buf, start, end);
      if (!record.ok) {
        if (torn) report.warnings.push(`${path}:${line}: the last line is incomplete (interrupted write): skipped`);
        else if (!record.blank) report.problems.push(`${path}:${line}: ${record.message}`);
        return;
      }
      if (torn) report.warnings.push(`${path}:${line}: the last line has no newline (interrupted write); it is a whole record and imported`);
      const stamp = storedTimestamp(record.dated ? lineTimestamp(buf, start, end) : null);
      if (stamp.dropped) droppedDates++;
      const value = toRecord(reader.firstText(buf, record), reader.secondText(buf, record), line, stamp.at);
      if (value !== undefined) pending.push(value);
    }, flushFull);
    if (pending.length > 0) await flush(pending);
    pending = [];
  } finally {
    await lines.close();
  }
  if (droppedDates > 0) report.warnings.push(`${path}: ${droppedDates} date(s) outside what a TIMESTAMP holds (1970-2038) were stored as undated`);
}

async function importKeys(path: string, libraries: readonly string[], client: DirectoryClient, batchSize: number, report: ImportReport): Promise<void> {
  const configured = new Set(libraries);
  const unknown = new Map<string, { count: number; firstLine: number }>();
  const toRecord = (key: string, library: string, line: number, at: string): KeyRecord | undefined => {
    report.keys.read++;
    if (configured.has(library)) return { key, library, line, at };
    const seen = unknown.get(library);
    if (seen) seen.count++;
    else unknown.set(library, { count: 1, firstLine: line });
    return undefined;
  };
  // With the batch number, mysqlda_keys.assigned_by of what a batch inserts: tells its rows from any other's.
  const run = randomUUID().slice(0, 13);
  let batches = 0;
  let readFirst = false;
  await readBatches(path, new RecordReader('core', libraries), report, batchSize, toRecord, async (batch) => {
    const tag = `${WRITER} ${run} #${++batches}`;
    const plan = await client.transaction((connection) => insertKeys(connection, path, batch, tag, readFirst));
    // Duplicates are costly for INSERT IGNORE (a warning each): a file mostly imported already is read first.
    readFirst = plan.present > plan.inserts.length;
    report.keys.added += plan.inserts.length;
    report.keys.present += plan.present;
    report.conflicts.push(...plan.conflicts);
  });
  for (const [library, { count, firstLine }] of unknown) {
    report.problems.push(
      `${path}:${firstLine}: library '${library}' is not in the config (configured: ${libraries.join(', ')}); ${count} line(s) of this file assign keys to it: not imported`,
    );
  }
}

/**
 * One batch of keys. When the previous batch found its keys there already (`readFirst`, e.g. a second run), the
 * batch's keys are read first and only the missing ones inserted; otherwise they are inserted straight away. The
 * INSERT IGNORE is tagged with the batch's own `assigned_by`: when it inserts fewer rows than it was given, those
 * keys are read back, and the tag tells the rows this batch inserted from the ones another writer put there.
 */
async function insertKeys(connection: SqlConnection, path: string, batch: KeyRecord[], tag: string, readFirst: boolean) {
  await connection.query("SET time_zone = '+00:00'");
  const rows = new Map<string, KeyRow>();
  let candidates = firstRecords(batch);
  if (readFirst) {
    for (const [key, library] of await readKeyRows(connection, candidates, null)) rows.set(key, { library, insertedByBatch: false });
    candidates = candidates.filter((record) => !rows.has(record.key));
  }
  if (candidates.length > 0) {
    const [result] = await connection.query<mysql.ResultSetHeader>(
      `INSERT IGNORE INTO ${TABLES.keys} (core_key, library, assigned_at, assigned_by) VALUES ?`,
      [candidates.map((record) => [bytes(record.key), record.library, record.at, tag])],
    );
    if (result.affectedRows === candidates.length) {
      for (const record of candidates) rows.set(record.key, { library: record.library, insertedByBatch: true });
    } else {
      for (const [key, row] of await readKeyRows(connection, candidates, tag)) rows.set(key, row);
    }
  }
  const plan = planKeyBatch(path, batch, rows);
  if (plan.inserts.length > 0) {
    await connection.query(
      `INSERT INTO ${TABLES.counts} (library, key_count) VALUES ? ON DUPLICATE KEY UPDATE key_count = key_count + VALUES(key_count)`,
      [[...addedPerLibrary(plan.inserts)]],
    );
  }
  return plan;
}

/** The rows of the records' keys; with a tag, whether each was inserted under it (read with a lock: the latest). */
async function readKeyRows(connection: SqlConnection, records: readonly KeyRecord[], tag: string): Promise<Map<string, KeyRow>>;
async function readKeyRows(connection: SqlConnection, records: readonly KeyRecord[], tag: null): Promise<Map<string, string>>;
async function readKeyRows(connection: SqlConnection, records: readonly KeyRecord[], tag: string | null): Promise<Map<string, KeyRow> | Map<string, string>> {
  const keys = records.map((record) => bytes(record.key));
  if (tag === null) {
    const [read] = await connection.query<mysql.RowDataPacket[]>(`SELECT core_key, library FROM ${TABLES.keys} WHERE core_key IN (?)`, [keys]);
    return new Map(read.map((row) => [text(row.core_key), String(row.library)]));
  }
  const [read] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT core_key, library, assigned_by = ? AS mine FROM ${TABLES.keys} WHERE core_key IN (?) LOCK IN SHARE MODE`,
    [tag, keys],
  );
  return new Map(read.map((row) => [text(row.core_key), { library: String(row.library), insertedByBatch: Number(row.mine) === 1 }]));
}

async function importAliases(path: string, correlClass: string, client: DirectoryClient, batchSize: number, report: ImportReport): Promise<void> {
  const toRecord = (object: string, key: string, line: number, at: string): AliasRecord => {
    report.aliases.read++;
    return { object, key, line, at };
  };
  await readBatches(path, new RecordReader('correl'), report, batchSize, toRecord, async (batch) => {
    const plan = await client.transaction((connection) => insertAliases(connection, path, correlClass, batch));
    report.aliases.added += plan.inserts.length;
    report.aliases.present += plan.present;
    report.conflicts.push(...plan.conflicts);
  });
}

async function insertAliases(connection: SqlConnection, path: string, correlClass: string, batch: AliasRecord[]) {
  await connection.query("SET time_zone = '+00:00'");
  const [keyRows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT core_key FROM ${TABLES.keys} WHERE core_key IN (?) LOCK IN SHARE MODE`,
    [distinct(batch.map((record) => record.key)).map(bytes)],
  );
  const [aliasRows] = await connection.query<mysql.RowDataPacket[]>(
    `SELECT correl_object, core_key FROM ${TABLES.aliases} WHERE correl_class = ? AND correl_object IN (?) FOR UPDATE`,
    [bytes(correlClass), distinct(batch.map((record) => record.object)).map(bytes)],
  );
  const knownKeys = new Set(keyRows.map((row) => text(row.core_key)));
  const bound = new Map(aliasRows.map((row) => [text(row.correl_object), text(row.core_key)]));
  const plan = planAliasBatch(path, batch, knownKeys, bound);
  if (plan.inserts.length === 0) return plan;
  const [result] = await connection.query<mysql.ResultSetHeader>(
    `INSERT IGNORE INTO ${TABLES.aliases} (correl_class, correl_object, core_key, bound_at) VALUES ?`,
    [plan.inserts.map((record) => [bytes(correlClass), bytes(record.object), bytes(record.key), record.at])],
  );
  if (result.affectedRows !== plan.inserts.length) throw new BatchRaced('another writer bound objects of this batch');
  return plan;
}

/** mysqlda.state.json: a row (epoch 1) for each library that has none; a library with a row keeps it. */
async function importState(path: string, client: DirectoryClient, report: ImportReport): Promise<void> {
  let rows;
  try {
    rows = stateRows(await readSavedState(path));
  } catch (err) {
    if (!(err instanceof StateFileError)) throw err;
    report.problems.push(err.message);
    return;
  }
  if (rows.length === 0) return;
  const added = await client.transaction(async (connection) => {
    await connection.query("SET time_zone = '+00:00'");
    const [result] = await connection.query<mysql.ResultSetHeader>(
      `INSERT IGNORE INTO ${TABLES.libraryState} (library, current_server, servers, left_by_failover, epoch, since, changed_by) VALUES ?`,
      [rows.map((row) => [row.library, row.currentServer, row.servers, row.leftByFailover, 1, row.since, WRITER])],
    );
    return result.affectedRows;
  });
  report.states.added += added;
  report.states.kept += rows.length - added;
}

/**
 * Sets each library's count to its keys where they differ (a directory filled by other means, or counts lost).
 * The counts are read FOR UPDATE first: a proxy assigning a key waits for them, so nothing is counted twice.
 */
async function reconcileCounts(client: DirectoryClient): Promise<string[]> {
  return client.transaction(async (connection) => {
    const [countRows] = await connection.query<mysql.RowDataPacket[]>(`SELECT library, key_count FROM ${TABLES.counts} FOR UPDATE`);
    const [keyRows] = await connection.query<mysql.RowDataPacket[]>(`SELECT library, COUNT(*) AS n FROM ${TABLES.keys} GROUP BY library`);
    const counted = new Map(countRows.map((row) => [String(row.library), Number(row.key_count)]));
    const wrong = keyRows
      .map((row) => [String(row.library), Number(row.n)] as [string, number])
      .filter(([library, n]) => counted.get(library) !== n);
    const keyed = new Set(keyRows.map((row) => String(row.library)));
    for (const [library, n] of counted) if (n !== 0 && !keyed.has(library)) wrong.push([library, 0]);
    if (wrong.length > 0) {
      await connection.query(
        `INSERT INTO ${TABLES.counts} (library, key_count) VALUES ? ON DUPLICATE KEY UPDATE key_count = VALUES(key_count)`,
        [wrong],
      );
    }
    return wrong.map(([library, n]) => `${library}: ${counted.get(library) ?? 'none'} → ${n}`);
  });
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

function bytes(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
