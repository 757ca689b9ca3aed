/**
 * mysqlda's extension SQL: the statements a client sends (as COM_QUERY text) to choose its library.
 *
 *   select library <key> [for read [max_lag <seconds>]]
 *   select library_by_correl_object <class> <object> [for read [max_lag <seconds>]]
 *   set correl_object <class> <object> <key>
 *   show library
 *
 * `for read` asks for a read-only session on one of the library's replicas whose replication lag is at most
 * `max_lag` seconds (absent: the account's bound); see session/read-routing.ts.
 *
 * Compared with the C original (behaviour §5.1, §11.7) the grammar is forgiving where the original was brittle and
 * strict where it was unsafe:
 * - keywords are case-insensitive; leading whitespace and comments are skipped; words may be separated by any
 *   whitespace (space, tab, CR, LF, VT, FF) and comments; one trailing `;` is allowed, then only whitespace/comments;
 * - a value is bare (a run of non-whitespace up to whitespace, `;` or the end) or quoted with ', " or `, where a
 *   doubled quote stands for one. A value that starts with `#`, `/*` or `-- ` must be quoted, because there a
 *   comment starts;
 * - keys and objects must pass `valueProblem` (1..64 UTF-8 bytes, no whitespace, no control characters, even quoted),
 *   class names `classProblem`; extra tokens after the last value are an error, not silently ignored.
 *
 * Compatibility choice: like the original, anything that starts with the words `select library` followed by a
 * separator is ours, even `select library from t` (a column called `library`): it is answered with an error
 * ("unexpected text after <key>"), never forwarded. `select library,` `select library.` `select library(` and
 * `select libraryX` are ordinary SQL (null).
 *
 * The scanner works on UTF-8 bytes so that the hot-path pre-filter and the parser share one definition of
 * whitespace, comments and keywords.
 */

import { classProblem, valueProblem, type ValueRole } from './identifiers.js';

/** `for read [max_lag <seconds>]`: a read-only session on a fresh enough replica (maxLagSeconds null: the account's bound). */
export interface ReadRequest {
  maxLagSeconds: number | null;
}

/** `read` is present only when the statement has a `for read` clause. */
export type ExtensionCommand =
  | { kind: 'select_library'; key: string; read?: ReadRequest }
  | { kind: 'select_library_by_correl_object'; correlClass: string; object: string; read?: ReadRequest }
  | { kind: 'set_correl_object'; correlClass: string; object: string; key: string }
  | { kind: 'show_library' };

export type ExtensionParse =
  | { ok: true; command: ExtensionCommand }
  /** The keywords matched but the arguments are invalid; `message` says exactly what, for the client's ERR packet. */
  | { ok: false; message: string };

type Role = ValueRole | 'class';

interface Form {
  /** Lower-case keyword bytes, e.g. `select` then `library`. */
  first: Buffer;
  second: Buffer;
  /** Shown in "unexpected text after 'show library'" when the form takes no argument. */
  text: string;
  roles: readonly Role[];
  /** The form may end with `for read [max_lag <seconds>]`. */
  readable?: boolean;
  build(values: string[], read: ReadRequest | null): ExtensionCommand;
}

const SELECT = Buffer.from('select');
const SET = Buffer.from('set');
const SHOW = Buffer.from('show');
const LIBRARY = Buffer.from('library');
const CORREL_OBJECT = Buffer.from('correl_object');

const FORMS: readonly Form[] = [
  {
    first: SELECT, second: LIBRARY, text: 'select library', roles: ['key'], readable: true,
    build: ([key], read) => (read ? { kind: 'select_library', key, read } : { kind: 'select_library', key }),
  },
  {
    first: SELECT, second: Buffer.from('library_by_correl_object'), text: 'select library_by_correl_object',
    roles: ['class', 'object'], readable: true,
    build: ([correlClass, object], read) =>
      read ? { kind: 'select_library_by_correl_object', correlClass, object, read } : { kind: 'select_library_by_correl_object', correlClass, object },
  },
  {
    first: SET, second: CORREL_OBJECT, text: 'set correl_object', roles: ['class', 'object', 'key'],
    build: ([correlClass, object, key]) => ({ kind: 'set_correl_object', correlClass, object, key }),
  },
  {
    first: SHOW, second: LIBRARY, text: 'show library', roles: [],
    build: () => ({ kind: 'show_library' }),
  },
];

const FOR = Buffer.from('for');
const READ = Buffer.from('read');
const MAX_LAG = Buffer.from('max_lag');
/** The largest max_lag: a day (Seconds_Behind_Master beyond that is a broken replica, not a bound). */
export const MAX_LAG_LIMIT_SECONDS = 86_400;

const COMMENT_CLOSE = Buffer.from('*/');
const UNTERMINATED = -1;
const SEMICOLON = 0x3b;

