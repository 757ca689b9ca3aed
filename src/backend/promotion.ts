/**
 * Promotion: making the replica a library failed over to its master, then pointing the library's other replicas at
 * it. A step run by whoever moved the library (one proxy, or the one that won the move's compare-and-set when
 * several share a directory), after the move and before the library serves from the new server.
 *
 *   1. wait (bounded) until the replica has applied what it received: MASTER_GTID_WAIT(Gtid_IO_Pos) on MariaDB,
 *      WAIT_FOR_EXECUTED_GTID_SET(Retrieved_Gtid_Set) on MySQL
 *   2. stop replicating and forget the old source: STOP SLAVE; RESET SLAVE ALL (MySQL: … REPLICA …)
 *   3. SET GLOBAL read_only = OFF (on MySQL this also turns super_read_only off)
 *   4. each other replica that is up: STOP SLAVE; CHANGE MASTER TO the new master with GTID auto-positioning;
 *      START SLAVE. The replication account and password stay those the replica had (CHANGE MASTER keeps what it
 *      is not given), so that account must exist on the new master, as it does when it was created on the old
 *      master and replicated.
 *
 * Steps 1-3 must all succeed: a failure stops the promotion and is reported (the library then stays unavailable
 * until an operator retries or forces). Step 4 is done per replica and a failure there is only reported: the new
 * master serves, and a replica left behind is visible in `show servers`.
 * Every step is logged. Statements run on mysqlda's own BackendConnection, one round trip each.
 */
import type { ServerConfig } from '../config/types.js';
import { Command, DEFAULT_CHARSET } from '../protocol/constants.js';
import { readStatementAnswers, rowObjects } from '../protocol/text-result-sets.js';
import { BackendConnection, serverAddress } from './backend-connection.js';
import { flavorOf, type ServerFlavor } from './replication-check.js';

export interface PromotionPlan {
  library: string;
  /** The replica to promote, with the credentials the promotion runs with. */
  target: ServerConfig;
  /** The library's other replicas to point at the new master, with the credentials to do it. */
  replicas: ServerConfig[];
  /** Bound of the wait for the replica to apply what it received. */
  timeoutMs: number;
  /** The operator's `force`: a replica that does not catch up in time (or has its SQL thread stopped) is promoted anyway. */
  force: boolean;
}

export type PromotionResult =
  | { ok: true; repointed: string[]; notRepointed: string[] }
  | { ok: false; step: string; error: string };

/** Steps at notice (shown at the default log level), a forced step at warn, a failure at error. */
export type PromotionLog = (level: 'notice' | 'warn' | 'error', message: string) => void;

/** Statements mysqlda's health check and promotion never wait longer for, apart from the catch-up wait. */
const STATEMENT_TIMEOUT_MS = 10_000;

export async function promote(plan: PromotionPlan, log: PromotionLog): Promise<PromotionResult> {
  const address = serverAddress(plan.target);
  const prefix = `promotion of ${address} for library ${plan.library}`;
  let connection: BackendConnection;
  try {
    connection = await BackendConnection.connect(plan.target, { capabilities: 0, charset: DEFAULT_CHARSET }, STATEMENT_TIMEOUT_MS);
  } catch (err) {
    return failed(log, prefix, 'connect', (err as Error).message);
  }
  try {
    const flavor = flavorOf(connection.greeting.serverVersion);
    const words = statementsFor(flavor, connection.greeting.serverVersion);
    const status = await query(connection, words.showStatus, STATEMENT_TIMEOUT_MS);
    if (!status.ok) return failed(log, prefix, 'read replica status', status.error);
    const row = status.rows.find((r) => r.Connection_name === '') ?? status.rows[0];
    if (row) {
      const waited = await catchUp(connection, words, row, plan, log, prefix);
      if (waited !== null) return waited;
      for (const sql of [words.stop, words.resetAll]) {
        const done = await query(connection, sql, STATEMENT_TIMEOUT_MS);
        if (!done.ok) return failed(log, prefix, sql, done.error);
        log('notice', `${prefix}: ${sql} done`);
      }
    } else {
      log('notice', `${prefix}: ${address} does not replicate; nothing to catch up or stop`);
    }
    const writable = await query(connection, 'SET GLOBAL read_only = OFF', STATEMENT_TIMEOUT_MS);
    if (!writable.ok) return failed(log, prefix, 'SET GLOBAL read_only = OFF', writable.error);
    log('notice', `${prefix}: read_only is OFF; ${address} is the master of library ${plan.library}`);
  } finally {
    connection.close();
  }
  const repointed: string[] = [];
  const notRepointed: string[] = [];
  for (const replica of plan.replicas) {
    const error = await repoint(replica, plan.target);
    if (error === null) {
      repointed.push(serverAddress(replica));
      log('notice', `${prefix}: ${serverAddress(replica)} replicates from ${address} now (GTID auto-positioning)`);
    } else {
      notRepointed.push(serverAddress(replica));
      log('error', `${prefix}: could not point ${serverAddress(replica)} at ${address}: ${error}; do it by hand (CHANGE MASTER TO MASTER_HOST='${plan.target.host}', MASTER_PORT=${plan.target.port}, MASTER_USE_GTID=slave_pos)`);
    }
  }
  return { ok: true, repointed, notRepointed };
}

