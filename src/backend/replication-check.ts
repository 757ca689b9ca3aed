/**
 * What the health check asks a server about itself, and how the answer becomes ServerHealth's readOnly and
 * replication. One round trip: a multi-statement of one SELECT of the variables and the replica status.
 *
 *   MariaDB        SELECT @@read_only, @@gtid_current_pos, @@gtid_binlog_pos; SHOW ALL SLAVES STATUS
 *   MySQL ≥ 8.0.22 SELECT @@read_only, @@gtid_executed, NULL; SHOW REPLICA STATUS
 *   older MySQL    the same with SHOW SLAVE STATUS
 *
 * Pure: the server's version string and answers in, values out.
 */
import { rowObjects, type StatementAnswer } from '../protocol/text-result-sets.js';
import type { ReplicationState } from './server-health.js';

export type ServerFlavor = 'mariadb' | 'mysql';

export function flavorOf(serverVersion: string): ServerFlavor {
  return /mariadb/i.test(serverVersion) ? 'mariadb' : 'mysql';
}

/** The check's statements for a server that greeted with `serverVersion`. */
export function replicationCheckSql(serverVersion: string): string {
  if (flavorOf(serverVersion) === 'mariadb') {
    return 'SELECT @@read_only AS read_only, @@gtid_current_pos AS gtid_executed, @@gtid_binlog_pos AS gtid_binlog; SHOW ALL SLAVES STATUS';
  }
  const status = mysqlAtLeast(serverVersion, [8, 0, 22]) ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS';
  return `SELECT @@read_only AS read_only, @@gtid_executed AS gtid_executed, NULL AS gtid_binlog; ${status}`;
}

export interface CheckReading {
  /** Null when the first statement failed (the caller then falls back to SELECT @@read_only alone). */
  readOnly: boolean | null;
  /** Null when the replica status could not be read (no privilege, an error): not a failed check. */
  replication: ReplicationState | null;
  /** The first statement's error, when it failed. */
  variablesError: string | null;
}

/** The check's two answers → read_only and replication. */
export function readCheckAnswers(answers: readonly StatementAnswer[]): CheckReading {
  const [variables, status] = answers;
  if (variables?.kind !== 'rows' || variables.rows.length !== 1) {
    const variablesError = variables?.kind === 'error' ? `${variables.error.message} (${variables.error.code})` : 'no answer';
    return { readOnly: null, replication: null, variablesError };
  }
  const [values] = rowObjects(variables);
  const readOnly = values.read_only === '1' ? true : values.read_only === '0' ? false : null;
  const gtidExecuted = normalizeGtid(values.gtid_executed);
  const gtidBinlog = normalizeGtid(values.gtid_binlog);
  if (status?.kind !== 'rows') return { readOnly, replication: null, variablesError: null };
  return { readOnly, replication: replicationFrom(rowObjects(status), gtidExecuted, gtidBinlog), variablesError: null };
}

type StatusRow = Record<string, string | null>;

/** SHOW ALL SLAVES STATUS / SHOW REPLICA STATUS rows (one per replication channel) → one state. */
export function replicationFrom(rows: readonly StatusRow[], gtidExecuted: string | null, gtidBinlog: string | null): ReplicationState {
  if (rows.length === 0) {
    return { replicating: false, source: null, ioRunning: null, sqlRunning: null, lagSeconds: null, lastError: null, lastErrorThread: null, gtidExecuted, gtidBinlog };
  }
  // MariaDB's default connection (named '') speaks for the server; other channels add their lag and errors.
  const main = rows.find((row) => row.Connection_name === '') ?? rows[0];
  const host = pick(main, 'Master_Host', 'Source_Host');
  const port = pick(main, 'Master_Port', 'Source_Port');
  const lags = rows.map((row) => pick(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source')).filter((lag): lag is string => lag !== null && lag !== '');
  return {
    replicating: true,
    source: host ? `${host}:${port ?? ''}` : null,
    ioRunning: running(pick(main, 'Slave_IO_Running', 'Replica_IO_Running')),
    sqlRunning: running(pick(main, 'Slave_SQL_Running', 'Replica_SQL_Running')),
    lagSeconds: lags.length === 0 ? null : Math.max(...lags.map(Number)),
    ...(rows.map(lastErrorOf).find((error) => error.lastError !== null) ?? { lastError: null, lastErrorThread: null }),
    gtidExecuted,
    gtidBinlog,
  };
}

function lastErrorOf(row: StatusRow): Pick<ReplicationState, 'lastError' | 'lastErrorThread'> {
  const sql = row.Last_SQL_Error;
  if (sql) return { lastError: `SQL thread: ${sql} (${row.Last_SQL_Errno ?? '?'})`, lastErrorThread: 'sql' };
  const io = row.Last_IO_Error;
  if (io) return { lastError: `IO thread: ${io} (${row.Last_IO_Errno ?? '?'})`, lastErrorThread: 'io' };
  return { lastError: null, lastErrorThread: null };
}

function pick(row: StatusRow, mariadbName: string, mysqlName: string): string | null {
  return row[mariadbName] ?? row[mysqlName] ?? null;
}

/** 'Yes' is running (for the IO thread: connected to its source); 'No' and 'Connecting' are not. */
function running(value: string | null): boolean | null {
  if (value === null) return null;
  return value === 'Yes';
}

/** MySQL prints long GTID sets over several lines; empty means none. */
function normalizeGtid(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.replace(/\s+/g, '');
}

function mysqlAtLeast(serverVersion: string, wanted: readonly number[]): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/.exec(serverVersion)?.slice(1).map(Number) ?? [0, 0, 0];
  for (let i = 0; i < wanted.length; i++) if (parts[i] !== wanted[i]) return parts[i] > wanted[i];
  return true;
}
