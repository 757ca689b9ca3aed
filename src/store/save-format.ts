/**
 * mysqlda's save-file line format (behaviour §7.2), kept byte-compatible so existing files load unchanged:
 *
 *   mysqlda.save           YYYY-MM-DD HH:MM:SS <key> <library>\n      (local time)
 *   mysqlda.<class>.save   YYYY-MM-DD HH:MM:SS <object> <key>\n
 *
 * mysqlda before 0.0.7.1 could write an empty date and time, leaving lines of two tokens (`  <key> <library>`);
 * those are accepted. Fields are separated by spaces or tabs; a CR before the LF is tolerated. Pure: no I/O.
 */

import { classProblem, MAX_IDENTIFIER_BYTES, valueProblem, type ValueRole } from '../routing/identifiers.js';

export const CORE_SAVE_FILE = 'mysqlda.save';

/** `mysqlda.<class>.save`; throws for a class name that could not be loaded back. */
export function correlSaveFileName(correlClass: string): string {
  const problem = classProblem(correlClass);
  if (problem !== undefined) throw new Error(`invalid correl class '${correlClass}': ${problem}`);
  return `mysqlda.${correlClass}.save`;
}

const CORREL_FILE_NAME = /^mysqlda\.([A-Za-z0-9_-]+)\.save$/;

/** The class of a correl save-file name, or undefined when the name is not one (e.g. `mysqlda.x.save.bak`). */
export function correlClassOfFileName(fileName: string): string | undefined {
  return CORREL_FILE_NAME.exec(fileName)?.[1];
}

export type SaveFileKind = 'core' | 'correl';

/** The two value fields of each kind of file, in order. */
const FIELDS: Record<SaveFileKind, readonly [string, string]> = {
  core: ['key', 'library'],
  correl: ['object', 'key'],
};

