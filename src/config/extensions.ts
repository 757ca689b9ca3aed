/**
 * The sections mysqlda.conf did not have: client accounts (`users`), client TLS (`tls`), backend TLS
 * (`forwards[].forward[].tls`), the backend health
 * monitor (`health`), the failover policy (`failover`), the admin listener (`admin`), daemon files (`daemon`) and
 * the statement log (`log`).
 * Each is optional; absent keys take their defaults from schema.ts. Pure: file checks happen in load.ts.
 */
import path from 'node:path';
import { childPath, type JsonObject, type JsonValue } from './jsonc.js';
import {
  Review,
  checkKnownKeys,
  describe,
  field,
  fieldPath,
  isHostOrIp,
  isJsonObject,
  readBoolean,
  readInteger,
  readOptionalString,
  readSection,
  readString,
} from './fields.js';
import { DEFAULTS, KNOWN_KEYS, LIMITS, LOG_LEVEL_NAMES } from './schema.js';
import { readAccountLimits } from './front-door.js';
import { readReplicaReads } from './replica-reads.js';
import { nativePasswordHashText } from '../protocol/auth.js';
import { valueProblem } from '../routing/identifiers.js';
import type { AdminConfig, BackendTlsConfig, BackendTlsMode, ClientUserConfig, DaemonConfig, FailoverConfig, FailoverMode, HealthConfig, LogConfig, TlsConfig } from './types.js';
import type { LogLevel } from '../log/logger.js';

/**
 * Extension `users`: more client accounts besides `auth`. Each has exactly one of `password_hash` (the '*' + 40
 * hex digits of SELECT PASSWORD('x')) or `pass` (plain text, hashed here and never kept). `library` or `key` give
 * the account fixed routing; `admin` lets it run admin statements. `libraries` is undefined when the forwards
 * section was invalid (then library names are not checked).
 */
export function readUsers(
  review: Review,
  document: JsonObject,
  authUser: string | undefined,
  libraries: ReadonlySet<string> | undefined,
): ClientUserConfig[] | undefined {
  const f = field(document, 'users', '');
  const list = document.users;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    review.problem('users', `must be an array of accounts, got ${describe(list)}`);
    return undefined;
  }
  const seen = new Map<string, string>(); // user name → path of its definition
  if (authUser !== undefined) seen.set(authUser, 'auth.user');
  const users = list.map((entry, i) => readUser(review, entry, childPath(fieldPath(f), i), seen, libraries));
  return users.every((u): u is ClientUserConfig => u !== undefined) ? users : undefined;
}

function readUser(
  review: Review,
  entry: JsonValue,
  userPath: string,
  seen: Map<string, string>,
  libraries: ReadonlySet<string> | undefined,
): ClientUserConfig | undefined {
  if (!isJsonObject(entry)) {
    review.problem(userPath, `must be an object, got ${describe(entry)}`);
    return undefined;
  }
  checkKnownKeys(review, entry, userPath, KNOWN_KEYS.user);
  let ok = true;
  const user = readString(review, field(entry, 'user', userPath), { nonEmpty: true });
  if (user !== undefined) {
    const first = seen.get(user);
    if (first !== undefined) {
      review.problem(childPath(userPath, 'user'), `user ${describe(user)} is defined twice (also ${first})`);
      ok = false;
    } else {
      seen.set(user, childPath(userPath, 'user'));
    }
  }
  const passwordHash = readPassword(review, entry, userPath);
  const database = readString(review, field(entry, 'db', userPath), { fallback: DEFAULTS.userDatabase });
  const library = readOptionalString(review, field(entry, 'library', userPath), { nonEmpty: true });
  if (typeof library === 'string' && libraries !== undefined && !libraries.has(library)) {
    review.problem(childPath(userPath, 'library'), `no library is called ${describe(library)} (see forwards[].instance)`);
    ok = false;
  }
  const key = readOptionalString(review, field(entry, 'key', userPath));
  if (typeof key === 'string') {
    const problem = valueProblem(key, 'key');
    if (problem !== undefined) {
      review.problem(childPath(userPath, 'key'), `${problem}, got ${describe(key)}`);
      ok = false;
    }
  }
  if (typeof library === 'string' && typeof key === 'string') {
    review.problem(userPath, 'give either "library" or "key" for fixed routing, not both');
    ok = false;
  }
  const admin = readBoolean(review, field(entry, 'admin', userPath), DEFAULTS.userAdmin);
  if (admin && (typeof library === 'string' || typeof key === 'string')) {
    review.warning(
      userPath,
      'admin statements are answered only before a library is chosen, and this account is routed at login: it cannot use them',
    );
  }
  const limits = readAccountLimits(review, entry, userPath);
  const replicaReads = readReplicaReads(review, entry, userPath);
  if (!ok || user === undefined || passwordHash === undefined || database === undefined) return undefined;
  if (library === undefined || key === undefined || admin === undefined || limits === undefined || replicaReads === undefined) return undefined;
  return { user, passwordHash, database, library, key, admin, ...limits, ...(replicaReads ? { replicaReads } : {}) };
}

