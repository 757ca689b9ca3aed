/**
 * The shared directory's tables (storage.directory.mysql), schema version 1. mysqlda creates them when missing and
 * refuses to start when a newer version is found. Every table has a primary key (Galera needs one to certify rows).
 *
 * Keys, objects and classes are stored as the bytes of their UTF-8 (VARBINARY): a key matches only itself, as in
 * the save files, whatever the server's collation.
 *
 * Room for key moves: each key row has a `state` and an `epoch`; every change of a key row after its first
 * assignment (a move) bumps its epoch and appends a row to mysqlda_key_changes, whose increasing `seq` every proxy
 * polls (one indexed range read) to refresh the keys it holds. A move needs no schema change.
 */

import { DEFAULTS } from '../../config/schema.js';

export const SCHEMA_VERSION = 1;

/** The database the tables live in unless storage.directory.mysql.db says otherwise. */
export const DEFAULT_DIRECTORY_DATABASE = DEFAULTS.directoryDatabase;

/** Key states. Only 'home' is written today; 'moving' is reserved for key moves (rows being copied). */
export const KeyState = { home: 0, moving: 1 } as const;

export const TABLES = {
  schema: 'mysqlda_schema',
  keys: 'mysqlda_keys',
  aliases: 'mysqlda_correl_objects',
  counts: 'mysqlda_library_counts',
  changes: 'mysqlda_key_changes',
  libraryState: 'mysqlda_library_state',
} as const;

/** CREATE TABLE IF NOT EXISTS statements, in the order to run them. */
export const SCHEMA_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${TABLES.schema} (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    version INT UNSIGNED NOT NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE=InnoDB`,
  // One row per core-object key: its home library. `assigned_by` names the proxy (host:port, pid) for audits.
  `CREATE TABLE IF NOT EXISTS ${TABLES.keys} (
    core_key VARBINARY(64) NOT NULL PRIMARY KEY,
    library VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    state TINYINT UNSIGNED NOT NULL DEFAULT 0,
    epoch BIGINT UNSIGNED NOT NULL DEFAULT 0,
    assigned_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    assigned_by VARCHAR(128) NOT NULL DEFAULT ''
  ) ENGINE=InnoDB`,
  // One key per (class, object): set correl_object.
  `CREATE TABLE IF NOT EXISTS ${TABLES.aliases} (
    correl_class VARBINARY(64) NOT NULL,
    correl_object VARBINARY(64) NOT NULL,
    core_key VARBINARY(64) NOT NULL,
    bound_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (correl_class, correl_object),
    KEY by_key (core_key)
  ) ENGINE=InnoDB`,
  // Keys per library, updated in the transaction that inserts keys: the counts every proxy's deficit rule reads.
  // Reading them FOR UPDATE is what serializes assignment across proxies, so balance holds cluster-wide.
  `CREATE TABLE IF NOT EXISTS ${TABLES.counts} (
    library VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    key_count BIGINT UNSIGNED NOT NULL DEFAULT 0
  ) ENGINE=InnoDB`,
  // The change feed for key moves: proxies poll `seq > last seen`.
  `CREATE TABLE IF NOT EXISTS ${TABLES.changes} (
    seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    core_key VARBINARY(64) NOT NULL,
    library VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    state TINYINT UNSIGNED NOT NULL,
    epoch BIGINT UNSIGNED NOT NULL,
    changed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE=InnoDB`,
  // Each library's current server, shared by every proxy: moved only by compare-and-set on `epoch`.
  // `servers` is the list (JSON array of host:port) the current server was chosen from; `left_by_failover` a JSON
  // object host:port → ISO time.
  `CREATE TABLE IF NOT EXISTS ${TABLES.libraryState} (
    library VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    current_server VARCHAR(300) NOT NULL,
    servers TEXT NOT NULL,
    left_by_failover TEXT NOT NULL,
    epoch BIGINT UNSIGNED NOT NULL,
    since TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    changed_by VARCHAR(128) NOT NULL DEFAULT ''
  ) ENGINE=InnoDB`,
];
