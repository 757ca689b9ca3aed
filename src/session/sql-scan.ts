/**
 * Just enough SQL lexing for routing decisions: skip comments, read words outside quotes.
 * It never needs to understand a statement, only its leading keywords and whether it names a table.
 */

/** Index of the first byte that is not whitespace or part of a comment. MySQL's executable comments
 *  (`/*! ... *\/`, `/*M! ... *\/`) count as code: their body is read, their opener skipped. */
export function skipSpaceAndComments(sql: string, from = 0): number {
  let i = from;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c) {
      i++;
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      const executable = /^\/\*M?!\d*/.exec(sql.slice(i, i + 12));
      if (executable) {
        i += executable[0].length;
        continue;
      }
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (c === 0x2a /* * */ && sql.charCodeAt(i + 1) === 0x2f) {
      i += 2; // the close of an executable comment whose body was read as code
    } else if (c === 0x23 /* # */ || (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d && /\s/.test(sql[i + 2] ?? ' '))) {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
    } else {
      break;
    }
  }
  return i;
}

/** The words of a statement in order, upper-cased, skipping quoted strings, identifiers and comments. */
export function keywords(sql: string, limit = Infinity): string[] {
  const words: string[] = [];
  let i = skipSpaceAndComments(sql);
  while (i < sql.length && words.length < limit) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i);
    } else if (/[A-Za-z_@$]/.test(c)) {
      const start = i;
      while (i < sql.length && /[A-Za-z0-9_@$.]/.test(sql[i])) i++;
      words.push(sql.slice(start, i).toUpperCase());
    } else {
      i++;
    }
    i = skipSpaceAndComments(sql, i);
  }
  return words;
}

function skipQuoted(sql: string, start: number): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === '\\' && quote !== '`') i += 2;
    else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return i;
}