/** '*' + 40 upper-case hex, null for an empty password, undefined after a problem. */
function readPassword(review: Review, entry: JsonObject, userPath: string): string | null | undefined {
  const hasHash = entry.password_hash !== undefined;
  const hasPass = entry.pass !== undefined;
  if (hasHash === hasPass) {
    const what = hasHash ? 'give only one of' : 'one of these is required:';
    review.problem(userPath, `${what} "password_hash" (as SELECT PASSWORD('...') shows it) or "pass" (plain text; "" for none)`);
    return undefined;
  }
  if (hasPass) {
    const pass = readString(review, field(entry, 'pass', userPath));
    if (pass === undefined) return undefined;
    return pass === '' ? null : nativePasswordHashText(pass);
  }
  const hash = readString(review, field(entry, 'password_hash', userPath));
  if (hash === undefined) return undefined;
  if (!LIMITS.passwordHashPattern.test(hash)) {
    review.problem(childPath(userPath, 'password_hash'), "must be '*' followed by 40 hex digits (mysql_native_password, as SELECT PASSWORD('...') shows it)");
    return undefined;
  }
  return hash.toUpperCase();
}

/** Extension `tls`: certificate and key files for client connections, relative to the config file's directory. */
export function readTls(review: Review, document: JsonObject, configDir: string): TlsConfig | null | undefined {
  if (document.tls === undefined || document.tls === null) return null;
  const tls = readSection(review, field(document, 'tls', ''), KNOWN_KEYS.tls);
  if (!tls) return undefined;
  const cert = readString(review, field(tls, 'cert', 'tls'), { nonEmpty: true });
  const key = readString(review, field(tls, 'key', 'tls'), { nonEmpty: true });
  const required = readBoolean(review, field(tls, 'require', 'tls'), DEFAULTS.tlsRequired);
  if (cert === undefined || key === undefined || required === undefined) return undefined;
  return { certFile: path.resolve(configDir, cert), keyFile: path.resolve(configDir, key), required };
}

const BACKEND_TLS_MODES: readonly BackendTlsMode[] = ['required', 'verify_ca', 'verify_identity'];

/**
 * Extension `forwards[].forward[].tls`: `false` (plain TCP, as mysqlda), `true` (encrypted, certificate not
 * checked), or `{ "mode", "ca", "cert", "key" }` with files relative to the config file's directory.
 */
export function readBackendTls(review: Review, entry: JsonObject, serverPath: string, configDir: string): BackendTlsConfig | null | undefined {
  const tlsField = field(entry, 'tls', serverPath);
  const value = entry.tls;
  if (value === undefined || value === null || typeof value === 'boolean') {
    const on = readBoolean(review, tlsField, DEFAULTS.serverTls);
    if (on === undefined) return undefined;
    return on ? { mode: 'required', caFile: null, certFile: null, keyFile: null } : null;
  }
  if (!isJsonObject(value)) {
    review.problem(fieldPath(tlsField), `must be true, false or an object { "mode", "ca", "cert", "key" }, got ${describe(value)}`);
    return undefined;
  }
  const tlsPath = fieldPath(tlsField);
  checkKnownKeys(review, value, tlsPath, KNOWN_KEYS.server_tls);
  const mode = readString(review, field(value, 'mode', tlsPath), { fallback: DEFAULTS.serverTlsMode });
  const ca = readOptionalString(review, field(value, 'ca', tlsPath), { nonEmpty: true });
  const cert = readOptionalString(review, field(value, 'cert', tlsPath), { nonEmpty: true });
  const key = readOptionalString(review, field(value, 'key', tlsPath), { nonEmpty: true });
  if (mode === undefined || ca === undefined || cert === undefined || key === undefined) return undefined;
  if (!(BACKEND_TLS_MODES as readonly string[]).includes(mode)) {
    review.problem(childPath(tlsPath, 'mode'), `must be one of ${BACKEND_TLS_MODES.join(', ')}, got ${describe(mode)}`);
    return undefined;
  }
  if ((cert === null) !== (key === null)) {
    review.problem(tlsPath, `"cert" and "key" go together (a client certificate and its private key)`);
    return undefined;
  }
  if (mode === 'required' && ca !== null) review.warning(childPath(tlsPath, 'ca'), `is not used with mode "required" (the certificate is not checked)`);
  const resolve = (file: string | null) => (file === null ? null : path.resolve(configDir, file));
  return { mode: mode as BackendTlsMode, caFile: resolve(ca), certFile: resolve(cert), keyFile: resolve(key) };
}

