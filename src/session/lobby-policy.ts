import { keywords, skipSpaceAndComments } from './sql-scan.js';

/**
 * What a session does with a statement that arrives before a library is chosen. Connectors send set-up
 * chatter at connect time (SET NAMES, SET autocommit, SELECT @@vars, SHOW VARIABLES); mysqlda answers it
 * from a real server so clients see real values, and carries the settings over to the library connection.
 * Statements that touch data are refused with an error that names the fix; the connection stays open.
 */
export const LobbyAction = {
  /** Run on a lobby server and relay the answer (reads of server state, no tables). */
  RUN: 'run',
  /** Run on a lobby server; on success, replay it on every library connection of the session. */
  RECORD: 'record',
  /** BEGIN / START TRANSACTION: answered locally, started on the library connection once chosen. */
  BEGIN: 'begin',
  /** COMMIT / ROLLBACK with nothing done yet: answered locally. */
  END_TRANSACTION: 'end-transaction',
  REJECT: 'reject',
} as const;
export type LobbyAction = (typeof LobbyAction)[keyof typeof LobbyAction];

const SHOW_ALLOWED = new Set([
  'VARIABLES',
  'STATUS',
  'COLLATION',
  'CHARACTER',
  'CHARSET',
  'WARNINGS',
  'ERRORS',
  'ENGINES',
  'PLUGINS',
  'DATABASES',
  'SCHEMAS',
]);

export function classifyLobbyQuery(sql: string): LobbyAction {
  const words = keywords(sql, 64);
  const [first, second, third] = words;
  switch (first) {
    case 'SET':
      if (second === 'GLOBAL' || second?.startsWith('@@GLOBAL.') || second === 'PASSWORD') return LobbyAction.REJECT;
      if (words.includes('SELECT')) return LobbyAction.REJECT; // SET @x = (SELECT ... FROM t) reads data
      return LobbyAction.RECORD;
    case 'USE':
      return LobbyAction.RECORD;
    case 'SELECT':
    case 'DO': {
      const from = words.indexOf('FROM');
      if (from === -1 || (words[from + 1] === 'DUAL' && words.indexOf('FROM', from + 1) === -1)) return LobbyAction.RUN;
      return LobbyAction.REJECT;
    }
    case 'SHOW': {
      const subject = second === 'SESSION' || second === 'GLOBAL' || second === 'FULL' ? third : second;
      return subject && SHOW_ALLOWED.has(subject) ? LobbyAction.RUN : LobbyAction.REJECT;
    }
    case 'BEGIN':
      return second === undefined || second === 'WORK' ? LobbyAction.BEGIN : LobbyAction.REJECT;
    case 'START':
      return second === 'TRANSACTION' ? LobbyAction.BEGIN : LobbyAction.REJECT;
    case 'COMMIT':
    case 'ROLLBACK':
      return words.includes('TO') ? LobbyAction.REJECT : LobbyAction.END_TRANSACTION;
    default:
      return LobbyAction.REJECT;
  }
}

/**
 * Cheap test on a raw COM_QUERY payload: does the statement start with SET or USE (a setting to carry over) or
 * KILL (which may name one of mysqlda's connection ids)? Runs on every query of the splice: byte compares only.
 */
export function startsWithProxyKeyword(payload: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end && (payload[i] === 0x20 || payload[i] === 0x09 || payload[i] === 0x0a || payload[i] === 0x0d)) i++;
  if (i < end && payload[i] === 0x2f /* '/' */) return true; // a comment first: look closer
  if (end - i < 4) return false;
  const a = payload[i] | 0x20;
  const b = payload[i + 1] | 0x20;
  const c = payload[i + 2] | 0x20;
  if (a === 0x6b && b === 0x69 && c === 0x6c && (payload[i + 3] | 0x20) === 0x6c) return end - i === 4 || isBoundary(payload[i + 4]); /* kill */
  if (!isBoundary(payload[i + 3])) return false;
  return (a === 0x73 && b === 0x65 && c === 0x74) /* set */ || (a === 0x75 && b === 0x73 && c === 0x65); /* use */
}

function isBoundary(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x40 /* @ */ || byte === 0x60 /* ` */;
}

/** `KILL [HARD|SOFT] [CONNECTION|QUERY] [ID] <n>`: what to kill, or null when the statement is not a plain KILL of a number. */
export function parseKill(sql: string): { query: boolean; id: number } | null {
  const match = /^KILL(?:\s+(?:HARD|SOFT))?(?:\s+(CONNECTION|QUERY))?(?:\s+ID)?\s+(\d+)\s*;?\s*$/i.exec(sql.slice(skipSpaceAndComments(sql)).trimEnd());
  return match ? { query: (match[1] ?? '').toUpperCase() === 'QUERY', id: Number(match[2]) } : null;
}

/** The same test on text: used on a whole intercepted statement to decide whether to record it. */
export function isSettingStatement(sql: string): boolean {
  const [first, second] = keywords(sql, 2);
  if (first === 'USE') return true;
  if (first !== 'SET') return false;
  return !(second === 'GLOBAL' || second?.startsWith('@@GLOBAL.') || second === 'PASSWORD');
}
