/**
 * The statements the shared directory runs, one function each, over a connection of DirectoryClient. Keys,
 * objects and classes travel as Buffers (their UTF-8 bytes, escaped by mysql2 as X'..'), matching the VARBINARY
 * columns byte for byte.
 */
import type mysql from 'mysql2/promise';
import type { SqlConnection } from './directory-client.js';
import { TABLES } from './schema.js';

/** A statement waiting longer than this is taken as a cut network: its connection is dropped (see DirectoryClient). */
export const STATEMENT_TIMEOUT_MS = 8_000;

type Rows = mysql.RowDataPacket[];

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const text = (value: Buffer | string) => (typeof value === 'string' ? value : value.toString('utf8'));

async function select(connection: SqlConnection, sql: string, values: unknown[]): Promise<Rows> {
  const [rows] = await connection.query<Rows>({ sql, values, timeout: STATEMENT_TIMEOUT_MS });
  return rows;
}

/** The rows of those of `keys` that have one: key → library. Consistent read, no lock. */
export async function readKeys(connection: SqlConnection, keys: readonly string[]): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const rows = await select(connection, `SELECT core_key, library FROM ${TABLES.keys} WHERE core_key IN (?)`, [keys.map(utf8)]);
  return new Map(rows.map((row) => [text(row.core_key), String(row.library)]));
}

/** Keys per library, as every proxy shares them. */
export async function readCounts(connection: SqlConnection): Promise<Map<string, number>> {
  const rows = await select(connection, `SELECT library, key_count FROM ${TABLES.counts}`, []);
  return countsOf(rows);
}

function countsOf(rows: Rows): Map<string, number> {
  return new Map(rows.map((row) => [String(row.library), Number(row.key_count)]));
}

/**
 * The first round trip of an assigning transaction: starts it (READ COMMITTED, so the re-read sees every key the
 * previous holder of the lock committed), locks the counts (every assigning proxy takes this lock first, which
 * serializes assignment cluster-wide without deadlocks between assigners) and re-reads the keys.
 */
export async function beginAssignment(connection: SqlConnection, keys: readonly string[]): Promise<{ counts: Map<string, number>; existing: Map<string, string> }> {
  const sql =
    'SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; ' +
    `SELECT library, key_count FROM ${TABLES.counts} FOR UPDATE; ` +
    `SELECT core_key, library FROM ${TABLES.keys} WHERE core_key IN (?)`;
  const [results] = await connection.query<Rows[]>({ sql, values: [keys.map(utf8)], timeout: STATEMENT_TIMEOUT_MS });
  const counts = countsOf(results[2]);
  const existing = new Map(results[3].map((row) => [text(row.core_key), String(row.library)]));
  return { counts, existing };
}

/**
 * The second round trip: the new key rows, the counts they add, and COMMIT. A duplicate key (a row some writer
 * inserted without the counts lock, e.g. an import) fails the INSERT before anything is written; the caller rolls
 * back and runs the transaction again, whose re-read then finds the row.
 */
export async function commitAssignment(
  connection: SqlConnection,
  assigned: readonly { key: string; library: string }[],
  increments: ReadonlyMap<string, number>,
  assignedBy: string,
): Promise<void> {
  if (assigned.length === 0) {
    await connection.query({ sql: 'COMMIT', timeout: STATEMENT_TIMEOUT_MS });
    return;
  }
  const sql =
    `INSERT INTO ${TABLES.keys} (core_key, library, assigned_by) VALUES ?; ` +
    `INSERT INTO ${TABLES.counts} (library, key_count) VALUES ? ON DUPLICATE KEY UPDATE key_count = key_count + VALUES(key_count); ` +
    'COMMIT';
  const keyRows = assigned.map(({ key, library }) => [utf8(key), library, assignedBy]);
  const countRows = [...increments].map(([library, added]) => [library, added]);
  await connection.query({ sql, values: [keyRows, countRows], timeout: STATEMENT_TIMEOUT_MS });
}

export async function rollback(connection: SqlConnection): Promise<void> {
  await connection.query({ sql: 'ROLLBACK', timeout: STATEMENT_TIMEOUT_MS });
}

/** The key a correl object is bound to, with that key's library; undefined when unbound. */
export async function readCorrel(connection: SqlConnection, correlClass: string, object: string): Promise<{ key: string; library: string } | undefined> {
  const rows = await select(
    connection,
    `SELECT a.core_key, k.library FROM ${TABLES.aliases} a JOIN ${TABLES.keys} k ON k.core_key = a.core_key ` +
      'WHERE a.correl_class = ? AND a.correl_object = ?',
    [utf8(correlClass), utf8(object)],
  );
  return rows.length === 0 ? undefined : { key: text(rows[0].core_key), library: String(rows[0].library) };
}

/** Binds a correl object (autocommit: durable when it returns). Fails with ER_DUP_ENTRY when it is bound already. */
export async function insertCorrel(connection: SqlConnection, correlClass: string, object: string, key: string): Promise<void> {
  await connection.query({
    sql: `INSERT INTO ${TABLES.aliases} (correl_class, correl_object, core_key) VALUES (?, ?, ?)`,
    values: [utf8(correlClass), utf8(object), utf8(key)],
    timeout: STATEMENT_TIMEOUT_MS,
  });
}

/** The highest change sequence number written so far (0 when none). */
export async function lastChangeSeq(connection: SqlConnection): Promise<number> {
  const rows = await select(connection, `SELECT COALESCE(MAX(seq), 0) AS seq FROM ${TABLES.changes}`, []);
  return Number(rows[0].seq);
}

export interface KeyChange {
  seq: number;
  key: string;
  library: string;
  state: number;
  epoch: number;
}

/** Key changes after `afterSeq` (oldest first, at most `limit`) and the shared counts, in one round trip. */
export async function readChangesAndCounts(connection: SqlConnection, afterSeq: number, limit: number): Promise<{ changes: KeyChange[]; counts: Map<string, number> }> {
  const sql =
    `SELECT seq, core_key, library, state, epoch FROM ${TABLES.changes} WHERE seq > ? ORDER BY seq LIMIT ?; ` +
    `SELECT library, key_count FROM ${TABLES.counts}`;
  const [results] = await connection.query<Rows[]>({ sql, values: [afterSeq, limit], timeout: STATEMENT_TIMEOUT_MS });
  const changes = results[0].map((row) => ({
    seq: Number(row.seq),
    key: text(row.core_key),
    library: String(row.library),
    state: Number(row.state),
    epoch: Number(row.epoch),
  }));
  return { changes, counts: countsOf(results[1]) };
}

/**
 * Counts rebuilt from the key rows when the counts table is empty (a directory filled by a tool that did not keep
 * them), under the counts lock so that no assignment runs meanwhile. Two proxies starting at once may deadlock
 * or collide here: the caller runs it again (retrying).
 */
export async function seedCountsIfEmpty(connection: SqlConnection): Promise<void> {
  await connection.query('START TRANSACTION');
  try {
    const [rows] = await connection.query<Rows>(`SELECT COUNT(*) AS n FROM ${TABLES.counts} FOR UPDATE`);
    if (Number(rows[0].n) === 0) {
      await connection.query(`INSERT INTO ${TABLES.counts} (library, key_count) SELECT library, COUNT(*) FROM ${TABLES.keys} GROUP BY library`);
    }
    await connection.query('COMMIT');
  } catch (err) {
    await connection.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