/** Extension `health`: how the monitor checks every server. */
export function readHealth(review: Review, document: JsonObject): HealthConfig | undefined {
  const health = readSection(review, field(document, 'health', ''), KNOWN_KEYS.health);
  if (!health) return undefined;
  const d = DEFAULTS.health;
  const intervalMs = readInteger(review, field(health, 'interval_ms', 'health'), LIMITS.healthIntervalMs, d.intervalMs);
  const timeoutMs = readInteger(review, field(health, 'timeout_ms', 'health'), LIMITS.healthTimeoutMs, d.timeoutMs);
  const failThreshold = readInteger(review, field(health, 'fail_threshold', 'health'), LIMITS.healthThreshold, d.failThreshold);
  const riseThreshold = readInteger(review, field(health, 'rise_threshold', 'health'), LIMITS.healthThreshold, d.riseThreshold);
  if (intervalMs === undefined || timeoutMs === undefined || failThreshold === undefined || riseThreshold === undefined) {
    return undefined;
  }
  if (timeoutMs >= intervalMs) {
    review.warning('health.timeout_ms', `is not below health.interval_ms (${intervalMs}): a slow check delays the next one`);
  }
  return { intervalMs, timeoutMs, failThreshold, riseThreshold };
}

/** Extension `failover`. */
export function readFailover(review: Review, document: JsonObject): FailoverConfig | undefined {
  const failover = readSection(review, field(document, 'failover', ''), KNOWN_KEYS.failover);
  if (!failover) return undefined;
  const autoFailback = readBoolean(review, field(failover, 'auto_failback', 'failover'), DEFAULTS.failover.autoFailback);
  if (autoFailback === undefined) return undefined;
  if (autoFailback) {
    review.warning(
      'failover.auto_failback',
      'true: a library goes back to an earlier server as soon as it is up again, even if that server missed writes',
    );
  }
  const replication = readReplicationFailover(review, failover);
  if (replication === undefined) return undefined;
  if (autoFailback && replication.mode !== 'ordered') {
    review.warning('failover.auto_failback', `applies to failover.mode "ordered" only; "${replication.mode}" chooses its server by itself`);
  }
  return { autoFailback, ...replication };
}

// Replication-aware failover: failover.mode, max_lag_s, promote_timeout_s, user, pass; forwards[].failover_mode.

export const FAILOVER_MODES: readonly FailoverMode[] = ['ordered', 'most_advanced', 'promote', 'follow_read_only'];

type ReplicationFailover = Omit<FailoverConfig, 'autoFailback'>;

function readReplicationFailover(review: Review, failover: JsonObject): ReplicationFailover | undefined {
  const d = DEFAULTS.failover;
  const mode = readFailoverMode(review, field(failover, 'mode', 'failover'), d.mode);
  const maxLagSeconds = readInteger(review, field(failover, 'max_lag_s', 'failover'), LIMITS.failoverMaxLagSeconds, d.maxLagSeconds);
  const promoteTimeoutSeconds = readInteger(review, field(failover, 'promote_timeout_s', 'failover'), LIMITS.failoverPromoteTimeoutSeconds, d.promoteTimeoutSeconds);
  const user = readOptionalString(review, field(failover, 'user', 'failover'), { nonEmpty: true });
  const password = readOptionalString(review, field(failover, 'pass', 'failover'));
  if (mode === undefined || maxLagSeconds === undefined || promoteTimeoutSeconds === undefined || user === undefined || password === undefined) return undefined;
  if (password !== null && user === null) review.warning('failover.pass', 'is not used without failover.user (each server\'s own credentials are)');
  return { mode, maxLagSeconds, promoteTimeoutSeconds, user, password: user === null ? null : (password ?? '') };
}

