/**
 * From a parsed mysqlda.conf document to a MysqldaConfig, or one ConfigError listing every problem.
 * Pure: no file access (load.ts checks the files the config names). Defaults come from schema.ts.
 */
import path from 'node:path';
import { childPath, type JsonObject, type JsonValue } from './jsonc.js';
import { ConfigError } from './errors.js';
import {
  Review,
  checkKnownKeys,
  describe,
  field,
  isJsonObject,
  isPresent,
  readArray,
  readHost,
  readInteger,
  readPositiveNumber,
  readSection,
  readString,
} from './fields.js';
import { DEFAULTS, KNOWN_KEYS, LIMITS, defaultSaveDir } from './schema.js';
import { readAdmin, readBackendTls, readDaemon, readFailover, readHealth, readLibraryFailoverMode, readLog, readTls, readUsers } from './extensions.js';
import { readAccountLimits, readFrontDoor, readRules, type AccountLimits } from './front-door.js';
import { readDirectory } from './directory.js';
import { nativePasswordHashText } from '../protocol/auth.js';
import type { ClientUserConfig, LibraryConfig, MysqldaConfig, PoolConfig, ServerConfig } from './types.js';

export interface ValidatedConfig {
  config: MysqldaConfig;
  /** Things that do not stop the proxy but the operator should see (unknown keys, surprising choices). */
  warnings: string[];
}

const NO_LIMITS: AccountLimits = { hosts: null, maxConnections: null, maxQueriesPerSecond: null };

type Credentials = MysqldaConfig['auth'] & { limits: AccountLimits };

export function validateConfig(document: JsonValue, configPath: string): ValidatedConfig {
  const absolutePath = path.resolve(configPath);
  if (!isJsonObject(document)) {
    throw new ConfigError(absolutePath, [`(top level): must be a JSON object, got ${describe(document)}`]);
  }
  const review = new Review();
  checkKnownKeys(review, document, '', KNOWN_KEYS.top);

  const server = readListen(review, document);
  const listen = server?.listen;
  const frontDoor = server?.frontDoor;
  const auth = readAuth(review, document);
  const pool = readPool(review, document);
  const saveDir = readSaveDir(review, document, absolutePath);
  const configDir = path.dirname(absolutePath);
  const libraries = readLibraries(review, document, auth ?? { user: '', password: '', database: '', limits: NO_LIMITS }, configDir);

  const libraryNames = libraries ? new Set(libraries.map((library) => library.name)) : undefined;
  const users = readUsers(review, document, auth?.user, libraryNames);
  const tls = readTls(review, document, configDir);
  const health = readHealth(review, document);
  const failover = readFailover(review, document);
  const admin = readAdmin(review, document);
  const daemon = readDaemon(review, document, configDir);
  const accountNames = users && auth ? new Set([auth.user, ...users.map((user) => user.user)]) : undefined;
  const rules = readRules(review, document, accountNames, libraryNames);
  const shutdown = readShutdown(review, document);
  const log = readLog(review, document);
  const directory = readDirectory(review, document, auth, configDir);
  const workers = readWorkers(review, document);

  if (review.problems.length > 0 || !listen || !frontDoor || !auth || !pool || saveDir === undefined || !libraries || !rules) {
    throw new ConfigError(absolutePath, review.problems);
  }
  if (!users || tls === undefined || !health || !failover || !admin || !daemon) throw new ConfigError(absolutePath, review.problems);
  if (!shutdown || !log || !directory || workers === undefined) throw new ConfigError(absolutePath, review.problems);
  const extensions = { users: [authAccount(auth), ...users], tls, health, failover, admin, daemon, rules, shutdown, log, directory, workers };
  const credentials = { user: auth.user, password: auth.password, database: auth.database };
  return { config: { configPath: absolutePath, listen, frontDoor, auth: credentials, pool, saveDir, libraries, ...extensions }, warnings: review.warnings };
}

/** mysqlda's single `auth` block as the first client account. */
function authAccount(auth: Credentials): ClientUserConfig {
  return {
    user: auth.user,
    passwordHash: auth.password === '' ? null : nativePasswordHashText(auth.password),
    database: auth.database,
    library: null,
    key: null,
    admin: false,
    ...auth.limits,
  };
}

/** `server`: the listen address, and the front door's extension keys. */
function readListen(review: Review, document: JsonObject): Pick<MysqldaConfig, 'listen' | 'frontDoor'> | undefined {
  const server = readSection(review, field(document, 'server', ''), KNOWN_KEYS.server);
  if (!server) return undefined;
  const ip = field(server, 'listen_ip', 'server');
  let host: string | undefined;
  if (!isPresent(ip)) {
    host = DEFAULTS.listenHost;
    review.warning(
      'server.listen_ip',
      `absent: listening on ${DEFAULTS.listenHost} only (mysqlda listened on every address; "" or "0.0.0.0" does that)`,
    );
  } else if (server.listen_ip === '') {
    host = DEFAULTS.anyAddressHost;
  } else {
    host = readHost(review, ip);
  }
  const port = readInteger(review, field(server, 'listen_port', 'server'), LIMITS.port);
  const frontDoor = readFrontDoor(review, server);
  return host !== undefined && port !== undefined && frontDoor !== undefined ? { listen: { host, port }, frontDoor } : undefined;
}

