/**
 * The statement clock of one session: when the command its backend is answering went out, how long the answer
 * took (into the library's duration histogram), whether that was slow enough to log, and whether it ran past the
 * account's query_timeout_ms. The splice drives it, once when a command goes out to an idle backend and once when
 * an answer ends; both are a timestamp read and a few field writes. Anything more (the statement's text for the
 * slow-query log, the timeout's timer) is done only when configured.
 */
import { DEFAULTS } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { CommandDurations, DurationBuckets } from '../observability/command-durations.js';
import { Command } from '../protocol/constants.js';

/** Proxy-wide: where durations go and the slow-query threshold (a reload changes it in place). */
export class StatementTiming {
  readonly durations = new CommandDurations();
  constructor(public slowQueryMs = 0) {}
}

/** A statement whose answer took at least log.slow_query_ms. */
export interface SlowStatement {
  ms: number;
  /** Bytes relayed to the client while the answer was awaited. */
  bytes: number;
  command: number;
  /** The head of the command's payload, after its command byte (COM_QUERY: the SQL text); null when unknown. */
  text: Buffer | null;
}

export interface StatementClockOwner {
  slowStatement(statement: SlowStatement): void;
  /** The statement in flight has run for the account's query_timeout_ms. */
  statementOverdue(): void;
}

/** Not part of any library: the durations of a session without a configured timing. */
const UNTIMED = new StatementTiming();

export class StatementClock {
  /** The library the session is on; replaced when it routes. */
  durations: DurationBuckets;
  /** performance.now() when the answer now awaited was asked for; -1 when none is. */
  private startedAt = -1;
  private bytesAtStart = 0;
  /** The command being answered, -1 when not known (a pipelined command queued behind another). */
  private command = -1;
  /** A copy of the head of the command's payload, kept only while the slow-query log is on. */
  private text: Buffer | null = null;
  private textLength = 0;
  private timeoutMs = 0;
  /**
   * One timer per session, armed when a statement starts and none is pending. When it fires it looks at the
   * statement running then and re-arms for what is left of its time: a statement costs a null check, not a timer
   * operation.
   */
  private timer: NodeJS.Timeout | null = null;

  private readonly timing: StatementTiming;

  constructor(
    private readonly owner: StatementClockOwner,
    timing: StatementTiming | undefined,
    library: string,
  ) {
    this.timing = timing ?? UNTIMED;
    this.durations = this.timing.durations.forLibrary(library);
  }

  routed(library: string): void {
    this.durations = this.timing.durations.forLibrary(library);
  }

  /** The account's query_timeout_ms (0: none). */
  setTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.stop();
  }

  /** A command went out to a backend with nothing outstanding: `buf[start]` is its first payload byte. */
  start(buf: Buffer, start: number, payloadLength: number, bytesOut: number): void {
    this.startedAt = performance.now();
    this.bytesAtStart = bytesOut;
    this.command = buf[start];
    if (this.timing.slowQueryMs > 0) this.keepText(buf, start, payloadLength);
    if (this.timeoutMs > 0) this.arm();
  }

  /** The answer ended; `more` when another command is already waiting for its answer (pipelined). */
  end(bytesOut: number, more: boolean): void {
    if (this.startedAt < 0) return;
    const now = performance.now();
    const ms = now - this.startedAt;
    this.durations.observe(ms / 1000);
    const slowMs = this.timing.slowQueryMs;
    if (slowMs > 0 && ms >= slowMs) {
      const text = this.command >= 0 && this.text !== null ? this.text.subarray(0, this.textLength) : null;
      this.owner.slowStatement({ ms, bytes: bytesOut - this.bytesAtStart, command: this.command, text });
    }
    if (!more) {
      this.startedAt = -1;
      return;
    }
    // The next queued answer starts now: its time excludes the wait behind the one before.
    this.startedAt = now;
    this.bytesAtStart = bytesOut;
    this.command = -1;
    if (this.timeoutMs > 0) this.arm();
  }

  /** A statement is being answered. */
  get running(): boolean {
    return this.startedAt >= 0;
  }

  /** The session ends or changes account: no timer may outlive it (a pending timer keeps the session in memory). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private keepText(buf: Buffer, start: number, payloadLength: number): void {
    const text = (this.text ??= Buffer.allocUnsafe(DEFAULTS.slowQueryTextBytes));
    // Only what this read holds: a statement split over several reads is quoted as far as it arrived.
    const end = Math.min(start + payloadLength, buf.length, start + 1 + text.length);
    this.textLength = end > start + 1 ? buf.copy(text, 0, start + 1, end) : 0;
  }

  private arm(): void {
    if (this.timer === null) this.timer = setTimeout(this.onTimeout, this.timeoutMs).unref();
  }

  private readonly onTimeout = (): void => {
    this.timer = null;
    if (this.startedAt < 0) return; // nothing running: the next statement arms it again
    const left = this.startedAt + this.timeoutMs - performance.now();
    if (left <= 0) this.owner.statementOverdue();
    else this.timer = setTimeout(this.onTimeout, left).unref();
  };
}

const COMMAND_NAMES = new Map<number, string>(Object.entries(Command).map(([name, code]) => [code, `COM_${name}`]));

/** A command's name as MySQL's documentation writes it (COM_QUERY), for logs. */
export function commandName(command: number): string {
  return COMMAND_NAMES.get(command) ?? `command 0x${command.toString(16)}`;
}

/** Text cut to `maxBytes` of UTF-8 at most, without splitting a character. */
export function cutText(text: string, maxBytes: number = DEFAULTS.slowQueryTextBytes): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  return `${cut.endsWith('\ufffd') ? cut.slice(0, -1) : cut}…`;
}

/**
 * What a slow-query log line quotes: COM_QUERY's text, a prepared statement's SQL when `preparedSql` knows the
 * backend statement id, else the command's name. Cut to log.slow_query_ms's quoting limit.
 */
export function statementText(statement: SlowStatement, preparedSql: (backendId: number) => string | null): string {
  const { command, text } = statement;
  if (command === Command.QUERY && text !== null) return cutText(text.toString('utf8'));
  if (command === Command.STMT_EXECUTE && text !== null && text.length >= 4) {
    const sql = preparedSql(text.readUInt32LE(0));
    if (sql !== null) return cutText(sql);
  }
  return command < 0 ? '(a command pipelined behind another)' : commandName(command);
}

/** The slow-query log line of an answer that took at least log.slow_query_ms; `where`: the session's fields. */
export function logSlowStatement(logger: Logger, where: Record<string, unknown>, statement: SlowStatement, preparedSql: (backendId: number) => string | null): void {
  const durationMs = Math.round(statement.ms * 1000) / 1000;
  logger.notice({ ...where, durationMs, bytes: statement.bytes, statement: statementText(statement, preparedSql) }, 'slow statement');
}
