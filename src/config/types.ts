/**
 * The validated, resolved configuration every other layer reads.
 * Built from etc/mysqlda.conf by src/config/load.ts; defaults live in src/config/schema.ts only.
 */

/** One MySQL server of a library, with the credentials mysqlda uses to reach it. */
export interface ServerConfig {
  host: string;
  port: number;
  /** Backend credentials: the server's own override, else auth.user/pass/db. */
  user: string;
  password: string;
  database: string;
}

/** A library (mysqlda's "instance"): the home of many core objects, an ordered failover list of servers. */
export interface LibraryConfig {
  name: string;
  /** Relative share of new keys; 1 unless the config says otherwise. */
  weight: number;
  /** Master first, then replicas, in failover order. */
  servers: ServerConfig[];
}

export interface PoolConfig {
  /** Idle backend connections are closed after this many seconds (mysqlda's unused_forward_session_timeout). */
  idleTimeoutSeconds: number;
  /** Upper bound of backend connections per server and connection shape. */
  maxConnectionsPerServer: number;
  /** A backend connect + authenticate that takes longer fails over to the next server. */
  connectTimeoutMs: number;
}

export interface MysqldaConfig {
  /** Absolute path of the file this was loaded from. */
  configPath: string;
  listen: { host: string; port: number };
  /** The credentials clients log in with (mysqlda's single auth block). */
  auth: { user: string; password: string; database: string };
  pool: PoolConfig;
  /** Absolute directory holding mysqlda.save and mysqlda.<class>.save. */
  saveDir: string;
  libraries: LibraryConfig[];
}
