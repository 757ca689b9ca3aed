/**
 * Which MySQL directory `-a directory-import | directory-export` works on: config.directory when the config
 * layer has read storage.directory (kind 'mysql'), else storage.directory.mysql read here from the config text, with
 * the same rules: servers [{ "ip", "port" }], "user"/"pass" defaulting to auth's, "db" defaulting to
 * mysqlda_directory, "tls" as forwards[].forward[].tls.
 */
import path from 'node:path';
import { readBackendTls } from '../config/extensions.js';
import { field, readArray, readHost, readInteger, readSection, readString, Review } from '../config/fields.js';
import { parseJsonWithComments, type JsonObject } from '../config/jsonc.js';
import { LIMITS } from '../config/schema.js';
import type { DirectoryConfig, MysqlDirectoryConfig, MysqldaConfig } from '../config/types.js';
import { DEFAULT_DIRECTORY_DATABASE } from '../store/mysql/schema.js';

const DIRECTORY_KEYS = ['mysql'];
const MYSQL_KEYS = ['servers', 'user', 'pass', 'db', 'tls'];
const SERVER_KEYS = ['ip', 'port'];

/** The MySQL directory of a loaded config, or a message saying why there is none. */
export function mysqlDirectoryOf(config: MysqldaConfig, configText: string): MysqlDirectoryConfig | { problem: string } {
  const parsed = (config as MysqldaConfig & { directory?: DirectoryConfig }).directory;
  if (parsed?.kind === 'mysql') return parsed.mysql;
  if (parsed?.kind === 'files') return { problem: noDirectory(config) };
  return readMysqlDirectory(configText, config);
}

/** storage.directory.mysql of the config text; `config` gives auth's credentials and the config's directory. */
export function readMysqlDirectory(configText: string, config: Pick<MysqldaConfig, 'auth' | 'configPath'>): MysqlDirectoryConfig | { problem: string } {
  const document = parseJsonWithComments(configText).value as JsonObject;
  const review = new Review();
  const storage = document.storage as JsonObject | undefined;
  if (storage === undefined || storage.directory === undefined) return { problem: noDirectory(config) };
  const directory = readSection(review, field(storage, 'directory', 'storage'), DIRECTORY_KEYS);
  const mysql = directory && readSection(review, field(directory, 'mysql', 'storage.directory'), MYSQL_KEYS);
  if (!mysql) return { problem: review.problems.join('; ') || noDirectory(config) };
  const where = 'storage.directory.mysql';
  const servers = (readArray(review, field(mysql, 'servers', where), 'a list of { "ip", "port" }') ?? []).map((entry, i) => {
    const serverPath = `${where}.servers[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      review.problem(serverPath, 'must be an object { "ip", "port" }');
      return undefined;
    }
    const server = entry as JsonObject;
    for (const key of Object.keys(server)) if (!SERVER_KEYS.includes(key)) review.warning(`${serverPath}.${key}`, 'unknown key, ignored');
    const host = readHost(review, field(server, 'ip', serverPath));
    const port = readInteger(review, field(server, 'port', serverPath), LIMITS.port);
    return host === undefined || port === undefined ? undefined : { host, port };
  });
  const user = readString(review, field(mysql, 'user', where), { fallback: config.auth.user, nonEmpty: true });
  const password = readString(review, field(mysql, 'pass', where), { fallback: config.auth.password });
  const database = readString(review, field(mysql, 'db', where), { fallback: DEFAULT_DIRECTORY_DATABASE, nonEmpty: true });
  const tls = readBackendTls(review, mysql, where, path.dirname(config.configPath));
  const problems = review.problems;
  if (problems.length > 0 || servers.some((server) => server === undefined) || user === undefined || password === undefined || database === undefined || tls === undefined) {
    return { problem: problems.join('; ') || `${where}: invalid` };
  }
  return { servers: servers as { host: string; port: number }[], user, password, database, tls };
}

function noDirectory(config: Pick<MysqldaConfig, 'configPath'>): string {
  return `${config.configPath} names no MySQL directory (storage.directory.mysql)`;
}
