/**
 * The one home of every configuration default and limit, and of the keys each section may hold.
 * The config file keeps mysqlda's key names; extensions are marked as such.
 */
import path from 'node:path';
import type { LogLevel } from '../log/logger.js';

export const DEFAULTS = {
  /**
   * server.listen_ip when the key is absent: loopback only. mysqlda listened on every address here; a proxy
   * that accepts one shared password should not open itself to the network by accident (a warning says so).
   */
  listenHost: '127.0.0.1',
  /** What an explicit `"listen_ip": ""` means, as in mysqlda (INADDR_ANY). */
  anyAddressHost: '0.0.0.0',
  /** auth.pass and auth.db when absent, as in mysqlda: empty password, no default database. */
  authPassword: '',
  authDatabase: '',
  /**
   * session_pool.unused_forward_session_timeout when absent. mysqlda's own default (0) made idle backend
   * connections useless; 60 s is what `-a init` writes. An explicit 0 closes idle connections at once.
   */
  idleTimeoutSeconds: 60,
  /** Extension session_pool.max_connections_per_server. */
  maxConnectionsPerServer: 100,
  /** Extension session_pool.connect_timeout_ms: connect + authenticate to one backend server. */
  connectTimeoutMs: 3000,
  /**
   * Extension session_pool.max_reset_delay_ms: a released backend connection's reset travels with its next user's
   * first command, or is sent on its own after this long. 0 resets at release.
   */
  maxResetDelayMs: 5,
  /** Extension forwards[].weight: every library has the same share of new keys. */
  libraryWeight: 1,
  /** Extension `health`: check every server each 2 s; 3 failures make it down, 2 successes up again. */
  health: { intervalMs: 2000, timeoutMs: 1000, failThreshold: 3, riseThreshold: 2 },
  /** Extension `failover`: sticky; going back to an earlier server is an operator's decision. */
  failover: {
    autoFailback: false,
    /**
     * Replication-aware failover: "ordered" (mysqlda's failover list, no replication reading) stays the default, so
     * that a config that worked goes on working the same; the other modes are opt-in (docs/replication-failover.md).
     */
    mode: 'ordered',
    maxLagSeconds: 30,
    promoteTimeoutSeconds: 30,
  },
  /** Extension `daemon`: files beside the config file. */
  pidFileName: 'mysqlda.pid',
  logFileRelative: 'log/mysqlda.log',
  /** Extension `tls.require`: TLS is offered to clients, not forced. */
  tlsRequired: false,
  /** Extension forwards[].forward[].tls: plain TCP to the backend, as mysqlda. */
  serverTls: false,
  /** Extension forwards[].forward[].tls as an object: without `mode`, the certificate and the server's name are checked. */
  serverTlsMode: 'verify_identity',
  /** Extension users[].db and users[].admin. */
  userDatabase: '',
  userAdmin: false,
  /** Extension keys of `server`: the front door's limits (see FrontDoorConfig). */
  frontDoor: {
    maxConnections: 10_000,
    loginTimeoutMs: 10_000,
    /** MySQL's wait_timeout default. */
    clientIdleTimeoutSeconds: 28_800,
    /** MySQL's connection_control_failed_connections_threshold and _max_connection_delay, scaled to a proxy. */
    maxLoginFailures: 10,
    maxLoginDelayMs: 10_000,
    maxThrottleMs: 1_000,
    /** Set-up statements are well under this; a client that sends more before `select library` is refused. */
    maxLobbyPacketBytes: 65_536,
  },
  /** Each delayed login attempt waits this much longer than the one before, up to maxLoginDelayMs. */
  loginDelayStepMs: 1_000,
  /** Not a config key: the largest packet a client may send before login (a handshake response with attributes). */
  maxLoginPacketBytes: 16_384,
  /** Extension users[].query_timeout_ms: 0 = statements of the account run as long as they take. */
  userQueryTimeoutMs: 0,
  /** Extension users[].max_replica_lag_s: a replica further behind than this does not serve reads. */
  maxReplicaLagSeconds: 5,
  /**
   * Not a config key: how long a session whose server left its library (reload, failover, failback) may stay on
   * it before it is closed with an error, when it does not reach a command boundary outside a transaction sooner.
   */
  serverDrainGraceMs: 30_000,
  /** Not a config key: the file (in the save directory) that remembers each library's current server. */
  stateFileName: 'mysqlda.state.json',
  /** Not a config key: a burst of writes to the config file (editors, rsync) is one reload after this quiet time. */
  configWatchDebounceMs: 300,
  /**
   * Extension server.drain_timeout_s: on SIGTERM or `-a stop`, how long statements in flight and open
   * transactions may take to finish before their sessions are closed.
   */
  drainTimeoutSeconds: 30,
  /** Extension log.slow_query_ms: 0 = no slow-query log. */
  slowQueryMs: 0,
  /** Not a config key: how much of a slow statement's text its log line quotes. */
  slowQueryTextBytes: 1024,
  /** Extension storage.directory.mysql.db: the database of the shared directory's tables. */
  directoryDatabase: 'mysqlda_directory',

  // --- server.workers ---
  /** Extension server.workers: processes serving the listening port (1: one process, no primary in between). */
  workers: 1,
} as const;

/** Extension daemon.log_level: mysqlda's level names (--loglevel-*). */
export const LOG_LEVEL_NAMES = ['debug', 'info', 'notice', 'warn', 'error', 'fatal'] as const satisfies readonly LogLevel[];

/** Extension storage.save_dir when absent: the directory of the config file (mysqlda kept both in $HOME/etc). */
export function defaultSaveDir(configPath: string): string {
  return path.dirname(path.resolve(configPath));
}