interface Statements {
  showStatus: string;
  stop: string;
  resetAll: string;
  start: string;
  /** The received position's column, and the wait for it: SELECT <wait>(<position>, <seconds>) answers 0 when done. */
  receivedColumn: string;
  waitFunction: string;
  waitDone: string;
  changeSource(host: string, port: number): string;
}

function statementsFor(flavor: ServerFlavor, serverVersion: string): Statements {
  if (flavor === 'mariadb') {
    return {
      showStatus: 'SHOW ALL SLAVES STATUS',
      stop: 'STOP SLAVE',
      resetAll: 'RESET SLAVE ALL',
      start: 'START SLAVE',
      receivedColumn: 'Gtid_IO_Pos',
      waitFunction: 'MASTER_GTID_WAIT',
      waitDone: '0',
      changeSource: (host, port) => `CHANGE MASTER TO MASTER_HOST = ${quote(host)}, MASTER_PORT = ${port}, MASTER_USE_GTID = slave_pos`,
    };
  }
  const replica = /^(\d+)\.(\d+)\.(\d+)/.exec(serverVersion);
  const modern = replica !== null && Number(replica[1]) * 10_000 + Number(replica[2]) * 100 + Number(replica[3]) >= 80_022;
  return {
    showStatus: modern ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
    stop: modern ? 'STOP REPLICA' : 'STOP SLAVE',
    resetAll: modern ? 'RESET REPLICA ALL' : 'RESET SLAVE ALL',
    start: modern ? 'START REPLICA' : 'START SLAVE',
    receivedColumn: 'Retrieved_Gtid_Set',
    waitFunction: 'WAIT_FOR_EXECUTED_GTID_SET',
    waitDone: '0',
    changeSource: (host, port) =>
      modern
        ? `CHANGE REPLICATION SOURCE TO SOURCE_HOST = ${quote(host)}, SOURCE_PORT = ${port}, SOURCE_AUTO_POSITION = 1`
        : `CHANGE MASTER TO MASTER_HOST = ${quote(host)}, MASTER_PORT = ${port}, MASTER_AUTO_POSITION = 1`,
  };
}

/** Step 1; null when the replica has applied what it received (or the operator forced past it). */
async function catchUp(
  connection: BackendConnection,
  words: Statements,
  row: Record<string, string | null>,
  plan: PromotionPlan,
  log: PromotionLog,
  prefix: string,
): Promise<PromotionResult | null> {
  const received = (row[words.receivedColumn] ?? '').replace(/\s+/g, '');
  const sqlRunning = (row.Slave_SQL_Running ?? row.Replica_SQL_Running) === 'Yes';
  if (!sqlRunning) {
    const why = `its SQL thread is not running${row.Last_SQL_Error ? ` (${row.Last_SQL_Error})` : ''}: it would never apply what it received (${received || 'nothing'})`;
    if (!plan.force) return failed(log, prefix, 'catch up', why);
    log('warn', `${prefix}: ${why}; promoted anyway (force)`);
    return null;
  }
  if (received === '') return null;
  const seconds = Math.max(1, Math.ceil(plan.timeoutMs / 1000));
  const started = Date.now();
  const wait = await query(connection, `SELECT ${words.waitFunction}(${quote(received)}, ${seconds}) AS done`, plan.timeoutMs + STATEMENT_TIMEOUT_MS);
  if (wait.ok && wait.rows[0]?.done === words.waitDone) {
    log('notice', `${prefix}: applied everything it received (${received}) in ${Date.now() - started} ms`);
    return null;
  }
  const why = wait.ok ? `it did not apply what it received (${received}) within failover.promote_timeout_s (${seconds} s)` : wait.error;
  if (!plan.force) return failed(log, prefix, 'catch up', why);
  log('warn', `${prefix}: ${why}; promoted anyway (force)`);
  return null;
}

/** Step 4 for one replica; null when done, else the error. */
async function repoint(replica: ServerConfig, master: ServerConfig): Promise<string | null> {
  let connection: BackendConnection;
  try {
    connection = await BackendConnection.connect(replica, { capabilities: 0, charset: DEFAULT_CHARSET }, STATEMENT_TIMEOUT_MS);
  } catch (err) {
    return (err as Error).message;
  }
  try {
    const words = statementsFor(flavorOf(connection.greeting.serverVersion), connection.greeting.serverVersion);
    for (const sql of [words.stop, words.changeSource(master.host, master.port), words.start]) {
      const done = await query(connection, sql, STATEMENT_TIMEOUT_MS);
      if (!done.ok) return `${sql.split(' ').slice(0, 3).join(' ')}: ${done.error}`;
    }
    return null;
  } finally {
    connection.close();
  }
}

type QueryResult = { ok: true; rows: Record<string, string | null>[] } | { ok: false; error: string };

async function query(connection: BackendConnection, sql: string, timeoutMs: number): Promise<QueryResult> {
  const result = await connection.execute(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql, 'utf8')]), timeoutMs);
  if (!result.ok) return { ok: false, error: result.error ? `${result.error.message} (${result.error.code})` : 'no answer' };
  const [answer] = readStatementAnswers(result.packets, connection.deprecateEof);
  return { ok: true, rows: answer ? rowObjects(answer) : [] };
}

function failed(log: PromotionLog, prefix: string, step: string, error: string): PromotionResult {
  log('error', `${prefix} failed at ${step}: ${error}`);
  return { ok: false, step, error };
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