/** Extension forwards[].failover_mode: null when absent (the library follows failover.mode). */
export function readLibraryFailoverMode(review: Review, entry: JsonObject, libraryPath: string): FailoverMode | null | undefined {
  if (entry.failover_mode === undefined || entry.failover_mode === null) return null;
  return readFailoverMode(review, field(entry, 'failover_mode', libraryPath), DEFAULTS.failover.mode);
}

function readFailoverMode(review: Review, f: ReturnType<typeof field>, fallback: FailoverMode): FailoverMode | undefined {
  const mode = readString(review, f, { fallback });
  if (mode === undefined) return undefined;
  if (!(FAILOVER_MODES as readonly string[]).includes(mode)) {
    review.problem(fieldPath(f), `must be one of ${FAILOVER_MODES.join(', ')}, got ${describe(mode)}`);
    return undefined;
  }
  return mode as FailoverMode;
}

/** Extension `admin`: `"http": "host:port"` turns the HTTP listener on. */
export function readAdmin(review: Review, document: JsonObject): AdminConfig | undefined {
  const admin = readSection(review, field(document, 'admin', ''), KNOWN_KEYS.admin);
  if (!admin) return undefined;
  const http = readOptionalString(review, field(admin, 'http', 'admin'), { nonEmpty: true });
  if (http === undefined) return undefined;
  if (http === null) return { http: null };
  const endpoint = parseHostPort(http);
  if (!endpoint || !isHostOrIp(endpoint.host) || endpoint.port > LIMITS.adminPort.max) {
    review.problem('admin.http', `must be "host:port" (e.g. "127.0.0.1:13380"; "[::1]:13380" for IPv6), got ${describe(http)}`);
    return undefined;
  }
  if (!isLoopback(endpoint.host)) {
    review.warning('admin.http', `listens on ${endpoint.host}: the admin endpoints have no authentication; prefer a loopback address`);
  }
  return { http: endpoint };
}

/** "host:port" or "[v6]:port" → parts; null when it is not of that shape. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  return match ? { host: match[1], port: Number(match[2]) } : null;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Extension `daemon`: pid and log files (relative to the config file's directory) and the log level. */
export function readDaemon(review: Review, document: JsonObject, configDir: string): DaemonConfig | undefined {
  const daemon = readSection(review, field(document, 'daemon', ''), KNOWN_KEYS.daemon);
  if (!daemon) return undefined;
  const pidFile = readString(review, field(daemon, 'pid_file', 'daemon'), { fallback: DEFAULTS.pidFileName, nonEmpty: true });
  const logFile = readString(review, field(daemon, 'log_file', 'daemon'), { fallback: DEFAULTS.logFileRelative, nonEmpty: true });
  const level = readOptionalString(review, field(daemon, 'log_level', 'daemon'));
  let logLevel: LogLevel | null | undefined = null;
  if (typeof level === 'string') {
    const known = LOG_LEVEL_NAMES.find((name) => name === level.toLowerCase());
    if (known === undefined) review.problem('daemon.log_level', `must be one of ${LOG_LEVEL_NAMES.join(', ')}, got ${describe(level)}`);
    logLevel = known;
  } else if (level === undefined) {
    logLevel = undefined;
  }
  if (pidFile === undefined || logFile === undefined || logLevel === undefined) return undefined;
  return { pidFile: path.resolve(configDir, pidFile), logFile: path.resolve(configDir, logFile), logLevel };
}

/** Extension `log`: what is logged about statements. */
export function readLog(review: Review, document: JsonObject): LogConfig | undefined {
  const log = readSection(review, field(document, 'log', ''), KNOWN_KEYS.log);
  if (!log) return undefined;
  const slowQueryMs = readInteger(review, field(log, 'slow_query_ms', 'log'), LIMITS.slowQueryMs, DEFAULTS.slowQueryMs);
  return slowQueryMs === undefined ? undefined : { slowQueryMs };
}
