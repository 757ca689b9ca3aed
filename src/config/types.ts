/**
 * The validated, resolved configuration every other layer reads.
 * Built from etc/mysqlda.conf by src/config/load.ts; defaults live in src/config/schema.ts only.
 */
import type { LogLevel } from '../log/logger.js';

/** One MySQL server of a library, with the credentials mysqlda uses to reach it. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Backend credentials: the server's own override, else auth.user/pass/db. */
  user: string;
  password: string;
  database: string;
  /** TLS to this server (extension forwards[].forward[].tls); null: plain TCP. */
  tls: BackendTlsConfig | null;
}

/** How much of a backend's certificate is checked, named as MySQL clients name it (--ssl-mode). */
export type BackendTlsMode = 'required' | 'verify_ca' | 'verify_identity';

/** TLS towards one backend server. Paths are absolute. */
export interface BackendTlsConfig {
  /**
   * required: encrypted, the certificate is not checked (`"tls": true`); verify_ca: the certificate must chain to
   * a trusted CA; verify_identity: that, and it must name the configured `ip` (host name or address).
   */
  mode: BackendTlsMode;
  /** PEM file of the CAs to trust instead of Node's bundled roots; null: the bundled roots. */
  caFile: string | null;
  /** Client certificate and its key (PEM), for backend accounts created REQUIRE X509; both or neither. */
  certFile: string | null;
  keyFile: string | null;
}

/** A library (mysqlda's "instance"): the home of many core objects, an ordered failover list of servers. */
export interface LibraryConfig {
  name: string;
  /** Relative share of new keys; 1 unless the config says otherwise. */
  weight: number;
  /** Master first, then replicas, in failover order. */
  servers: ServerConfig[];
  /** Extension forwards[].failover_mode: this library's failover.mode; absent: the global one. */
  failoverMode?: FailoverMode;
}

export interface PoolConfig {
  /** Idle backend connections are closed after this many seconds (mysqlda's unused_forward_session_timeout). */
  idleTimeoutSeconds: number;
  /** Upper bound of backend connections per server and connection shape. */
  maxConnectionsPerServer: number;
  /** A backend connect + authenticate that takes longer fails over to the next server. */
  connectTimeoutMs: number;
  /** How long a released backend connection's reset may wait for its next user's first command (0: reset at release). */
  maxResetDelayMs: number;
}

/**
 * A client account. The first is always mysqlda's `auth` block; more come from the `users` extension.
 * Passwords are kept as mysql_native_password's double SHA1 ('*' + 40 hex, as in mysql.user).
 */
export interface ClientUserConfig {
  user: string;
  /** '*' + 40 upper-case hex digits, or null for an account without a password. */
  passwordHash: string | null;
  /** The database name the user may give at connect (the logical database); '' = any name refused but none. */
  database: string;
  /** Route every session of this user to this library at login (for tools that cannot send extension SQL). */
  library: string | null;
  /** Or: route every session of this user as `select library <key>` would. */
  key: string | null;
  /** May run mysqlda's admin statements on the SQL port. */
  admin: boolean;
  /** Extension users[].hosts: client addresses and CIDR blocks this account may log in from; null: any. */
  hosts: string[] | null;
  /** Extension users[].max_connections: sessions of this account at once; null: no limit of its own. */
  maxConnections: number | null;
  /** Extension users[].max_queries_per_second: commands per second over all its sessions; null: no limit. */
  maxQueriesPerSecond: number | null;
  /** A statement of this account running longer is killed on its server (KILL QUERY); absent: no limit. */
  queryTimeoutMs?: number;
  // ---- replica reads (extension users[].reads, users[].max_replica_lag_s) ----
  /** Absent: `reads: "current"` with the default lag bound for `select library … for read`. */
  replicaReads?: ReplicaReadsConfig;
}

/** How an account's sessions read from replicas (config/replica-reads.ts). */
export interface ReplicaReadsConfig {
  /** users[].reads = "replica": every `select library` (and fixed routing) asks for a read-only replica session. */
  replicaByDefault: boolean;
  /** users[].max_replica_lag_s: the largest replication lag a replica may have to serve the account's reads. */
  maxLagSeconds: number;
}

/** What one client may do to the others before and after login (extension keys of `server`). */
export interface FrontDoorConfig {
  /** Client connections at once (server.max_connections); the next one hears 1040 Too many connections. */
  maxConnections: number;
  /** Greeting to OK (server.login_timeout_ms): a client that takes longer is closed. */
  loginTimeoutMs: number;
  /** A logged-in client silent for this long between commands is closed, as MySQL's wait_timeout (0: never). */
  clientIdleTimeoutSeconds: number;
  /** Client addresses and CIDR blocks that may connect at all (server.allow); null: any. */
  allow: string[] | null;
  /** Consecutive failed logins from one address before its next attempts are delayed (0: never delayed). */
  maxLoginFailures: number;
  /** The longest such delay. */
  maxLoginDelayMs: number;
  /** How long a command over its account's query rate may wait before it is refused with 1226. */
  maxThrottleMs: number;
  /** The largest command a client may send before it has chosen a library (set-up statements are small). */
  maxLobbyPacketBytes: number;
}

