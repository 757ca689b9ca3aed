/**
 * Load mysqlda's save files into a Directory: tolerant of what a crash can leave behind, strict about everything
 * that would route a customer to the wrong library.
 *
 * - `<saveDir>/mysqlda.save` first, then every `<saveDir>/mysqlda.<class>.save` (class = [A-Za-z0-9_-]+; names such
 *   as `mysqlda.x.save.bak` are ignored, unlike mysqlda which loaded them and then refused to start).
 * - A torn last line (no final newline: a crash in the middle of a write) is kept when it is a complete, consistent
 *   record (the missing newline is then added) and cut off otherwise. Both are reported as warnings. This repair
 *   happens only when the whole load succeeds, so a file that is refused is left exactly as it was.
 * - Every other malformed or contradictory line is an error naming `file:line`; all of them are collected and
 *   thrown together as one SaveFileError, on which the daemon refuses to start.
 *
 * Files are read line by line through one reused buffer (LineFile) and keys go into the directory as bytes: a
 * million-line file costs no string per line and no copy of the whole file.
 */

import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Directory } from '../routing/directory.js';
import { classProblem } from '../routing/identifiers.js';
import { LineFile } from './line-file.js';
import { CORE_SAVE_FILE, correlClassOfFileName, RecordReader, type RecordSpans } from './save-format.js';

export class SaveFileError extends Error {
  constructor(
    readonly saveDir: string,
    /** Every problem found, each as `file:line: what is wrong`. */
    readonly problems: readonly string[],
  ) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
    const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
    super(
      `cannot load the save files in ${saveDir} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ` +
        shown.join('\n  ') + more,
    );
    this.name = 'SaveFileError';
  }
}

export interface LoadResult {
  directory: Directory;
  /** Things that were tolerated or repaired, for the log. */
  warnings: string[];
  stats: { keys: number; correls: number; ms: number };
}

const MAX_PROBLEMS_SHOWN = 50;

/** A change to make to a file once the load as a whole has succeeded. */
type Repair = { path: string; action: 'append-newline' } | { path: string; action: 'truncate'; length: number };

/** Where a file's lines are reported. */
interface Report {
  errors: string[];
  warnings: string[];
  repairs: Repair[];
}

export async function loadSaveFiles(saveDir: string, libraryNames: readonly string[]): Promise<LoadResult> {
  const started = performance.now();
  const directory = new Directory(libraryNames);
  const report: Report = { errors: [], warnings: [], repairs: [] };

  const names = await readdir(saveDir); // a missing directory is the caller's error to report
  const corePath = join(saveDir, CORE_SAVE_FILE);
  if (names.includes(CORE_SAVE_FILE)) {
    await loadFile(corePath, report, (file) => loadCoreFile(file, directory, report));
  } else {
    report.warnings.push(`${corePath} does not exist: starting with no keys`);
  }

  for (const name of names.sort()) {
    const correlClass = correlClassOfFileName(name);
    if (correlClass === undefined) continue;
    const path = join(saveDir, name);
    const problem = classProblem(correlClass);
    if (problem !== undefined) {
      report.warnings.push(`${path}: ignored, ${problem}`);
      continue;
    }
    await loadFile(path, report, (file) => loadCorrelFile(file, correlClass, directory, report));
  }

  if (report.errors.length > 0) throw new SaveFileError(saveDir, report.errors);
  for (const repair of report.repairs) await applyRepair(repair);
  return {
    directory,
    warnings: report.warnings,
    stats: { keys: directory.size(), correls: directory.correlCount(), ms: Math.round(performance.now() - started) },
  };
}

/** One save file being loaded. */
interface OpenFile {
  path: string;
  lines: LineFile;
}

async function loadFile(path: string, report: Report, load: (file: OpenFile) => Promise<void>): Promise<void> {
  let lines: LineFile;
  try {
    lines = await LineFile.open(path);
  } catch (err) {
    report.errors.push(`${path}: cannot read: ${(err as Error).message}`);
    return;
  }
  try {
    await load({ path, lines });
  } catch (err) {
    // Records are judged, never thrown: what fails here is reading (a system error, with its code) or a full
    // directory, and either way the file was not loaded whole.
    const what = (err as NodeJS.ErrnoException).code === undefined ? 'cannot load' : 'cannot read';
    report.errors.push(`${path}: ${what}: ${(err as Error).message}`);
  } finally {
    await lines.close();
  }
}

/** What applying one record did. */
type Outcome = 'added' | 'repeated' | 'rejected';

/** Lines read before the tables are sized for the whole file: a few hundred KB, as a file's first keys are often shorter. */
const SAMPLE_LINES = 10_000;

/**
 * Walk the records of one file. `apply` handles a record that parsed (and reports its own errors); this function
 * handles syntax errors, blank lines and the torn last line. After the first lines it tells `expect` about how
 * many records the file holds and how many bytes their first values take, so the directory sizes its tables once
 * instead of doubling them through a million keys. The buffer and spans passed to `apply` are reused for the next
 * line.
 */