/** null when the text is not an extension statement at all (ordinary SQL such as `select library_id from t`). */
export function parseExtensionSql(sql: string): ExtensionParse | null {
  const buf = Buffer.from(sql, 'utf8');
  const end = buf.length;
  let i = skipTrivia(buf, 0, end);
  if (i === UNTERMINATED) return null;
  const firstEnd = wordEnd(buf, i, end);
  const firstStart = i;
  if (!isBoundary(buf, firstEnd, end)) return null;
  i = skipTrivia(buf, firstEnd, end);
  if (i === UNTERMINATED) return null;
  const secondEnd = wordEnd(buf, i, end);
  if (!isBoundary(buf, secondEnd, end)) return null;
  const form = FORMS.find(
    (f) => equalsKeyword(buf, firstStart, firstEnd, f.first) && equalsKeyword(buf, i, secondEnd, f.second),
  );
  if (form === undefined) return null;
  return parseArguments(buf, secondEnd, end, form);
}

/**
 * Cheap pre-filter on a raw COM_QUERY payload (payload[offset] is the first SQL byte), allocation-free: false means
 * "certainly not an extension statement", true means "call parseExtensionSql". It skips leading whitespace and
 * comments, then compares the first keyword and the start of the second one.
 */
export function mayBeExtensionSql(payload: Buffer, offset: number): boolean {
  const end = payload.length;
  let i = skipTrivia(payload, offset, end);
  if (i === UNTERMINATED || i >= end) return false;
  const firstEnd = wordEnd(payload, i, end);
  let second: Buffer;
  if (equalsKeyword(payload, i, firstEnd, SELECT) || equalsKeyword(payload, i, firstEnd, SHOW)) second = LIBRARY;
  else if (equalsKeyword(payload, i, firstEnd, SET)) second = CORREL_OBJECT;
  else return false;
  if (!isBoundary(payload, firstEnd, end)) return false;
  i = skipTrivia(payload, firstEnd, end);
  if (i === UNTERMINATED || end - i < second.length) return false;
  return equalsKeyword(payload, i, i + second.length, second);
}

function parseArguments(buf: Buffer, start: number, end: number, form: Form): ExtensionParse {
  const values: string[] = [];
  let i = start;
  for (const role of form.roles) {
    i = skipTrivia(buf, i, end);
    if (i === UNTERMINATED) return fail('unterminated comment');
    if (i >= end || buf[i] === SEMICOLON) return fail(`missing <${role}>`);
    const token = readValue(buf, i, end, role);
    if (typeof token === 'string') return fail(token);
    const problem = role === 'class' ? classProblem(token.value) : valueProblem(token.value, role);
    if (problem !== undefined) return fail(problem);
    values.push(token.value);
    i = token.next;
  }
  let read: ReadRequest | null = null;
  if (form.readable) {
    const clause = readClause(buf, i, end);
    if (typeof clause === 'string') return fail(clause);
    if (clause) ({ read, next: i } = clause);
  }
  const trailing = trailingProblem(buf, i, end);
  if (trailing !== undefined) {
    const last = form.roles.length > 0 ? `<${form.roles[form.roles.length - 1]}>` : `'${form.text}'`;
    return fail(trailing === 'extra' ? `unexpected text after ${last}` : trailing);
  }
  return { ok: true, command: form.build(values, read) };
}

/** `for read [max_lag <seconds>]` at `start` (after trivia): the request and where scanning resumes; null when absent. */
function readClause(buf: Buffer, start: number, end: number): { read: ReadRequest; next: number } | string | null {
  const word = nextWord(buf, start, end);
  if (word === null || !equalsKeyword(buf, word.start, word.end, FOR)) return null;
  const read = nextWord(buf, word.end, end);
  if (read === null || !equalsKeyword(buf, read.start, read.end, READ)) return "expected 'read' after 'for'";
  const maxLag = nextWord(buf, read.end, end);
  if (maxLag === null || !equalsKeyword(buf, maxLag.start, maxLag.end, MAX_LAG)) return { read: { maxLagSeconds: null }, next: read.end };
  let i = skipTrivia(buf, maxLag.end, end);
  if (i === UNTERMINATED) return 'unterminated comment';
  const digitsStart = i;
  while (i < end && buf[i] >= 0x30 && buf[i] <= 0x39) i++;
  const seconds = Number(buf.toString('latin1', digitsStart, i));
  if (i === digitsStart || !isBoundary(buf, i, end) || i - digitsStart > 6 || seconds > MAX_LAG_LIMIT_SECONDS) {
    return `max_lag takes whole seconds from 0 to ${MAX_LAG_LIMIT_SECONDS}`;
  }
  return { read: { maxLagSeconds: seconds }, next: i };
}

