/**
 * Extension storage.directory: where the key directory lives. Absent or "files": mysqlda's save files in
 * storage.save_dir (the default). `{ "mysql": { "servers": [{ "ip", "port" }, ...], "user", "pass", "db", "tls" } }`:
 * InnoDB tables on a MySQL/MariaDB server shared by every proxy, the servers in failover order. user/pass default
 * to auth.user/auth.pass, db to mysqlda_directory, tls is as forwards[].forward[].tls. Pure.
 */
import { childPath, type JsonObject } from './jsonc.js';
import { Review, checkKnownKeys, describe, field, isJsonObject, readArray, readHost, readInteger, readString } from './fields.js';
import { readBackendTls } from './extensions.js';
import { DEFAULTS, KNOWN_KEYS, LIMITS } from './schema.js';
import type { DirectoryConfig, MysqlDirectoryConfig } from './types.js';

const PATH = 'storage.directory';

export function readDirectory(review: Review, document: JsonObject, auth: { user: string; password: string } | undefined, configDir: string): DirectoryConfig | undefined {
  const storage = document.storage;
  const value = isJsonObject(storage) ? storage.directory : undefined;
  if (value === undefined || value === null || value === 'files') return { kind: 'files' };
  if (!isJsonObject(value)) {
    review.problem(PATH, `must be "files" or { "mysql": { "servers": [{ "ip", "port" }], ... } }, got ${describe(value)}`);
    return undefined;
  }
  checkKnownKeys(review, value, PATH, KNOWN_KEYS.directory);
  const mysqlPath = childPath(PATH, 'mysql');
  const mysql = value.mysql;
  if (!isJsonObject(mysql)) {
    review.problem(mysqlPath, `must be an object { "servers": [{ "ip", "port" }], "user", "pass", "db", "tls" }, got ${mysql === undefined ? 'nothing' : describe(mysql)}`);
    return undefined;
  }
  const config = readMysql(review, mysql, mysqlPath, auth, configDir);
  return config && { kind: 'mysql', mysql: config };
}

function readMysql(review: Review, mysql: JsonObject, mysqlPath: string, auth: { user: string; password: string } | undefined, configDir: string): MysqlDirectoryConfig | undefined {
  checkKnownKeys(review, mysql, mysqlPath, KNOWN_KEYS.directory_mysql);
  const servers = readServers(review, mysql, mysqlPath);
  const user = readString(review, field(mysql, 'user', mysqlPath), { fallback: auth?.user, nonEmpty: true });
  const password = readString(review, field(mysql, 'pass', mysqlPath), { fallback: auth?.password ?? '' });
  const database = readString(review, field(mysql, 'db', mysqlPath), { fallback: DEFAULTS.directoryDatabase, nonEmpty: true });
  if (database !== undefined && !LIMITS.directoryDatabasePattern.test(database)) {
    review.problem(childPath(mysqlPath, 'db'), `must be 1-64 letters, digits, '_' or '$', got ${describe(database)}`);
    return undefined;
  }
  const tls = readBackendTls(review, mysql, mysqlPath, configDir);
  if (!servers || user === undefined || password === undefined || database === undefined || tls === undefined) return undefined;
  return { servers, user, password, database, tls };
}

function readServers(review: Review, mysql: JsonObject, mysqlPath: string): { host: string; port: number }[] | undefined {
  const serversPath = childPath(mysqlPath, 'servers');
  const list = readArray(review, field(mysql, 'servers', mysqlPath), 'an array of servers { "ip", "port" }, in failover order');
  if (!list) return undefined; // readArray reports an empty list too
  const seen = new Map<string, string>();
  const servers = list.map((entry, i) => {
    const serverPath = childPath(serversPath, i);
    if (!isJsonObject(entry)) {
      review.problem(serverPath, `must be an object { "ip", "port" }, got ${describe(entry)}`);
      return undefined;
    }
    checkKnownKeys(review, entry, serverPath, KNOWN_KEYS.directory_server);
    const host = readHost(review, field(entry, 'ip', serverPath));
    const port = readInteger(review, field(entry, 'port', serverPath), LIMITS.port);
    if (host === undefined || port === undefined) return undefined;
    const endpoint = `${host.toLowerCase()}:${port}`;
    const first = seen.get(endpoint);
    if (first !== undefined) {
      review.problem(serverPath, `server ${host}:${port} is listed twice (also ${first})`);
      return undefined;
    }
    seen.set(endpoint, serverPath);
    return { host, port };
  });
  return servers.every((s): s is { host: string; port: number } => s !== undefined) ? servers : undefined;
}

/** How a directory is named in logs and reload messages (never its password). */
export function describeDirectory(directory: DirectoryConfig): string {
  if (directory.kind === 'files') return 'files';
  const { servers, database } = directory.mysql;
  return `mysql ${servers.map((s) => `${s.host}:${s.port}`).join(',')}/${database}`;
}