export interface IntegerRange {
  min: number;
  max: number;
}

export const LIMITS = {
  port: { min: 1, max: 65535 },
  /** Node timers hold at most 2^31-1 ms; a longer idle timeout would fire at once. */
  idleTimeoutSeconds: { min: 0, max: 2_147_483 },
  connectTimeoutMs: { min: 100, max: 2_147_483_647 },
  /** Deferring a reset longer would keep a gone client's locks held for longer than a client would notice. */
  maxResetDelayMs: { min: 0, max: 1000 },
  maxConnectionsPerServer: { min: 1, max: Number.MAX_SAFE_INTEGER },
  /** Library names are written into save-file lines: no whitespace, bounded length. (mysqlda: 20 bytes.) */
  libraryNameMaxLength: 64,
  libraryNamePattern: /^[A-Za-z0-9_.-]+$/,
  healthIntervalMs: { min: 100, max: 3_600_000 },
  /** Extension failover.max_lag_s and failover.promote_timeout_s. */
  failoverMaxLagSeconds: { min: 0, max: 31_536_000 },
  failoverPromoteTimeoutSeconds: { min: 1, max: 3600 },
  healthTimeoutMs: { min: 50, max: 600_000 },
  healthThreshold: { min: 1, max: 1000 },
  /** Admin HTTP port; 0 = any free port (tests), shown by `status`. */
  adminPort: { min: 0, max: 65535 },
  maxClientConnections: { min: 1, max: 1_000_000 },
  loginTimeoutMs: { min: 100, max: 600_000 },
  clientIdleTimeoutSeconds: { min: 0, max: 31_536_000 },
  maxLoginFailures: { min: 0, max: 1_000_000 },
  maxLoginDelayMs: { min: 0, max: 3_600_000 },
  maxThrottleMs: { min: 0, max: 60_000 },
  /** Below 1 KB even `SET NAMES` with a collation would not fit; above 16 MB is a data statement. */
  maxLobbyPacketBytes: { min: 1024, max: 16 * 1024 * 1024 },
  accountMaxConnections: { min: 1, max: 1_000_000 },
  maxQueriesPerSecond: { min: 1, max: 10_000_000 },
  /** users[].password_hash: SELECT PASSWORD('x') of mysql_native_password. */
  passwordHashPattern: /^\*[0-9A-Fa-f]{40}$/,
  /** Node timers hold at most 2^31-1 ms. */
  drainTimeoutSeconds: { min: 0, max: 2_147_483 },
  slowQueryMs: { min: 0, max: 2_147_483_647 },
  /** users[].query_timeout_ms; 0 = no limit, as absent. */
  queryTimeoutMs: { min: 0, max: 2_147_483_647 },
  /** storage.directory.mysql.db: a database name that needs no quoting anywhere. */
  directoryDatabasePattern: /^[A-Za-z0-9_$]{1,64}$/,
  /** users[].max_replica_lag_s: as `for read max_lag`, up to a day. */
  maxReplicaLagSeconds: { min: 0, max: 86_400 },

  // --- server.workers ---
  /** More worker processes than this is a typo, not a machine. */
  workers: { min: 1, max: 64 },
} satisfies Record<string, IntegerRange | number | RegExp>;

/** The keys each object of the file may hold; any other key draws a warning and is ignored (as in mysqlda). */
export const KNOWN_KEYS = {
  top: ['server', 'auth', 'session_pool', 'forwards', 'storage', 'users', 'tls', 'health', 'failover', 'admin', 'daemon', 'rules', 'log'],
  server: [
    'listen_ip',
    'listen_port',
    'max_connections',
    'login_timeout_ms',
    'client_idle_timeout_s',
    'allow',
    'max_login_failures',
    'max_login_delay_ms',
    'max_throttle_ms',
    'max_lobby_packet_bytes',
    'drain_timeout_s',
    // server.workers
    'workers',
  ],
  auth: ['user', 'pass', 'db', 'hosts', 'max_connections', 'max_queries_per_second', 'query_timeout_ms'],
  session_pool: ['unused_forward_session_timeout', 'max_connections_per_server', 'connect_timeout_ms', 'max_reset_delay_ms'],
  storage: ['save_dir', 'directory'],
  library: ['instance', 'weight', 'forward', 'failover_mode'],
  server_entry: ['ip', 'port', 'user', 'pass', 'db', 'tls'],
  user: [
    'user', 'password_hash', 'pass', 'db', 'library', 'key', 'admin', 'hosts', 'max_connections', 'max_queries_per_second', 'query_timeout_ms',
    // replica reads
    'reads', 'max_replica_lag_s',
  ],
  rule: ['name', 'match', 'users', 'libraries', 'action', 'message'],
  tls: ['cert', 'key', 'require'],
  server_tls: ['mode', 'ca', 'cert', 'key'],
  health: ['interval_ms', 'timeout_ms', 'fail_threshold', 'rise_threshold'],
  failover: ['auto_failback', 'mode', 'max_lag_s', 'promote_timeout_s', 'user', 'pass'],
  admin: ['http'],
  daemon: ['pid_file', 'log_file', 'log_level'],
  log: ['slow_query_ms'],
  /** Extension storage.directory (config/directory.ts). */
  directory: ['mysql'],
  directory_mysql: ['servers', 'user', 'pass', 'db', 'tls'],
  directory_server: ['ip', 'port'],
} as const;

/** Keys whose values are never repeated in a message: only their type is. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['pass', 'password_hash']);
