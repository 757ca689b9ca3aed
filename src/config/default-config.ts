/**
 * `mysqlda -a init`: the default config, byte for byte what mysqlda 0.0.7.1 wrote
 * (TAB indentation, a trailing space after each branch key's colon, a space before each comma, final newline).
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_CONFIG_TEXT = [
  '{',
  '\t"server" : ',
  '\t{',
  '\t\t"listen_ip" : "127.0.0.1" ,',
  '\t\t"listen_port" : 13306',
  '\t} ,',
  '\t"auth" : ',
  '\t{',
  '\t\t"user" : "calvin" ,',
  '\t\t"pass" : "calvin" ,',
  '\t\t"db" : "calvindb"',
  '\t} ,',
  '\t"session_pool" : ',
  '\t{',
  '\t\t"unused_forward_session_timeout" : 60',
  '\t} ,',
  '\t"forwards" : ',
  '\t[',
  '\t{',
  '\t\t"instance" : "mysqlda1" ,',
  '\t\t"forward" : ',
  '\t\t[',
  '\t\t{',
  '\t\t\t"ip" : "127.0.0.1" ,',
  '\t\t\t"port" : 3306',
  '\t\t}',
  '\t\t]',
  '\t}',
  '\t]',
  '}',
  '',
].join('\n');

/** init would overwrite a file and was not forced to. */
export class ConfigFileExistsError extends Error {
  override readonly name = 'ConfigFileExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists; refusing to overwrite it`);
  }
}

export interface WriteDefaultConfigOptions {
  /** Replace an existing file. */
  force?: boolean;
}

/**
 * Write DEFAULT_CONFIG_TEXT to `configPath` (relative to the current directory), creating missing parent
 * directories. The file holds a password, so it is created, or reset, with mode 0600.
 * Throws ConfigFileExistsError when the file exists and `force` is not set.
 */
export async function writeDefaultConfig(configPath: string, options: WriteDefaultConfigOptions = {}): Promise<string> {
  const target = path.resolve(configPath);
  await mkdir(path.dirname(target), { recursive: true });
  let file;
  try {
    // 'wx' fails if the file exists, without a check-then-write race.
    file = await open(target, options.force ? 'w' : 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigFileExistsError(target);
    throw error;
  }
  try {
    await file.chmod(0o600); // an overwritten file keeps its old mode otherwise
    await file.writeFile(DEFAULT_CONFIG_TEXT, 'utf8');
  } finally {
    await file.close();
  }
  return target;
}
