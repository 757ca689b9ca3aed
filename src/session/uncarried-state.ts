/**
 * Session state a new server connection cannot be given, as read from the statements a session sends: when its
 * server dies, a session holding any of it is closed with 2013 instead of moving on (failover masking), since
 * moving would silently lose it. Settings (SET, USE), prepared statements and LAST_INSERT_ID() are carried; an open
 * transaction is told by the server's status flags. What is looked for:
 *
 *   CREATE TEMPORARY TABLE            a temporary table
 *   LOCK TABLE(S), FLUSH … LOCK       table locks
 *   GET_LOCK(…) and the other *_LOCK( functions   a user-level lock
 *   HANDLER …                         an open HANDLER
 *   PREPARE … / XA …                  an SQL-level prepared statement, an XA transaction
 *   := or INTO @…                     a user variable set outside SET (SET @v = … is carried)
 *
 * Byte compares over the first bytes of each statement (at most SCANNED_BYTES), on the splice's path: cheap,
 * and erring on the side of a mark (a word inside a string literal counts too). State made inside stored
 * routines is not seen. COM_RESET_CONNECTION and COM_CHANGE_USER clear the mark, as they clear the state.
 */

/** How much of a statement is read: the state-making words of real applications come early. */
export const SCANNED_BYTES = 1024;

const enum Byte {
  TAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SPACE = 0x20,
  OPEN = 0x28,
  COLON = 0x3a,
  EQUALS = 0x3d,
  AT = 0x40,
  UNDERSCORE = 0x5f,
}

/** The bytes the scan stops at: `(`, `:` and `@`. */
const SIGNIFICANT = new Uint8Array(256);
SIGNIFICANT[Byte.OPEN] = SIGNIFICANT[Byte.COLON] = SIGNIFICANT[Byte.AT] = 1;

/** What the statement in buf[start, end) (SQL text, no command byte) leaves on the server that cannot be carried, or null. */
export function uncarriedStateOf(buf: Buffer, start: number, end: number): string | null {
  const stop = Math.min(end, start + SCANNED_BYTES);
  const i = skipTrivia(buf, start, stop);
  const leading = leadingStatement(buf, i, stop);
  if (leading) return leading;
  for (let j = i; j < stop; j++) {
    // One table look-up per byte: most bytes are none of the three.
    if (SIGNIFICANT[buf[j]] === 0) continue;
    const c = buf[j];
    if (c === Byte.OPEN) {
      // *_lock( : GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, …; a plain LOCK( is no function of MariaDB's.
      if (j - i >= 5 && buf[j - 5] === Byte.UNDERSCORE && wordAt(buf, j - 4, 'lock')) return 'a user-level lock (GET_LOCK)';
    } else if (c === Byte.COLON) {
      if (buf[j + 1] === Byte.EQUALS && j + 1 < stop) return 'a user variable set outside SET';
    } else if (c === Byte.AT) {
      let k = j - 1;
      while (k > i && isSpace(buf[k])) k--;
      if (k - 3 >= i && k < j - 1 && wordAt(buf, k - 3, 'into')) return 'a user variable set outside SET';
    }
  }
  return null;
}

function leadingStatement(buf: Buffer, i: number, stop: number): string | null {
  switch (buf[i] | 0x20) {
    case 0x63 /* c */:
      if (!wordAt(buf, i, 'create')) return null;
      return wordAt(buf, nextWord(buf, i + 6, stop), 'temporary') ? 'a temporary table' : null;
    case 0x6c /* l */:
      return wordAt(buf, i, 'lock') && isSpace(buf[i + 4]) ? 'table locks (LOCK TABLES)' : null;
    case 0x66 /* f */:
      return wordAt(buf, i, 'flush') && buf.subarray(i, stop).toString('latin1').toLowerCase().includes('lock') ? 'a global read lock (FLUSH … WITH READ LOCK)' : null;
    case 0x68 /* h */:
      return wordAt(buf, i, 'handler') && isSpace(buf[i + 7]) ? 'an open HANDLER' : null;
    case 0x70 /* p */:
      return wordAt(buf, i, 'prepare') && isSpace(buf[i + 7]) ? 'an SQL-level prepared statement (PREPARE)' : null;
    case 0x78 /* x */:
      return wordAt(buf, i, 'xa') && isSpace(buf[i + 2]) ? 'an XA transaction' : null;
    default:
      return null;
  }
}

/** Case-insensitive: buf holds the lower-case ASCII `word` at i. */
function wordAt(buf: Buffer, i: number, word: string): boolean {
  if (i < 0 || i + word.length > buf.length) return false;
  for (let k = 0; k < word.length; k++) if ((buf[i + k] | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

function nextWord(buf: Buffer, i: number, stop: number): number {
  while (i < stop && isSpace(buf[i])) i++;
  return i;
}

/** Past leading whitespace and comments (`/* … *\/`, `-- …`, `# …`), to the statement's first word. */
function skipTrivia(buf: Buffer, i: number, stop: number): number {
  for (;;) {
    while (i < stop && isSpace(buf[i])) i++;
    if (buf[i] === 0x2f && buf[i + 1] === 0x2a) {
      const close = buf.indexOf('*/', i + 2);
      if (close === -1 || close >= stop) return stop;
      i = close + 2;
    } else if (buf[i] === 0x23 || (buf[i] === 0x2d && buf[i + 1] === 0x2d && isSpace(buf[i + 2]))) {
      const newline = buf.indexOf(Byte.LF, i);
      if (newline === -1 || newline >= stop) return stop;
      i = newline + 1;
    } else {
      return i;
    }
  }
}

function isSpace(c: number): boolean {
  return c === Byte.SPACE || c === Byte.TAB || c === Byte.LF || c === Byte.CR;
}
