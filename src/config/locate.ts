/**
 * Where the config file is when -f is not given. mysqlda used $HOME/etc/mysqlda.conf only; a checkout or an
 * install directory with its own etc/mysqlda.conf is looked at first. Paths are resolved against the current
 * directory and the process never changes directory (mysqlda's daemon did chdir("/tmp"), which moved them).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CONFIG_FILE_NAME = 'mysqlda.conf';

export interface LocateOptions {
  /** Defaults to process.cwd(). */
  cwd?: string;
  /** Defaults to $HOME, else the account's home directory. */
  home?: string;
  /** Defaults to fs.existsSync. */
  exists?: (file: string) => boolean;
}

/** `./etc/mysqlda.conf` if it exists, else `$HOME/etc/mysqlda.conf` (which may not exist yet, e.g. for init). */
export function defaultConfigPath(options: LocateOptions = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const exists = options.exists ?? existsSync;
  const local = path.resolve(cwd, 'etc', CONFIG_FILE_NAME);
  if (exists(local)) return local;
  const home = options.home ?? (process.env.HOME || os.homedir());
  return path.resolve(cwd, home, 'etc', CONFIG_FILE_NAME);
}

/** The absolute config path: `given` (the -f argument) resolved against the current directory, else the default. */
export function resolveConfigPath(given: string | undefined, options: LocateOptions = {}): string {
  if (given !== undefined) return path.resolve(options.cwd ?? process.cwd(), given);
  return defaultConfigPath(options);
}
