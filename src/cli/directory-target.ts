/**
 * Which MySQL directory `-a directory-import | directory-export` works on: the config's storage.directory.mysql.
 */
import type { MysqlDirectoryConfig, MysqldaConfig } from '../config/types.js';

/** The MySQL directory of a loaded config, or a message saying why there is none. */
export function mysqlDirectoryOf(config: Pick<MysqldaConfig, 'directory' | 'configPath'>): MysqlDirectoryConfig | { problem: string } {
  if (config.directory.kind === 'mysql') return config.directory.mysql;
  return { problem: `${config.configPath} names no MySQL directory: add storage.directory.mysql { "servers": [{ "ip", "port" }], ... }` };
}
