/**
 * Opens the key directory the config names (storage.directory): mysqlda's save files, or the shared MySQL
 * directory with its one DirectoryClient for the process. That client is handed back so that other shared state
 * (the failover state) uses the same connections and the same view of whether the directory server is reachable.
 */
import os from 'node:os';
import type { MysqldaConfig } from '../config/types.js';
import { DurableDirectory } from './durable-directory.js';
import type { KeyDirectory } from './key-directory.js';
import { DirectoryClient } from './mysql/directory-client.js';
import { MysqlDirectory } from './mysql/mysql-directory.js';

export interface OpenedDirectory {
  directory: KeyDirectory;
  /** The shared directory's client (storage.directory.mysql), or null with save files. */
  client: DirectoryClient | null;
  /** Closes the directory, then the client. */
  close(): Promise<void>;
}

export async function openKeyDirectory(
  config: MysqldaConfig,
  log: (message: string) => void,
  notice: (message: string) => void = log,
): Promise<OpenedDirectory> {
  const libraries = config.libraries.map(({ name, weight }) => ({ name, weight }));
  if (config.directory.kind === 'files') {
    const directory = await DurableDirectory.open({ saveDir: config.saveDir, libraries, log });
    return { directory, client: null, close: () => directory.close() };
  }
  const client = new DirectoryClient(config.directory.mysql, { connectTimeoutMs: config.pool.connectTimeoutMs, log, notice });
  try {
    const identity = `${os.hostname()}:${config.listen.port} pid ${process.pid}`;
    const directory = await MysqlDirectory.open({ client, libraries, identity, log });
    return {
      directory,
      client,
      close: async () => {
        await directory.close();
        await client.close();
      },
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
