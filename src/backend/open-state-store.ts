/**
 * The failover state store the config asks for: mysqlda.state.json in the save directory by default, the
 * directory's mysqlda_library_state when storage.directory is a MySQL server (every proxy on it then shares each
 * library's current server).
 */
import os from 'node:os';
import { DEFAULTS } from '../config/schema.js';
import type { DirectoryConfig, MysqldaConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { DirectoryClient } from '../store/mysql/directory-client.js';
import { MysqlStateStore } from '../store/mysql/mysql-state-store.js';
import { readSavedState, type SavedState } from './current-server-file.js';
import type { FailoverStateStore } from './failover-state-store.js';
import { FileStateStore } from './file-state-store.js';

/** storage.directory of the config (files for a config object built without it). */
export function directoryConfigOf(config: MysqldaConfig): DirectoryConfig {
  return config.directory ?? { kind: 'files' };
}

/**
 * Opens the store. Rejects when it cannot be used: a damaged state file (StateFileError), or a directory server
 * that cannot be reached or has a newer schema (DirectoryError): a proxy that does not know each library's shared
 * current server must not serve.
 *
 * `sharedClient`: the process's connection to the directory server, opened (schema checked) for the key directory;
 * the store then uses it, so both see the directory reachable or not alike, and leaves closing it to its owner.
 */
export async function openFailoverStateStore(config: MysqldaConfig, logger: Logger, sharedClient: DirectoryClient | null = null): Promise<FailoverStateStore> {
  const directory = directoryConfigOf(config);
  if (directory.kind === 'files') {
    const file = FileStateStore.fileIn(config.saveDir, DEFAULTS.stateFileName);
    return FileStateStore.open(file, (error) => logger.error({ err: error }, `could not save the current servers to ${file}`));
  }
  // A directory server that answers no faster than a health check may take counts as unreachable.
  const writer = `${os.hostname()}:${config.listen.port} pid ${process.pid}`;
  if (sharedClient) return new MysqlStateStore(sharedClient, writer, config.health.timeoutMs, false);
  const client = new DirectoryClient(directory.mysql, {
    connectTimeoutMs: config.pool.connectTimeoutMs,
    connectionLimit: 2,
    log: (message) => logger.warn(`failover state: ${message}`),
  });
  try {
    await client.ensureSchema();
  } catch (err) {
    await client.close();
    throw err;
  }
  return new MysqlStateStore(client, writer, config.health.timeoutMs);
}

/**
 * With a shared store: this machine's mysqlda.state.json, if one was left by files mode, as the first state of
 * libraries the directory has no row for yet. Empty with files (the store is the file) or when it cannot be read
 * (logged: those libraries start at their first server).
 */
export async function stateFileSeed(config: MysqldaConfig, logger: Logger): Promise<SavedState> {
  if (directoryConfigOf(config).kind === 'files') return new Map();
  const file = FileStateStore.fileIn(config.saveDir, DEFAULTS.stateFileName);
  try {
    return await readSavedState(file);
  } catch (err) {
    logger.warn(`${(err as Error).message}; libraries the directory does not know yet start at their first server`);
    return new Map();
  }
}