/** Extension `rules`: statements refused before they reach a server (UMP's SQL blocking). */
export interface SqlRuleConfig {
  /** Shown in logs and in /metrics (rule label); `rules[i]` when the config gives none. */
  name: string;
  /** Regular expression (JavaScript syntax, case-insensitive) tested against the statement text. */
  match: string;
  /** Accounts the rule applies to; null: every account. */
  users: string[] | null;
  /** Libraries the rule applies to; null: every library and the lobby. */
  libraries: string[] | null;
  action: 'block';
  /** The error message the client gets. */
  message: string;
}

/** TLS towards clients (extension `tls`). Paths are absolute. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** Refuse clients that do not upgrade to TLS. */
  required: boolean;
}

/** The backend health monitor (extension `health`). */
export interface HealthConfig {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed checks before a server counts as down. */
  failThreshold: number;
  /** Consecutive good checks before a down server counts as up again. */
  riseThreshold: number;
}

/** Failover policy (extension `failover`). */
export interface FailoverConfig {
  /** Go back to an earlier server of the list by itself once it is up again (default false: sticky). */
  autoFailback: boolean;
  // Replication-aware failover (docs/replication-failover.md).
  /** How a library chooses its next server; forwards[].failover_mode overrides it per library. */
  mode: FailoverMode;
  /** most_advanced and promote refuse a candidate whose last known lag is above this. */
  maxLagSeconds: number;
  /** promote: how long the chosen replica may take to apply what it received. */
  promoteTimeoutSeconds: number;
  /** promote: the account that runs the promotion; null: each server's own credentials. */
  user: string | null;
  password: string | null;
}

/** See docs/replication-failover.md. */
export type FailoverMode = 'ordered' | 'most_advanced' | 'promote' | 'follow_read_only';

/** Admin and observability (extension `admin`). */
export interface AdminConfig {
  /** HTTP listener for /metrics, /healthz, /status; null = off (default). */
  http: { host: string; port: number } | null;
}

/** Daemon files (extension `daemon`). Paths are absolute. */
export interface DaemonConfig {
  /** Default: mysqlda.pid beside the config file. */
  pidFile: string;
  /** Default: log/mysqlda.log beside the config file. */
  logFile: string;
  /**
   * daemon.log_level, or null when the file does not set it (then the command line's --loglevel-* or its
   * default decides). A change applies on reload.
   */
  logLevel: LogLevel | null;
}

export interface MysqldaConfig {
  /** Absolute path of the file this was loaded from. */
  configPath: string;
  listen: { host: string; port: number };
  /** Limits, timeouts and allow lists of the client side (extension keys of `server`). */
  frontDoor: FrontDoorConfig;
  /** The credentials clients log in with (mysqlda's single auth block). */
  auth: { user: string; password: string; database: string };
  pool: PoolConfig;
  /** Absolute directory holding mysqlda.save and mysqlda.<class>.save. */
  saveDir: string;
  libraries: LibraryConfig[];
  /** Client accounts; users[0] is the `auth` block. */
  users: ClientUserConfig[];
  tls: TlsConfig | null;
  health: HealthConfig;
  failover: FailoverConfig;
  admin: AdminConfig;
  daemon: DaemonConfig;
  /** Extension `rules`, in config order: the first that matches decides. */
  rules: SqlRuleConfig[];
  shutdown: ShutdownConfig;
  log: LogConfig;
  /** Extension storage.directory: the save files (default) or the shared MySQL directory. */
  directory: DirectoryConfig;
  /** server.workers: processes serving the listening port; a change applies at the next start. */
  workers: number;
}

/** The graceful stop (SIGTERM, `-a stop`). */
export interface ShutdownConfig {
  /** server.drain_timeout_s: the longest a stop waits for statements in flight and open transactions. */
  drainTimeoutSeconds: number;
}

/** What is logged about statements (extension `log`). */
export interface LogConfig {
  /** A statement whose answer takes longer is logged once; 0 = off. */
  slowQueryMs: number;
}

/** Where the key directory and the failover state live (extension storage.directory). */
export type DirectoryConfig = { kind: 'files' } | { kind: 'mysql'; mysql: MysqlDirectoryConfig };

/** storage.directory.mysql: InnoDB tables on a MySQL/MariaDB server shared by every proxy. */
export interface MysqlDirectoryConfig {
  /** In failover order: a primary and its replicas, or the nodes of a Galera cluster. */
  servers: { host: string; port: number }[];
  /** Default auth.user / auth.pass. */
  user: string;
  password: string;
  /** Default mysqlda_directory. */
  database: string;
  /** As forwards[].forward[].tls; null: plain TCP. */
  tls: BackendTlsConfig | null;
}