async function forEachRecord(
  { path, lines }: OpenFile,
  reader: RecordReader,
  report: Report,
  expect: (records: number, firstBytes: number) => void,
  apply: (buf: Buffer, record: RecordSpans, line: number, torn: boolean) => Outcome,
): Promise<void> {
  let repeated = 0;
  let firstRepeat = 0;
  let blank = 0;
  let line = 0;
  let sampledBytes = 0;
  let sampledFirstBytes = 0;
  await lines.forEachLine((buf, start, end, offset, torn) => {
    line++;
    const record = reader.readSpans(buf, start, end);
    if (line <= SAMPLE_LINES) {
      sampledBytes += end + 1 - start;
      if (record.ok) sampledFirstBytes += record.firstEnd - record.firstStart;
      if (line === SAMPLE_LINES) {
        const records = Math.ceil((lines.size / sampledBytes) * SAMPLE_LINES * 1.02);
        expect(records, Math.ceil((records * sampledFirstBytes) / SAMPLE_LINES));
      }
    }
    if (torn) {
      const kept = record.ok && apply(buf, record, line, true) !== 'rejected';
      if (kept) {
        report.repairs.push({ path, action: 'append-newline' });
        report.warnings.push(`${path}:${line}: the last line has no newline (interrupted write); it is complete and kept`);
      } else {
        report.repairs.push({ path, action: 'truncate', length: offset });
        const why = record.ok ? 'it does not apply (unknown library or key, or a contradicting binding)' : record.message;
        report.warnings.push(`${path}:${line}: the last line is incomplete (interrupted write) and is removed: ${why}`);
      }
      return;
    }
    if (!record.ok) {
      if (record.blank) blank++;
      else report.errors.push(`${path}:${line}: ${record.message}`);
    } else if (apply(buf, record, line, false) === 'repeated' && repeated++ === 0) {
      firstRepeat = line;
    }
  });
  if (repeated > 0) {
    report.warnings.push(
      `${path}: ${repeated} line(s) repeat an existing binding (harmless; first at line ${firstRepeat})`,
    );
  }
  if (blank > 0) report.warnings.push(`${path}: ${blank} blank line(s) ignored`);
}

async function loadCoreFile(file: OpenFile, directory: Directory, report: Report): Promise<void> {
  const { path } = file;
  const unknown = new Map<string, { count: number; firstLine: number }>();
  const conflicts: { key: string; line: number; library: string; previous: string }[] = [];
  const configured = directory.libraries();
  const reader = new RecordReader('core', configured);
  const ids = configured.map((library) => directory.libraryId(library));
  const reserve = (keys: number, keyBytes: number) => directory.reserveKeys(keys, keyBytes);
  await forEachRecord(file, reader, report, reserve, (buf, record, line, torn) => {
    const known = reader.knownIndex(buf, record);
    if (known === -1) {
      if (torn) return 'rejected';
      const library = reader.secondText(buf, record);
      const seen = unknown.get(library);
      if (seen === undefined) unknown.set(library, { count: 1, firstLine: line });
      else seen.count++;
      return 'rejected';
    }
    const outcome = directory.putBytes(buf, record.firstStart, record.firstEnd, ids[known]);
    if (typeof outcome === 'string') return outcome;
    if (!torn) conflicts.push({ key: reader.firstText(buf, record), line, library: configured[known], previous: outcome.boundTo });
    return 'rejected';
  });

  for (const [library, { count, firstLine }] of unknown) {
    report.errors.push(
      `${path}:${firstLine}: library '${library}' is not in the config (configured: ${configured.join(', ')}); ` +
        `${count} line(s) of this file assign keys to it`,
    );
  }
  if (conflicts.length > 0) {
    const firstLines = await firstOccurrences(file, reader, new Set(conflicts.map((c) => c.key)));
    for (const c of conflicts) {
      report.errors.push(
        `${path}:${c.line}: key '${c.key}' is assigned to library '${c.library}' here but to '${c.previous}' ` +
          `at line ${firstLines.get(c.key)}`,
      );
    }
  }
}

async function loadCorrelFile(file: OpenFile, correlClass: string, directory: Directory, report: Report): Promise<void> {
  const { path } = file;
  const conflicts: { object: string; line: number; key: string; previous: string }[] = [];
  const reader = new RecordReader('correl');
  const reserve = (objects: number, objectBytes: number) => directory.reserveCorrels(correlClass, objects, objectBytes);
  await forEachRecord(file, reader, report, reserve, (buf, record, line, torn) => {
    const outcome = directory.bindCorrelBytes(correlClass, buf, record.firstStart, record.firstEnd, record.secondStart, record.secondEnd);
    if (outcome === 'unknown-key') {
      if (!torn) {
        const [object, key] = [reader.firstText(buf, record), reader.secondText(buf, record)];
        report.errors.push(`${path}:${line}: key '${key}' of object '${object}' has no library in ${CORE_SAVE_FILE}`);
      }
      return 'rejected';
    }
    if (typeof outcome === 'string') return outcome;
    if (!torn) conflicts.push({ object: reader.firstText(buf, record), line, key: reader.secondText(buf, record), previous: outcome.boundTo });
    return 'rejected';
  });

  if (conflicts.length > 0) {
    const firstLines = await firstOccurrences(file, reader, new Set(conflicts.map((c) => c.object)));
    for (const c of conflicts) {
      report.errors.push(
        `${path}:${c.line}: object '${c.object}' is bound to key '${c.key}' here but to key '${c.previous}' ` +
          `at line ${firstLines.get(c.object)}`,
      );
    }
  }
}

/** Line numbers of the first records whose first field is in `wanted` (only needed to word errors). */
async function firstOccurrences({ lines }: OpenFile, reader: RecordReader, wanted: ReadonlySet<string>): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let line = 0;
  await lines.forEachLine((buf, start, end) => {
    line++;
    if (found.size === wanted.size) return;
    const record = reader.readSpans(buf, start, end);
    if (!record.ok) return;
    const first = reader.firstText(buf, record);
    if (wanted.has(first) && !found.has(first)) found.set(first, line);
  });
  return found;
}

async function applyRepair(repair: Repair): Promise<void> {
  const handle = await open(repair.path, repair.action === 'append-newline' ? 'a' : 'r+');
  try {
    if (repair.action === 'append-newline') await handle.write('\n');
    else await handle.truncate(repair.length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
