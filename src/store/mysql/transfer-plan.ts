/**
 * The pure parts of moving the directory between mysqlda's save files and the shared directory's tables
 * (`-a directory-import`, `-a directory-export`): what a batch of save-file records does against what the tables
 * hold, how a line's local date and time is stored, and the rows of the failover state. No I/O.
 *
 * Dates: the save files hold local time to the second; the tables hold TIMESTAMPs (UTC). A record written without
 * a date by mysqlda before 0.0.7.1 is stored as UNDATED_UTC (1 s after the epoch), which no dated record can hold,
 * and exported without a date again.
 */
import type { SavedLibrary, SavedState } from '../../backend/current-server-file.js';
import { formatTimestamp } from '../save-format.js';

/** One record of mysqlda.save, with where it was read. */
export interface KeyRecord {
  key: string;
  library: string;
  line: number;
  /** UTC 'YYYY-MM-DD HH:MM:SS' to store (see storedTimestamp). */
  at: string;
}

/** One record of mysqlda.<class>.save. */
export interface AliasRecord {
  object: string;
  key: string;
  line: number;
  at: string;
}

export interface KeyBatchPlan {
  /** The records whose key this batch inserted (the first line of each such key), in file order. */
  inserts: KeyRecord[];
  /** Records binding a key to the library the tables (or an earlier line of the batch) already give it. */
  present: number;
  conflicts: string[];
}

/** A key's row as read back after the batch's insert: its library, and whether this very batch inserted it. */
export interface KeyRow {
  library: string;
  insertedByBatch: boolean;
}

/** The first record of each key of a batch, in file order: what the batch tries to insert. */
export function firstRecords(records: readonly KeyRecord[]): KeyRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => !seen.has(record.key) && seen.add(record.key) !== undefined);
}

/**
 * What a batch of core records did, given the rows of its keys after its INSERT IGNORE of `firstRecords(records)`
 * (null: every one of them was inserted). A key the tables bind to another library is a conflict, not imported; so
 * is a key that an earlier line of the same batch binds to another library (the first line wins, as in the loader).
 */
export function planKeyBatch(file: string, records: readonly KeyRecord[], rows: ReadonlyMap<string, KeyRow> | null): KeyBatchPlan {
  const plan: KeyBatchPlan = { inserts: [], present: 0, conflicts: [] };
  const firstInBatch = new Map<string, KeyRecord>();
  for (const record of records) {
    const first = firstInBatch.get(record.key);
    if (first === undefined) firstInBatch.set(record.key, record);
    const row = rows === null ? { library: (first ?? record).library, insertedByBatch: true } : rows.get(record.key);
    if (row === undefined) {
      // Not there even after the insert: only a concurrent delete does that. Nothing was imported for it.
      plan.conflicts.push(`${file}:${record.line}: key '${record.key}' could not be inserted (removed meanwhile?): not imported`);
    } else if (row.insertedByBatch && first === undefined) {
      plan.inserts.push(record);
    } else if (row.library === record.library) {
      plan.present++;
    } else if (row.insertedByBatch) {
      plan.conflicts.push(`${file}:${record.line}: key '${record.key}' is assigned to library '${record.library}' here but to '${first!.library}' at line ${first!.line}: not imported`);
    } else {
      plan.conflicts.push(`${file}:${record.line}: key '${record.key}' is bound to library '${row.library}' in the directory, not '${record.library}' as here: not imported`);
    }
  }
  return plan;
}

export interface AliasBatchPlan {
  inserts: AliasRecord[];
  present: number;
  conflicts: string[];
}

/**
 * What a batch of one class's records does, given `knownKeys` (the keys of the batch that have a library in the
 * tables) and `bound` (the key the tables bind each object of the batch to, where they do).
 */
export function planAliasBatch(
  file: string,
  records: readonly AliasRecord[],
  knownKeys: ReadonlySet<string>,
  bound: ReadonlyMap<string, string>,
): AliasBatchPlan {
  const plan: AliasBatchPlan = { inserts: [], present: 0, conflicts: [] };
  const firstInBatch = new Map<string, AliasRecord>();
  for (const record of records) {
    const inTables = bound.get(record.object);
    if (inTables !== undefined) {
      if (inTables === record.key) plan.present++;
      else plan.conflicts.push(`${file}:${record.line}: object '${record.object}' is bound to key '${inTables}' in the directory, not '${record.key}' as here: not imported`);
      continue;
    }
    const first = firstInBatch.get(record.object);
    if (first !== undefined) {
      if (first.key === record.key) plan.present++;
      else plan.conflicts.push(`${file}:${record.line}: object '${record.object}' is bound to key '${record.key}' here but to key '${first.key}' at line ${first.line}: not imported`);
      continue;
    }
    if (!knownKeys.has(record.key)) {
      plan.conflicts.push(`${file}:${record.line}: key '${record.key}' of object '${record.object}' has no library in the directory: not imported`);
      continue;
    }
    firstInBatch.set(record.object, record);
    plan.inserts.push(record);
  }
  return plan;
}