/** The next word after trivia, when one starts there and ends at a boundary. */
function nextWord(buf: Buffer, start: number, end: number): { start: number; end: number } | null {
  const i = skipTrivia(buf, start, end);
  if (i === UNTERMINATED || i >= end) return null;
  const stop = wordEnd(buf, i, end);
  return stop > i && isBoundary(buf, stop, end) ? { start: i, end: stop } : null;
}

/** After the last value: whitespace/comments, at most one `;`, whitespace/comments, end. */
function trailingProblem(buf: Buffer, start: number, end: number): string | undefined {
  let i = skipTrivia(buf, start, end);
  if (i === UNTERMINATED) return 'unterminated comment';
  if (i < end && buf[i] === SEMICOLON) {
    i = skipTrivia(buf, i + 1, end);
    if (i === UNTERMINATED) return 'unterminated comment';
    if (i < end) return "unexpected text after ';' (an extension statement must be alone)";
    return undefined;
  }
  return i < end ? 'extra' : undefined;
}

/** A value starting at `i`: its text and where scanning resumes, or an error message. */
function readValue(buf: Buffer, i: number, end: number, role: Role): { value: string; next: number } | string {
  const quote = buf[i];
  if (quote !== 0x27 && quote !== 0x22 && quote !== 0x60) {
    let j = i;
    while (j < end && !isSpace(buf[j]) && buf[j] !== SEMICOLON) j++;
    return { value: buf.toString('utf8', i, j), next: j };
  }
  const pieces: string[] = [];
  let pieceStart = i + 1;
  let j = i + 1;
  for (;;) {
    j = buf.indexOf(quote, j);
    if (j === -1 || j >= end) return `quoted <${role}> has no closing quote`;
    if (j + 1 < end && buf[j + 1] === quote) {
      pieces.push(buf.toString('utf8', pieceStart, j + 1)); // keep one quote of the pair
      j += 2;
      pieceStart = j;
      continue;
    }
    pieces.push(buf.toString('utf8', pieceStart, j));
    j++;
    if (!isBoundary(buf, j, end)) return `unexpected text after quoted <${role}>`;
    return { value: pieces.join(''), next: j };
  }
}

function fail(message: string): ExtensionParse {
  return { ok: false, message };
}

// ---- Byte scanner shared by the parser and the pre-filter -------------------------------------------------------

/** Space, TAB, LF, VT, FF, CR. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Identifier bytes, as in MySQL: letters, digits, `_`, `$`, and any non-ASCII byte. */
function isWordByte(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24 ||
    c >= 0x80
  );
}

function wordEnd(buf: Buffer, i: number, end: number): number {
  while (i < end && isWordByte(buf[i])) i++;
  return i;
}

/** `--` starts a comment only when followed by whitespace, a control character or the end (MySQL's rule). */
function isDashComment(buf: Buffer, i: number, end: number): boolean {
  return buf[i] === 0x2d && i + 1 < end && buf[i + 1] === 0x2d && (i + 2 >= end || buf[i + 2] <= 0x20);
}

function isCommentStart(buf: Buffer, i: number, end: number): boolean {
  const c = buf[i];
  return c === 0x23 || (c === 0x2f && i + 1 < end && buf[i + 1] === 0x2a) || isDashComment(buf, i, end);
}

/** Where a word may end and the statement still be ours: end, `;`, whitespace or a comment. */
function isBoundary(buf: Buffer, i: number, end: number): boolean {
  return i >= end || buf[i] === SEMICOLON || isSpace(buf[i]) || isCommentStart(buf, i, end);
}

/** Skip whitespace and comments; the index of the next significant byte, or UNTERMINATED for an open `/*`. */
function skipTrivia(buf: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = buf[i];
    if (isSpace(c)) {
      i++;
    } else if (c === 0x23 || isDashComment(buf, i, end)) {
      const nl = buf.indexOf(0x0a, i);
      i = nl === -1 || nl >= end ? end : nl + 1;
    } else if (c === 0x2f && i + 1 < end && buf[i + 1] === 0x2a) {
      const close = buf.indexOf(COMMENT_CLOSE, i + 2);
      if (close === -1 || close + 2 > end) return UNTERMINATED;
      i = close + 2;
    } else {
      break;
    }
  }
  return i;
}

/** Case-insensitive comparison of buf[start, stop) with a lower-case ASCII keyword. */
function equalsKeyword(buf: Buffer, start: number, stop: number, keyword: Buffer): boolean {
  if (stop - start !== keyword.length) return false;
  for (let k = 0; k < keyword.length; k++) {
    const c = buf[start + k];
    // Setting bit 0x20 folds only 'A'..'Z' onto a keyword letter; the keywords' '_' must match exactly.
    if (c !== keyword[k] && (c | 0x20) !== keyword[k]) return false;
  }
  return true;
}
