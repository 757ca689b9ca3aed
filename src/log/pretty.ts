/**
 * Log lines for a person at a terminal: `11:41:00.485 WARN  server 127.0.0.1:3306 is down  server=127.0.0.1:3306`.
 * pino still builds its JSON line (redaction included); this destination reads it back and prints it readably.
 * Only for a terminal (a foreground run on a TTY, the sandbox): files, pipes and journals get the JSON itself.
 */
import type { DestinationStream } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 20: 'DEBUG', 30: 'INFO', 35: 'NOTICE', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours per level: grey debug, plain info, bold notice, yellow warn, red error and fatal. */
const LEVEL_COLOURS: Record<number, string> = { 20: '\x1b[90m', 30: '', 35: '\x1b[1m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[1;31m' };
const RESET = '\x1b[0m';
/** Fields every line has, shown in the line's head (or not at all: pid, the same on every line of a process). */
const HEAD_FIELDS = new Set(['level', 'time', 'pid', 'msg', 'role', 'err']);

export interface PrettyOptions {
  colour: boolean;
}

/** One pino JSON line → one readable line (or more, for an error's stack). A line that is not JSON passes as is. */
export function prettyLine(json: string, options: PrettyOptions): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVEL_NAMES[level] ?? `LEVEL${level}`).padEnd(6);
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const role = typeof entry.role === 'string' ? `${entry.role}: ` : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const colour = options.colour ? (LEVEL_COLOURS[level] ?? '') : '';
  const head = colour === '' ? name : `${colour}${name}${RESET}`;
  const tail = fields.length === 0 ? '' : options.colour ? `  \x1b[2m${fields.join(' ')}${RESET}` : `  ${fields.join(' ')}`;
  return `${time} ${head} ${role}${String(entry.msg ?? '')}${tail}\n${errorLines(entry.err)}`;
}

/** pino's serialized error: its stack (which starts with the message), indented under the line. */
function errorLines(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  const text = typeof stack === 'string' ? stack : typeof message === 'string' ? message : JSON.stringify(err);
  return text
    .split('\n')
    .map((line) => `    ${line}\n`)
    .join('');
}

/** A pino destination that writes readable lines to `stream` (stdout of a terminal). NO_COLOR turns colours off. */
export function prettyDestination(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): DestinationStream {
  const options = { colour: env.NO_COLOR === undefined || env.NO_COLOR === '' };
  return { write: (line: string) => void stream.write(prettyLine(line, options)) };
}

/** Readable lines on a terminal, pino's JSON (undefined: pino's own fast stdout destination) everywhere else. */
export function terminalDestination(stream: NodeJS.WriteStream = process.stdout): DestinationStream | undefined {
  return stream.isTTY ? prettyDestination(stream) : undefined;
}