/** Stored for a record without a date. */
export const UNDATED_UTC = '1970-01-01 00:00:01';
const UNDATED_UNIX = 1;
/** TIMESTAMP's range on MariaDB 10.11 and MySQL 8 (UTC): a date outside it is stored as undated. */
const LAST_TIMESTAMP_UNIX = 2 ** 31 - 1;

/**
 * The UTC date and time to store for a line's local `YYYY-MM-DD HH:MM:SS` (null: an undated line), and whether the
 * date had to be dropped because a TIMESTAMP cannot hold it.
 */
export function storedTimestamp(local: string | null): { at: string; dropped: boolean } {
  if (local === null) return { at: UNDATED_UTC, dropped: false };
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(local);
  if (!match) return { at: UNDATED_UTC, dropped: true };
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const date = new Date(year, month - 1, day, hour, minute, Math.min(second, 59));
  const unix = Math.floor(date.getTime() / 1000);
  if (!(unix > UNDATED_UNIX && unix <= LAST_TIMESTAMP_UNIX)) return { at: UNDATED_UTC, dropped: true };
  return { at: date.toISOString().slice(0, 19).replace('T', ' '), dropped: false };
}

/** The date and time field of an exported line (local time) for a stored UNIX time; null for an undated record. */
export function exportedTimestamp(unixSeconds: number): string | null {
  if (unixSeconds <= UNDATED_UNIX) return null;
  return formatTimestamp(new Date(unixSeconds * 1000));
}

/**
 * One exported line. Undated records get mysqlda's old form: an empty date and time, i.e. two spaces before the
 * values.
 */
export function exportedLine(stamp: string | null, first: string, second: string): string {
  return stamp === null ? `  ${first} ${second}\n` : `${stamp} ${first} ${second}\n`;
}

/**
 * The date and time of a dated record's line buf[start, end): its first two fields, whatever separates them
 * (the record reader has checked them already).
 */
export function lineTimestamp(buf: Buffer, start: number, end: number): string {
  const fields: string[] = [];
  let i = start;
  while (fields.length < 2 && i < end) {
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    const from = i;
    while (i < end && buf[i] !== 0x20 && buf[i] !== 0x09) i++;
    if (i > from) fields.push(buf.toString('latin1', from, i));
  }
  return fields.join(' ');
}

/** A row of mysqlda_library_state as the import writes it. */
export interface LibraryStateRow {
  library: string;
  currentServer: string;
  /** JSON array of host:port. */
  servers: string;
  /** JSON object host:port → ISO time. */
  leftByFailover: string;
  /** UTC 'YYYY-MM-DD HH:MM:SS.mmm'. */
  since: string;
}

/** The state file's libraries as rows, in name order; `since` values that are not dates become now. */
export function stateRows(state: SavedState, now: Date = new Date()): LibraryStateRow[] {
  return [...state.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([library, saved]) => {
      const since = new Date(saved.since);
      return {
        library,
        currentServer: saved.current,
        servers: JSON.stringify(saved.servers),
        leftByFailover: JSON.stringify(Object.fromEntries(saved.leftByFailover)),
        since: (Number.isNaN(since.getTime()) ? now : since).toISOString().slice(0, 23).replace('T', ' '),
      };
    });
}

/** A row read back from mysqlda_library_state (`sinceMs`: UNIX time in ms) as a state-file entry; null when malformed. */
export function savedLibraryOf(row: { currentServer: string; servers: string; leftByFailover: string; sinceMs: number }): SavedLibrary | null {
  try {
    const servers = JSON.parse(row.servers) as unknown;
    const left = JSON.parse(row.leftByFailover || '{}') as unknown;
    if (!Array.isArray(servers) || !servers.every((s) => typeof s === 'string')) return null;
    if (typeof left !== 'object' || left === null || Array.isArray(left)) return null;
    const entries = Object.entries(left as Record<string, unknown>);
    if (!entries.every(([, when]) => typeof when === 'string')) return null;
    return {
      current: row.currentServer,
      servers: servers as string[],
      since: new Date(row.sinceMs).toISOString(),
      leftByFailover: new Map(entries as [string, string][]),
    };
  } catch {
    return null;
  }
}

/** Per library, the keys a batch adds: for the counts table. */
export function addedPerLibrary(inserted: readonly KeyRecord[]): Map<string, number> {
  const added = new Map<string, number>();
  for (const { library } of inserted) added.set(library, (added.get(library) ?? 0) + 1);
  return added;
}
