/**
 * `mysqlda -a start --no-daemon`: load the configuration, start the proxy, serve until SIGTERM or SIGINT,
 * then close it. A second signal while closing exits at once.
 */
import path from 'node:path';
import { ConfigError, loadConfigFileWithWarnings } from '../config/load.js';
import { resolveConfigPath } from '../config/locate.js';
import type { MysqldaConfig } from '../config/types.js';
import type { Logger, LogLevel } from '../log/logger.js';
import type { RunningProxy } from '../server.js';
import { EXIT } from './args.js';

export type StoppableProxy = Pick<RunningProxy, 'address' | 'close'>;

export type StopSignal = 'SIGTERM' | 'SIGINT';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT'];
/** Conventional status of a process ended by a signal: 128 + its number. */
const FORCED_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };
/** The core save file inside the save directory (owned by the store; named here only to check -s). */
const CORE_SAVE_FILE = 'mysqlda.save';

/** What the foreground run needs from the outside world; tests pass fakes. */
export interface ForegroundDeps {
  cwd: string;
  stderr: (text: string) => void;
  createLogger: (level: LogLevel) => Logger;
  /** src/server.ts's startProxy; only the listen address and close() are used here. */
  startProxy: (config: MysqldaConfig, logger: Logger) => Promise<StoppableProxy>;
  /** Where SIGTERM/SIGINT arrive: `process` in production. */
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** Ends the process at once (second signal). */
  exit: (code: number) => void;
}

export interface ForegroundOptions {
  configFile?: string;
  saveFile?: string;
  logLevel: LogLevel;
}

export async function runForeground(options: ForegroundOptions, deps: ForegroundDeps): Promise<number> {
  const configPath = resolveConfigPath(options.configFile, { cwd: deps.cwd });
  let loaded;
  try {
    loaded = await loadConfigFileWithWarnings(configPath);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    deps.stderr(formatConfigError(error));
    return EXIT.failure;
  }
  const logger = deps.createLogger(options.logLevel);
  for (const warning of loaded.warnings) logger.warn({ configPath }, `config: ${warning}`);
  const config = applySaveFileOverride(loaded.config, options.saveFile, deps.cwd, logger);

  const stop = waitForStopSignal(deps.signals, (signal) => {
    logger.warn({ signal }, `second ${signal}: exiting without a clean stop`);
    deps.exit(FORCED_EXIT[signal]);
  });
  try {
    let proxy: StoppableProxy;
    try {
      proxy = await deps.startProxy(config, logger);
    } catch (error) {
      deps.stderr(`mysqlda: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failure;
    }
    const { host, port } = proxy.address;
    logger.notice({ listen: { host, port }, configPath }, `mysqlda listening on ${formatAddress(host, port)}`);

    const signal = await stop.received;
    logger.notice({ signal }, `${signal} received: stopping`);
    try {
      await proxy.close();
    } catch (error) {
      logger.error({ err: error }, 'stop failed');
      return EXIT.failure;
    }
    logger.notice('mysqlda stopped');
    return EXIT.ok;
  } finally {
    stop.dispose();
  }
}

/** Every problem on its own line, for the operator's terminal or the service manager's journal. */
export function formatConfigError(error: ConfigError): string {
  const lines = error.problems.map((problem) => `  ${problem}\n`).join('');
  const where = error.configPath === '' ? '' : ` ${error.configPath}`;
  return `mysqlda: invalid configuration${where}:\n${lines}`;
}

/** mysqlda's -s named the core save file; here its directory is the save directory. */
function applySaveFileOverride(config: MysqldaConfig, saveFile: string | undefined, cwd: string, logger: Logger) {
  if (saveFile === undefined) return config;
  const file = path.resolve(cwd, saveFile);
  const saveDir = path.dirname(file);
  if (path.basename(file) !== CORE_SAVE_FILE) {
    const coreSaveFile = path.join(saveDir, CORE_SAVE_FILE);
    logger.warn({ saveFile: file }, `-s: only the directory is used; the core save file is ${coreSaveFile}`);
  }
  return { ...config, saveDir };
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

interface StopWaiter {
  /** Resolves with the first SIGTERM or SIGINT, even one that came while the proxy was starting. */
  received: Promise<StopSignal>;
  dispose(): void;
}

function waitForStopSignal(
  signals: ForegroundDeps['signals'],
  onSecondSignal: (signal: StopSignal) => void,
): StopWaiter {
  let first: StopSignal | undefined;
  let resolve!: (signal: StopSignal) => void;
  const received = new Promise<StopSignal>((r) => {
    resolve = r;
  });
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (first === undefined) {
        first = signal;
        resolve(signal);
      } else {
        onSecondSignal(signal);
      }
    };
    signals.on(signal, handler);
    return { signal, handler };
  });
  return {
    received,
    dispose: () => handlers.forEach(({ signal, handler }) => signals.off(signal, handler)),
  };
}