/** Extension server.drain_timeout_s (read apart from readListen: the listen address is mysqlda's own). */
function readShutdown(review: Review, document: JsonObject): MysqldaConfig['shutdown'] | undefined {
  const server = document.server;
  if (!isJsonObject(server)) return { drainTimeoutSeconds: DEFAULTS.drainTimeoutSeconds };
  const drainTimeoutSeconds = readInteger(review, field(server, 'drain_timeout_s', 'server'), LIMITS.drainTimeoutSeconds, DEFAULTS.drainTimeoutSeconds);
  return drainTimeoutSeconds === undefined ? undefined : { drainTimeoutSeconds };
}

// --- server.workers ---
/** Extension server.workers: how many processes serve the listening port. */
function readWorkers(review: Review, document: JsonObject): number | undefined {
  const server = document.server;
  if (!isJsonObject(server)) return DEFAULTS.workers;
  return readInteger(review, field(server, 'workers', 'server'), LIMITS.workers, DEFAULTS.workers);
}

function readAuth(review: Review, document: JsonObject): Credentials | undefined {
  const auth = readSection(review, field(document, 'auth', ''), KNOWN_KEYS.auth);
  if (!auth) return undefined;
  const user = readString(review, field(auth, 'user', 'auth'), { nonEmpty: true });
  const password = readString(review, field(auth, 'pass', 'auth'), { fallback: DEFAULTS.authPassword });
  const database = readString(review, field(auth, 'db', 'auth'), { fallback: DEFAULTS.authDatabase });
  // Extensions: the account limits users[] accounts have, for configs that keep mysqlda's single account.
  const limits = readAccountLimits(review, auth, 'auth');
  if (user === undefined || password === undefined || database === undefined || limits === undefined) return undefined;
  return { user, password, database, limits };
}

function readPool(review: Review, document: JsonObject): PoolConfig | undefined {
  const pool = readSection(review, field(document, 'session_pool', ''), KNOWN_KEYS.session_pool);
  if (!pool) return undefined;
  const idleTimeoutSeconds = readInteger(
    review,
    field(pool, 'unused_forward_session_timeout', 'session_pool'),
    LIMITS.idleTimeoutSeconds,
    DEFAULTS.idleTimeoutSeconds,
  );
  const maxConnectionsPerServer = readInteger(
    review,
    field(pool, 'max_connections_per_server', 'session_pool'),
    LIMITS.maxConnectionsPerServer,
    DEFAULTS.maxConnectionsPerServer,
  );
  const connectTimeoutMs = readInteger(
    review,
    field(pool, 'connect_timeout_ms', 'session_pool'),
    LIMITS.connectTimeoutMs,
    DEFAULTS.connectTimeoutMs,
  );
  const maxResetDelayMs = readInteger(
    review,
    field(pool, 'max_reset_delay_ms', 'session_pool'),
    LIMITS.maxResetDelayMs,
    DEFAULTS.maxResetDelayMs,
  );
  if (
    idleTimeoutSeconds === undefined ||
    maxConnectionsPerServer === undefined ||
    connectTimeoutMs === undefined ||
    maxResetDelayMs === undefined
  ) {
    return undefined;
  }
  return { idleTimeoutSeconds, maxConnectionsPerServer, connectTimeoutMs, maxResetDelayMs };
}

function readSaveDir(review: Review, document: JsonObject, configPath: string): string | undefined {
  const storage = readSection(review, field(document, 'storage', ''), KNOWN_KEYS.storage);
  if (!storage) return undefined;
  const fallback = defaultSaveDir(configPath);
  const dir = readString(review, field(storage, 'save_dir', 'storage'), { fallback, nonEmpty: true });
  return dir === undefined ? undefined : path.resolve(path.dirname(configPath), dir);
}

/** Where each library name and each server+database was first seen, to report repeats. */
interface Seen {
  libraryNames: Map<string, string>;
  databases: Map<string, { path: string; library: string }>;
}

function readLibraries(review: Review, document: JsonObject, auth: Credentials, configDir: string): LibraryConfig[] | undefined {
  const list = readArray(review, field(document, 'forwards', ''), 'an array of libraries');
  if (!list) return undefined;
  const seen: Seen = { libraryNames: new Map(), databases: new Map() };
  const libraries = list.map((entry, i) => readLibrary(review, entry, childPath('forwards', i), auth, seen, configDir));
  return libraries.every((l): l is LibraryConfig => l !== undefined) ? libraries : undefined;
}

