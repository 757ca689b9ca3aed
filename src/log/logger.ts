import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** mysqlda's log levels (LOGC), mapped onto pino with NOTICE between info and warn. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Logger = PinoLogger<'notice'>;

/** Field names whose values never reach a log line, at any level. */
const REDACTED_PATHS = ['password', 'pass', '*.password', '*.pass', 'auth.pass', 'auth.password', 'config.auth'];

export function createLogger(level: LogLevel = 'notice', destination?: DestinationStream): Logger {
  const options = {
    level,
    customLevels: { notice: 35 },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return (destination ? pino(options, destination) : pino(options)) as Logger;
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return createLogger('fatal', { write() {} } as DestinationStream).child({}, { level: 'silent' }) as Logger;
}
