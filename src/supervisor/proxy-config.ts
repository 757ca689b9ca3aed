/**
 * The configuration a mysqlda process serves: the config file, with -s's save directory on top.
 * Shared by the foreground run, the daemon's start check, its supervisor and its worker.
 */
import path from 'node:path';
import { ConfigError, loadConfigFileWithWarnings } from '../config/load.js';
import { resolveConfigPath } from '../config/locate.js';
import { DEFAULTS } from '../config/schema.js';
import type { MysqldaConfig } from '../config/types.js';
import type { LogLevel } from '../log/logger.js';

/** The core save file inside the save directory (owned by the store; named here only to check -s). */
const CORE_SAVE_FILE = 'mysqlda.save';

export interface ServedConfig {
  config: MysqldaConfig;
  /**
   * The config file's warnings (unknown keys, a world-readable file) as the loader words them: the reloader, which
   * also reads the file through loadServedConfig, prefixes them with `config: ` itself.
   */
  warnings: string[];
  /** What to say once at start: the file's warnings as `config: …` lines, and an -s name that is not mysqlda.save. */
  startWarnings: string[];
}

/** Loads and validates `configPath` (absolute); throws ConfigError listing every problem. */
export async function loadServedConfig(configPath: string, saveFile: string | undefined, cwd: string): Promise<ServedConfig> {
  const loaded = await loadConfigFileWithWarnings(configPath);
  const warnings = loaded.warnings;
  const startWarnings = warnings.map((warning) => `config: ${warning}`);
  if (saveFile === undefined) return { config: loaded.config, warnings, startWarnings };
  // mysqlda's -s named the core save file; here its directory is the save directory.
  const file = path.resolve(cwd, saveFile);
  const saveDir = path.dirname(file);
  if (path.basename(file) !== CORE_SAVE_FILE) {
    startWarnings.push(`-s: only the directory is used; the core save file is ${path.join(saveDir, CORE_SAVE_FILE)}`);
  }
  return { config: { ...loaded.config, saveDir }, warnings, startWarnings };
}

/**
 * The log level to start with: the config's daemon.log_level when it sets one (a reload can then change it),
 * else the command line's --loglevel-* or its default.
 */
export function startLogLevel(config: MysqldaConfig, commandLine: LogLevel): LogLevel {
  return config.daemon.logLevel ?? commandLine;
}

/** Every problem on its own line, for the operator's terminal or the service manager's journal. */
export function formatConfigError(error: ConfigError): string {
  const lines = error.problems.map((problem) => `  ${problem}\n`).join('');
  const where = error.configPath === '' ? '' : ` ${error.configPath}`;
  return `mysqlda: invalid configuration${where}:\n${lines}`;
}

/**
 * The pid file of a config, for stop/status/reload/kill. These must work even after someone broke the config
 * file while mysqlda runs: then the default place is used, with `problem` saying why.
 */
export async function locatePidFile(configPath: string): Promise<{ pidFile: string; problem: string | null; drainTimeoutSeconds?: number }> {
  try {
    const { config } = await loadConfigFileWithWarnings(configPath);
    return { pidFile: config.daemon.pidFile, problem: null, drainTimeoutSeconds: config.shutdown.drainTimeoutSeconds };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const pidFile = path.join(path.dirname(configPath), DEFAULTS.pidFileName);
    const first = error.problems[0] ?? 'invalid';
    return { pidFile, problem: `${configPath} is invalid (${first}); looking for the pid file at ${pidFile}` };
  }
}

export { ConfigError };

/**
 * The config for `start`, with or without a daemon: its path resolved from the command line, every problem
 * printed through `stderr` when it is invalid (then null, and the caller exits 1).
 */
export async function loadConfigForStart(
  configFile: string | undefined,
  saveFile: string | undefined,
  cwd: string,
  stderr: (text: string) => void,
): Promise<{ configPath: string; served: ServedConfig } | null> {
  const configPath = resolveConfigPath(configFile, { cwd });
  try {
    return { configPath, served: await loadServedConfig(configPath, saveFile, cwd) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr(formatConfigError(error));
    return null;
  }
}