function readLibrary(
  review: Review,
  entry: JsonValue,
  libraryPath: string,
  auth: Credentials,
  seen: Seen,
  configDir: string,
): LibraryConfig | undefined {
  if (!isJsonObject(entry)) {
    review.problem(libraryPath, `must be an object, got ${describe(entry)}`);
    return undefined;
  }
  checkKnownKeys(review, entry, libraryPath, KNOWN_KEYS.library);
  const name = readLibraryName(review, entry, libraryPath, seen);
  const weight = readPositiveNumber(review, field(entry, 'weight', libraryPath), DEFAULTS.libraryWeight);
  const serversPath = childPath(libraryPath, 'forward');
  const list = readArray(review, field(entry, 'forward', libraryPath), 'an array of servers, master first');
  if (!list) return undefined;

  const endpoints = new Map<string, string>(); // host:port → path of its first listing in this library
  const servers = list.map((serverEntry, i) => {
    const serverPath = childPath(serversPath, i);
    const server = readServer(review, serverEntry, serverPath, auth, configDir);
    if (server && isFirstListing(review, server, serverPath, endpoints) && name !== undefined) {
      noteSharedDatabase(review, server, serverPath, name, seen);
    }
    return server;
  });
  const failoverMode = readLibraryFailoverMode(review, entry, libraryPath);
  if (name === undefined || weight === undefined || !servers.every((s): s is ServerConfig => s !== undefined)) {
    return undefined;
  }
  if (failoverMode === undefined) return undefined;
  return { name, weight, servers, ...(failoverMode === null ? {} : { failoverMode }) };
}

function readLibraryName(review: Review, entry: JsonObject, libraryPath: string, seen: Seen): string | undefined {
  const namePath = childPath(libraryPath, 'instance');
  const name = readString(review, field(entry, 'instance', libraryPath), { nonEmpty: true });
  if (name === undefined) return undefined;
  if (name.length > LIMITS.libraryNameMaxLength) {
    review.problem(namePath, `must be at most ${LIMITS.libraryNameMaxLength} characters, got ${name.length}`);
    return undefined;
  }
  if (!LIMITS.libraryNamePattern.test(name)) {
    review.problem(
      namePath,
      `may hold only letters, digits, '_', '.' and '-' (it is written into save files), got ${describe(name)}`,
    );
    return undefined;
  }
  const first = seen.libraryNames.get(name);
  if (first !== undefined) {
    review.problem(namePath, `library name ${describe(name)} is used twice (also ${first})`);
    return undefined;
  }
  seen.libraryNames.set(name, namePath);
  return name;
}

function readServer(
  review: Review,
  entry: JsonValue,
  serverPath: string,
  auth: Credentials,
  configDir: string,
): ServerConfig | undefined {
  if (!isJsonObject(entry)) {
    review.problem(serverPath, `must be an object, got ${describe(entry)}`);
    return undefined;
  }
  checkKnownKeys(review, entry, serverPath, KNOWN_KEYS.server_entry);
  const host = readHost(review, field(entry, 'ip', serverPath));
  const port = readInteger(review, field(entry, 'port', serverPath), LIMITS.port);
  // Extensions: per-server backend credentials, each falling back to auth.*.
  const user = readString(review, field(entry, 'user', serverPath), { fallback: auth.user, nonEmpty: true });
  const password = readString(review, field(entry, 'pass', serverPath), { fallback: auth.password });
  const database = readString(review, field(entry, 'db', serverPath), { fallback: auth.database });
  const tls = readBackendTls(review, entry, serverPath, configDir);
  if (host === undefined || port === undefined || user === undefined || password === undefined) return undefined;
  return database === undefined || tls === undefined ? undefined : { host, port, user, password, database, tls };
}

/** A failover list that names one server twice is a mistake: report the repeat. */
function isFirstListing(review: Review, server: ServerConfig, serverPath: string, endpoints: Map<string, string>) {
  const endpoint = `${server.host.toLowerCase()}:${server.port}`;
  const first = endpoints.get(endpoint);
  if (first !== undefined) {
    review.problem(serverPath, `server ${server.host}:${server.port} is listed twice in this library (also ${first})`);
    return false;
  }
  endpoints.set(endpoint, serverPath);
  return true;
}

/** Two libraries on one server are fine when they use two databases; on the same database they would mix data. */
function noteSharedDatabase(review: Review, server: ServerConfig, serverPath: string, library: string, seen: Seen) {
  const key = `${server.host.toLowerCase()}:${server.port}/${server.database}`;
  const first = seen.databases.get(key);
  if (first === undefined) {
    seen.databases.set(key, { path: serverPath, library });
  } else if (first.library !== library) {
    const db = server.database === '' ? 'no default database' : `database ${describe(server.database)}`;
    const where = `${first.path} (library "${first.library}")`;
    review.warning(serverPath, `same server and ${db} as ${where}: the two libraries share their tables`);
  }
}
