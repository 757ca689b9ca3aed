/**
 * The daemon's log file (config daemon.log_file): pino JSON lines, appended asynchronously (pino.destination,
 * no transport: no worker thread, and the single binary can bundle it), reopened on SIGHUP for logrotate.
 * Supervisor and worker append to the same file, each through its own O_APPEND descriptor, a whole line per write.
 *
 * mysqlda opened and closed its log for every line, with mode 0777 & ~umask (world-writable in daemon mode),
 * and dropped lines silently when $HOME/log was missing. Here the directory is created (0750) and the file is 0640.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { createLogger, type Logger, type LogLevel } from '../log/logger.js';

export interface LogFile {
  readonly path: string;
  readonly logger: Logger;
  /** Opens the path again (after logrotate moved the file away); lines written meanwhile go to the new file. */
  reopen(): void;
  /** Writes what is buffered, synchronously: for the last line before process.exit. */
  flushSync(): void;
  /** Writes what is buffered and closes the file. */
  close(): Promise<void>;
}

export class LogFileError extends Error {}

/** Opens (creating it and its directory) `file` for appending; throws LogFileError saying why it cannot. */
export function openLogFile(file: string, level: LogLevel): LogFile {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    // Opened once synchronously so that a permission problem is an error now, not a lost line later.
    closeSync(openSync(file, 'a', 0o640));
  } catch (error) {
    throw new LogFileError(`cannot open the log file ${file}: ${(error as Error).message}`);
  }
  const destination = pino.destination({ dest: file, sync: false, mkdir: true, mode: 0o640 });
  // A full disk or a removed directory must not crash the proxy: the lines are lost, the sessions are not.
  destination.on('error', () => {});
  const logger = createLogger(level, destination);
  let closing: Promise<void> | null = null;
  return {
    path: file,
    logger,
    reopen: () => destination.reopen(),
    flushSync() {
      try {
        destination.flushSync();
      } catch {
        // not open yet, or already closed: nothing to flush
      }
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        destination.once('close', () => resolve());
        destination.end();
      })),
  };
}

/**
 * A worker of a --no-daemon primary logs to the stdout it inherits, as the primary does: JSON lines, one whole line
 * per write (stdout is a pipe or a terminal, so lines of the processes do not interleave within a line).
 */
export function stdoutLog(level: LogLevel): LogFile {
  const destination = pino.destination({ dest: 1, sync: false });
  destination.on('error', () => {});
  return {
    path: '(stdout)',
    logger: createLogger(level, destination),
    reopen: () => {},
    flushSync() {
      try {
        destination.flushSync();
      } catch {
        // not open yet: nothing to flush
      }
    },
    close: async () => {
      try {
        destination.flushSync();
      } catch {
        // nothing to flush
      }
    },
  };
}
