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
 * The whole file is read into one Buffer and scanned in place; keys are decoded into fresh strings, so the Buffer
 * is garbage once loading is done.
 */

import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Directory } from '../routing/directory.js';
import { classProblem } from '../routing/identifiers.js';
import { CORE_SAVE_FILE, correlClassOfFileName, RecordReader } from './save-format.js';

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
    const buf = await readOrReport(corePath, report);
    if (buf !== undefined) loadCoreFile(corePath, buf, directory, report);
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
    const buf = await readOrReport(path, report);
    if (buf !== undefined) loadCorrelFile(path, buf, correlClass, directory, report);
  }

  if (report.errors.length > 0) throw new SaveFileError(saveDir, report.errors);
  for (const repair of report.repairs) await applyRepair(repair);
  return {
    directory,
    warnings: report.warnings,
    stats: { keys: directory.size(), correls: directory.correlCount(), ms: Math.round(performance.now() - started) },
  };
}

async function readOrReport(path: string, report: Report): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    report.errors.push(`${path}: cannot read: ${(err as Error).message}`);
    return undefined;
  }
}

/** What applying one record did. */
type Outcome = 'added' | 'repeated' | 'rejected';

/**
 * Walk the lines of one file. `apply` handles a record that parsed (and reports its own errors); this function
 * handles syntax errors, blank lines and the torn last line.
 */
function forEachRecord(
  path: string,
  buf: Buffer,
  reader: RecordReader,
  report: Report,
  apply: (first: string, second: string, line: number, torn: boolean) => Outcome,
): void {
  let repeated = 0;
  let firstRepeat = 0;
  let blank = 0;
  let line = 0;
  for (let pos = 0; pos < buf.length; ) {
    line++;
    const newline = buf.indexOf(0x0a, pos);
    const torn = newline === -1;
    const end = torn ? buf.length : newline;
    const record = reader.read(buf, pos, end);
    if (torn) {
      const kept = record.ok && apply(record.first, record.second, line, true) !== 'rejected';
      if (kept) {
        report.repairs.push({ path, action: 'append-newline' });
        report.warnings.push(`${path}:${line}: the last line has no newline (interrupted write); it is complete and kept`);
      } else {
        report.repairs.push({ path, action: 'truncate', length: pos });
        const why = record.ok ? 'it does not apply (unknown library or key, or a contradicting binding)' : record.message;
        report.warnings.push(`${path}:${line}: the last line is incomplete (interrupted write) and is removed: ${why}`);
      }
      break;
    }
    if (!record.ok) {
      if (record.blank) blank++;
      else report.errors.push(`${path}:${line}: ${record.message}`);
    } else if (apply(record.first, record.second, line, false) === 'repeated' && repeated++ === 0) {
      firstRepeat = line;
    }
    pos = end + 1;
  }
  if (repeated > 0) {
    report.warnings.push(
      `${path}: ${repeated} line(s) repeat an existing binding (harmless; first at line ${firstRepeat})`,
    );
  }
  if (blank > 0) report.warnings.push(`${path}: ${blank} blank line(s) ignored`);
}

function loadCoreFile(path: string, buf: Buffer, directory: Directory, report: Report): void {
  const unknown = new Map<string, { count: number; firstLine: number }>();
  const conflicts: { key: string; line: number; library: string; previous: string }[] = [];
  const reader = new RecordReader('core', directory.libraries());
  forEachRecord(path, buf, reader, report, (key, library, line, torn) => {
    if (!directory.hasLibrary(library)) {
      if (torn) return 'rejected';
      const seen = unknown.get(library);
      if (seen === undefined) unknown.set(library, { count: 1, firstLine: line });
      else seen.count++;
      return 'rejected';
    }
    const previous = directory.libraryOf(key);
    if (previous === undefined) {
      directory.put(key, library);
      return 'added';
    }
    if (previous === library) return 'repeated';
    if (!torn) conflicts.push({ key, line, library, previous });
    return 'rejected';
  });

  const configured = directory.libraries().join(', ');
  for (const [library, { count, firstLine }] of unknown) {
    report.errors.push(
      `${path}:${firstLine}: library '${library}' is not in the config (configured: ${configured}); ` +
        `${count} line(s) of this file assign keys to it`,
    );
  }
  if (conflicts.length > 0) {
    const firstLines = firstOccurrences(buf, reader, new Set(conflicts.map((c) => c.key)));
    for (const c of conflicts) {
      report.errors.push(
        `${path}:${c.line}: key '${c.key}' is assigned to library '${c.library}' here but to '${c.previous}' ` +
          `at line ${firstLines.get(c.key)}`,
      );
    }
  }
}

function loadCorrelFile(path: string, buf: Buffer, correlClass: string, directory: Directory, report: Report): void {
  const conflicts: { object: string; line: number; key: string; previous: string }[] = [];
  const reader = new RecordReader('correl');
  forEachRecord(path, buf, reader, report, (object, key, line, torn) => {
    if (directory.libraryOf(key) === undefined) {
      if (!torn) report.errors.push(`${path}:${line}: key '${key}' of object '${object}' has no library in ${CORE_SAVE_FILE}`);
      return 'rejected';
    }
    const previous = directory.keyOfCorrel(correlClass, object);
    if (previous === undefined) {
      directory.bindCorrel(correlClass, object, key);
      return 'added';
    }
    if (previous === key) return 'repeated';
    if (!torn) conflicts.push({ object, line, key, previous });
    return 'rejected';
  });

  if (conflicts.length > 0) {
    const firstLines = firstOccurrences(buf, reader, new Set(conflicts.map((c) => c.object)));
    for (const c of conflicts) {
      report.errors.push(
        `${path}:${c.line}: object '${c.object}' is bound to key '${c.key}' here but to key '${c.previous}' ` +
          `at line ${firstLines.get(c.object)}`,
      );
    }
  }
}

/** Line numbers of the first records whose first field is in `wanted` (only needed to word errors). */
function firstOccurrences(buf: Buffer, reader: RecordReader, wanted: ReadonlySet<string>): Map<string, number> {
  const found = new Map<string, number>();
  let line = 0;
  for (let pos = 0; pos < buf.length && found.size < wanted.size; ) {
    line++;
    const newline = buf.indexOf(0x0a, pos);
    const end = newline === -1 ? buf.length : newline;
    const record = reader.read(buf, pos, end);
    if (record.ok && wanted.has(record.first) && !found.has(record.first)) found.set(record.first, line);
    pos = end + 1;
  }
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