/** `YYYY-MM-DD HH:MM:SS` in local time, as mysqlda writes it. */
export function formatTimestamp(at: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(at.getFullYear()).padStart(4, '0')}-${p2(at.getMonth() + 1)}-${p2(at.getDate())} ` +
    `${p2(at.getHours())}:${p2(at.getMinutes())}:${p2(at.getSeconds())}`
  );
}

/** One core record, newline included. Throws when a field could not be read back as the same value. */
export function formatCoreRecord(key: string, library: string, at: Date = new Date()): string {
  assertValue(key, 'key');
  assertToken(library, 'library');
  return `${formatTimestamp(at)} ${key} ${library}\n`;
}

/** One correl record, newline included. */
export function formatCorrelRecord(object: string, key: string, at: Date = new Date()): string {
  assertValue(object, 'object');
  assertValue(key, 'key');
  return `${formatTimestamp(at)} ${object} ${key}\n`;
}

export type RecordParse =
  /** `first`/`second` are key/library (core) or object/key (correl); `dated` is false for the old 2-field form. */
  | { ok: true; first: string; second: string; dated: boolean }
  | RecordProblem;

/** `blank` marks a line holding only whitespace, which is not a record at all. */
export type RecordProblem = { ok: false; message: string; blank?: boolean };

/**
 * A record whose values are checked but not decoded: byte ranges of the buffer it was read from (valid UTF-8).
 * The loader puts keys into the directory straight from these bytes, without a string per line.
 */
export interface RecordSpans {
  ok: true;
  firstStart: number;
  firstEnd: number;
  secondStart: number;
  secondEnd: number;
  dated: boolean;
  /** Both values are printable ASCII. */
  plain: boolean;
}

/**
 * Reads the records of one kind of file. The loader builds one per file: for the layout every writer produces
 * (`YYYY-MM-DD HH:MM:SS first second`, printable-ASCII values) a line costs a few byte comparisons and no string
 * at all. Anything else takes the general path, which handles tabs, repeated spaces, the undated form and UTF-8
 * values.
 */
export class RecordReader {
  private readonly known: readonly { bytes: Buffer; name: string }[];
  /** Reused for every record: readSpans() allocates nothing on the common path. */
  private readonly spans: RecordSpans = { ok: true, firstStart: 0, firstEnd: 0, secondStart: 0, secondEnd: 0, dated: true, plain: true };

  /**
   * `knownSeconds`: second-field values (library names of a core file) returned as these very string instances,
   * without decoding, when the bytes match.
   */
  constructor(
    readonly kind: SaveFileKind,
    knownSeconds: readonly string[] = [],
  ) {
    this.known = knownSeconds.map((name) => ({ bytes: Buffer.from(name, 'utf8'), name }));
  }

  /** Parse the record in buf[start, end) (the line without its LF) into strings (see readSpans). */
  read(buf: Buffer, start: number, end: number): RecordParse {
    const spans = this.readSpans(buf, start, end);
    if (!spans.ok) return spans;
    return { ok: true, first: this.firstText(buf, spans), second: this.secondText(buf, spans), dated: spans.dated };
  }

  /**
   * Parse the record in buf[start, end) (the line without its LF). Checks the field count, the date and time, and
   * that both values are valid keys/objects (library names are only checked to be tokens without control
   * characters: whether they are configured is the loader's business). The spans returned are reused by the next
   * call.
   */
  readSpans(buf: Buffer, start: number, end: number): RecordSpans | RecordProblem {
    if (end > start && buf[end - 1] === 0x0d) end--; // CRLF written by an editor
    if (end - start >= 23 && buf[start + 10] === 0x20 && buf[start + 19] === 0x20) {
      const firstStart = start + 20;
      const firstEnd = plainEnd(buf, firstStart, end);
      if (
        firstEnd > firstStart && firstEnd + 1 < end && buf[firstEnd] === 0x20 && plainEnd(buf, firstEnd + 1, end) === end &&
        isDate(buf, start, start + 10) && isTime(buf, start + 11, start + 19)
      ) {
        return this.values(buf, firstStart, firstEnd, firstEnd + 1, end, true, true);
      }
    }
    return this.readGeneral(buf, start, end);
  }

  /** The first value of a record just read (key or object). */
  firstText(buf: Buffer, spans: RecordSpans): string {
    return buf.toString(spans.plain ? 'latin1' : 'utf8', spans.firstStart, spans.firstEnd);
  }

  /** The second value of a record just read (library name or key); a known library name is that very string. */
  secondText(buf: Buffer, spans: RecordSpans): string {
    const known = this.knownIndex(buf, spans);
    return known !== -1 ? this.known[known].name : buf.toString(spans.plain ? 'latin1' : 'utf8', spans.secondStart, spans.secondEnd);
  }

  /** Where the second value of a record just read stands in `knownSeconds`, or -1: no string needed. */
  knownIndex(buf: Buffer, spans: RecordSpans): number {
    return this.knownSecond(buf, spans.secondStart, spans.secondEnd);
  }

  private readGeneral(buf: Buffer, start: number, end: number): RecordSpans | RecordProblem {
    // Up to four token boundaries without allocating an array per line.
    let s0 = 0, e0 = 0, s1 = 0, e1 = 0, s2 = 0, e2 = 0, s3 = 0, e3 = 0;
    let count = 0;
    let i = start;
    while (i < end) {
      while (i < end && isSeparator(buf[i])) i++;
      if (i >= end) break;
      const s = i;
      while (i < end && !isSeparator(buf[i])) i++;
      switch (count) {
        case 0: s0 = s; e0 = i; break;
        case 1: s1 = s; e1 = i; break;
        case 2: s2 = s; e2 = i; break;
        case 3: s3 = s; e3 = i; break;
      }
      count++;
    }
    if (count === 0) return { ok: false, message: 'blank line', blank: true };
    if (count === 2) return this.values(buf, s0, e0, s1, e1, false, false);
    if (count !== 4) {
      const [firstName, secondName] = FIELDS[this.kind];
      return { ok: false, message: `expected 4 fields (date time ${firstName} ${secondName}), found ${count}` };
    }
    if (!isDate(buf, s0, e0)) return { ok: false, message: `bad date ${quoteText(buf, s0, e0)}` };
    if (!isTime(buf, s1, e1)) return { ok: false, message: `bad time ${quoteText(buf, s1, e1)}` };
    return this.values(buf, s2, e2, s3, e3, true, false);
  }

  /** Checks both values and returns their spans. `plain`: both are printable ASCII, so only lengths need checking. */
  private values(
    buf: Buffer, s0: number, e0: number, s1: number, e1: number, dated: boolean, plain: boolean,
  ): RecordSpans | RecordProblem {
    const core = this.kind === 'core';
    const problem =
      checkValue(buf, s0, e0, core ? 'key' : 'object', plain) ??
      (core ? (this.knownSecond(buf, s1, e1) === -1 ? checkLibrary(buf, s1, e1) : undefined) : checkValue(buf, s1, e1, 'key', plain));
    if (problem !== undefined) return problem;
    const spans = this.spans;
    spans.firstStart = s0;
    spans.firstEnd = e0;
    spans.secondStart = s1;
    spans.secondEnd = e1;
    spans.dated = dated;
    spans.plain = plain;
    return spans;
  }

  private knownSecond(buf: Buffer, start: number, end: number): number {
    const length = end - start;
    const known = this.known;
    for (let index = 0; index < known.length; index++) {
      const { bytes } = known[index];
      if (bytes.length !== length) continue;
      let k = 0;
      while (k < length && buf[start + k] === bytes[k]) k++;
      if (k === length) return index;
    }
    return -1;
  }
}

const DEFAULT_READERS: Record<SaveFileKind, RecordReader> = {
  core: new RecordReader('core'),
  correl: new RecordReader('correl'),
};

/** Parse one record in buf[start, end) (see RecordReader.read). */
export function parseRecord(buf: Buffer, start: number, end: number, kind: SaveFileKind): RecordParse {
  return DEFAULT_READERS[kind].read(buf, start, end);
}

/** parseRecord on a string (one line, without its LF). */
export function parseRecordLine(line: string, kind: SaveFileKind): RecordParse {
  const buf = Buffer.from(line, 'utf8');
  return parseRecord(buf, 0, buf.length, kind);
}

/** Why buf[start, end) cannot be a key or object, or undefined. `plain` values are printable ASCII already. */
function checkValue(buf: Buffer, start: number, end: number, role: ValueRole, plain: boolean): RecordProblem | undefined {
  const bytes = end - start;
  if (bytes > MAX_IDENTIFIER_BYTES) return { ok: false, message: `${role} is longer than ${MAX_IDENTIFIER_BYTES} bytes` };
  if (plain) return undefined;
  const problem = valueProblem(buf.toString('utf8', start, end), role, bytes);
  return problem === undefined ? undefined : { ok: false, message: `${problem}: ${quoteText(buf, start, end)}` };
}

function checkLibrary(buf: Buffer, start: number, end: number): RecordProblem | undefined {
  if (end - start > MAX_IDENTIFIER_BYTES) {
    return { ok: false, message: `library name is longer than ${MAX_IDENTIFIER_BYTES} bytes` };
  }
  for (let i = start; i < end; i++) {
    if (buf[i] < 0x20 || buf[i] === 0x7f) return { ok: false, message: 'library name contains a control character' };
  }
  return undefined;
}

/** Where the run of printable ASCII (0x21..0x7e) starting at `i` ends. */
function plainEnd(buf: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = buf[i];
    if (c < 0x21 || c > 0x7e) break;
    i++;
  }
  return i;
}

function isSeparator(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function digits(buf: Buffer, at: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = buf[at + k] - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** YYYY-MM-DD with a plausible month and day. */
function isDate(buf: Buffer, s: number, e: number): boolean {
  if (e - s !== 10 || buf[s + 4] !== 0x2d || buf[s + 7] !== 0x2d) return false;
  const month = digits(buf, s + 5, 2);
  const day = digits(buf, s + 8, 2);
  return digits(buf, s, 4) >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/** HH:MM:SS (a leap second allowed). */
function isTime(buf: Buffer, s: number, e: number): boolean {
  if (e - s !== 8 || buf[s + 2] !== 0x3a || buf[s + 5] !== 0x3a) return false;
  const h = digits(buf, s, 2);
  const m = digits(buf, s + 3, 2);
  const sec = digits(buf, s + 6, 2);
  return h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 60;
}

/** A field for an error message: JSON-quoted (control characters visible), cut at 40 characters. */
function quoteText(buf: Buffer, start: number, end: number): string {
  const text = buf.toString('utf8', start, Math.min(end, start + 160));
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function assertValue(value: string, role: ValueRole): void {
  const problem = valueProblem(value, role);
  if (problem !== undefined) throw new Error(`cannot save ${role} ${JSON.stringify(value)}: ${problem}`);
}

function assertToken(value: string, what: string): void {
  if (value.length === 0 || /[\s\u0000-\u001f\u007f]/u.test(value)) {
    throw new Error(`cannot save ${what} ${JSON.stringify(value)}: it must be a non-empty token without whitespace`);
  }
}
