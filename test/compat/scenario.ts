import { createHash } from 'node:crypto';

/**
 * The one scenario every client of the compatibility suite runs through mysqlda. The programs under
 * test/compat/<client>/ implement these checks in their own language; what they need (names, SQL, data,
 * expected values) reaches them as COMPAT_* environment variables built here, so the SQL and the data are
 * defined once. test/compat/README.md describes the contract a program follows.
 */

/** Every check a client can run, with what it shows. The order is the order the programs run them in. */
export const CHECKS = {
  connect: 'connects; the client answers its own connect-time chatter before any library is chosen',
  'connect-chatter': "the settings the client sends at connect time (its own SETs) are in force after `select library`",
  'lobby-settings': 'a `SET time_zone` and the session settings read before `select library` hold after it',
  'lobby-refuses-data': 'a data statement before `select library` gets ERR 7101 and the connection stays usable',
  'select-library': '`select library <key>` routes the session; `show library` names the library and the server the session runs on',
  ddl: 'DROP/CREATE TABLE and CREATE PROCEDURE',
  'text-utf8mb4': 'text-protocol INSERT and SELECT of emoji and CJK text, stored as utf8mb4',
  'null-values': 'NULL values written and read back as NULL',
  prepared: 'server-side prepared INSERT and SELECT (COM_STMT_PREPARE/EXECUTE) with utf8mb4 and NULL parameters',
  'sql-prepared': 'SQL-level PREPARE ... FROM / EXECUTE ... USING with utf8mb4 and NULL values',
  'emulated-prepared': 'client-side (emulated) prepared INSERT and SELECT with utf8mb4 and NULL parameters, sent as text',
  commit: 'a committed transaction is kept',
  rollback: 'a rolled-back transaction leaves nothing behind',
  'large-result': 'a 5000-row result arrives whole and in order',
  'blob-4mb': 'a 4 MiB blob holding every byte value is written and read back unchanged',
  'large-packet': 'a 17 MiB blob (packets over 16 MiB, split in both directions) is written and read back unchanged',
  'cursor-fetch': 'a read-only server-side cursor (COM_STMT_EXECUTE with a cursor, COM_STMT_FETCH) reads the 5000 rows, then COM_STMT_RESET',
  'load-data-local': 'LOAD DATA LOCAL INFILE: the client sends its own file through the proxy (1000 rows)',
  cancel: "cancelling a running statement (the client's KILL QUERY from a second connection) stops it within 5 s",
  'switch-library': '`select library` with a key of the other library moves the session there with its settings, and back',
  'error-recovery': 'an error (1146, no such table) is reported with its code and the next statement works',
  'errors-in-flight': 'an error in the middle of a multi-statement and one from a prepared execution: each reported, the connection stays in step',
  'lobby-transaction': 'a transaction begun before `select library` (BEGIN, or autocommit off) runs on the library: rollback and commit work',
  'procedure-out': 'CALL of a stored procedure that returns a result set and sets an OUT parameter',
  'multi-statements': 'two statements in one query give two result sets',
  'set-option': 'COM_SET_OPTION turns multi-statements off (a second statement is then a syntax error) and on again',
  'switch-prepared': 'the same SQL prepared again after each library switch (and back) executes on the library the session is on',
  'correl-alias': '`set correl_object`, then a new connection routed by the alias lands on the same library and sees the data',
  ping: 'ping (COM_PING) after routing; the session stays usable',
  reset: 'reset connection (COM_RESET_CONNECTION): user variables cleared, the session stays on its library',
  'change-user': 'change user (COM_CHANGE_USER) to the same account: user variables cleared, the session stays on its library',
  statistics: 'server statistics (COM_STATISTICS)',
  batch: 'a batch of 1000 prepared INSERTs (pipelined executions) all applied',
  pool: 'a pooled connection handed out again has been reset and stays on its library',
  'callable-out': 'a CallableStatement reads the OUT parameter of the stored procedure',
  'interactive-tty': 'the interactive client on a terminal (it sends `select @@version_comment limit 1`) runs the flow',
  compression: 'a client that asks for compression connects (mysqlda does not offer it) and runs the flow',
  'admin-ping': '`mariadb-admin ping` (COM_PING, never routed) reports the server alive',
  benchmark: 'a short sysbench run of prepared point selects and inserts, every event without error',
  quit: 'quit (COM_QUIT) closes the connection cleanly',
} as const;

export type CheckId = keyof typeof CHECKS;

/** The checks every client starts with: connecting and routing (connect-time chatter checks follow where a client has them). */
export const ROUTING_CHECKS: CheckId[] = ['connect', 'lobby-refuses-data', 'select-library', 'lobby-settings'];
/** Then the data checks every client runs in the same order. */
export const FLOW_CHECKS: CheckId[] = ['ddl', 'text-utf8mb4', 'null-values'];

/** Text values of the scenario: 4-byte UTF-8 (emoji), CJK, and a mix. */
export const TEXTS = {
  emoji: 'mysqlda 🐬🚀 emoji',
  cjk: '分片代理 テスト 샤딩',
  mixed: 'π ≈ 3.14 — 🎉 汉字',
  note: 'note ✓ 备注',
} as const;

/** A correl object with CJK in it, so extension SQL carries UTF-8 too. */
const CORREL_CLASS = 'compat_order';

export const LARGE_RESULT_ROWS = 5000;
export const BLOB_BYTES = 4 * 1024 * 1024;
/** Over 16 MiB - 1, so a statement or row carrying it spans several protocol packets. */
export const BIG_BLOB_BYTES = 17 * 1024 * 1024;
export const INFILE_ROWS = 1000;
export const LOBBY_TIME_ZONE = '+03:00';

/** The scenario's blobs: byte i is (i * 7 + 13) mod 256, so every byte value (NUL, quote, backslash...) occurs. */
export function scenarioBlob(bytes = BLOB_BYTES): Buffer {
  const blob = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) blob[i] = (i * 7 + 13) & 0xff;
  return blob;
}

/** The LOAD DATA LOCAL file: rows (5001, 'row-5001') ... after the large result's 5000. */
export function scenarioInfile(): string {
  return Array.from({ length: INFILE_ROWS }, (_, i) => `${LARGE_RESULT_ROWS + 1 + i},row-${LARGE_RESULT_ROWS + 1 + i}\n`).join('');
}

const sumFrom = (first: number, last: number) => ((first + last) * (last - first + 1)) / 2;
const hexOf = (text: string) => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

export interface ScenarioTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** A file holding scenarioBlob(). */
  blobFile: string;
  /** A file holding scenarioBlob(BIG_BLOB_BYTES). */
  bigBlobFile: string;
  /** A file holding scenarioInfile(). */
  infile: string;
}

/**
 * The environment of one client program. `clientId` names the client in its JSON lines and prefixes its tables
 * (letters, digits and '_'), so several clients can share servers.
 */
export function scenarioEnv(clientId: string, target: ScenarioTarget): Record<string, string> {
  if (!/^[a-z0-9_]+$/.test(clientId)) throw new Error(`client id must be [a-z0-9_]+, not ${clientId}`);
  const items = `compat_${clientId}_items`;
  const rows = `compat_${clientId}_rows`;
  const blobs = `compat_${clientId}_blobs`;
  const procedure = `compat_${clientId}_double`;
  const key = `compat-${clientId.replace(/_/g, '-')}`;
  const correlObject = `订单-${clientId.replace(/_/g, '-')}`;
  const ddl = [
    `DROP TABLE IF EXISTS ${items}`,
    `CREATE TABLE ${items} (id INT PRIMARY KEY, label VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, ` +
      `note TEXT CHARACTER SET utf8mb4 NULL, amount DECIMAL(10,2) NULL) ENGINE=InnoDB`,
    `DROP TABLE IF EXISTS ${rows}`,
    `CREATE TABLE ${rows} (n INT PRIMARY KEY, label VARCHAR(32) NOT NULL) ENGINE=InnoDB`,
    `DROP TABLE IF EXISTS ${blobs}`,
    `CREATE TABLE ${blobs} (id INT PRIMARY KEY, data LONGBLOB NOT NULL) ENGINE=InnoDB`,
    `DROP PROCEDURE IF EXISTS ${procedure}`,
    // One line (programs split the list on newlines); the CLI wraps it in a DELIMITER change.
    `CREATE PROCEDURE ${procedure}(IN x INT, OUT y INT) BEGIN SELECT x AS input; SET y = x * 2; END`,
  ];
  return {
    COMPAT_CLIENT: clientId,
    COMPAT_HOST: target.host,
    COMPAT_PORT: String(target.port),
    COMPAT_USER: target.user,
    COMPAT_PASSWORD: target.password,
    COMPAT_DATABASE: target.database,
    COMPAT_KEY: key,
    COMPAT_CORREL_CLASS: CORREL_CLASS,
    COMPAT_CORREL_OBJECT: correlObject,
    COMPAT_TABLE_ITEMS: items,
    COMPAT_TABLE_ROWS: rows,
    COMPAT_TABLE_BLOBS: blobs,
    COMPAT_PROCEDURE: procedure,
    COMPAT_SQL_DDL: ddl.join('\n'),
    COMPAT_SQL_SETTINGS:
      'SELECT @@autocommit AS autocommit, @@sql_mode AS sql_mode, @@character_set_client AS character_set_client, ' +
      '@@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, ' +
      '@@collation_connection AS collation_connection, @@time_zone AS time_zone',
    COMPAT_TIME_ZONE: LOBBY_TIME_ZONE,
    COMPAT_SQL_LOBBY_DATA: 'SELECT COUNT(*) FROM test_table',
    COMPAT_SQL_INSERT_ITEM: `INSERT INTO ${items} (id, label, note, amount) VALUES (?, ?, ?, ?)`,
    COMPAT_SQL_SELECT_ITEM: `SELECT label, note, amount, HEX(label) AS label_hex FROM ${items} WHERE id = ?`,
    COMPAT_SQL_FILL_ROWS: `INSERT INTO ${rows} (n, label) SELECT seq, CONCAT('row-', seq) FROM seq_1_to_${LARGE_RESULT_ROWS}`,
    COMPAT_SQL_SELECT_ROWS: `SELECT n, label FROM ${rows} ORDER BY n`,
    COMPAT_ROWS: String(LARGE_RESULT_ROWS),
    COMPAT_SQL_INSERT_BLOB: `INSERT INTO ${blobs} (id, data) VALUES (?, ?)`,
    COMPAT_SQL_BLOB_DIGEST: `SELECT LENGTH(data) AS len, MD5(data) AS md5 FROM ${blobs} WHERE id = ?`,
    COMPAT_SQL_SELECT_BLOB: `SELECT data FROM ${blobs} WHERE id = ?`,
    COMPAT_BLOB_FILE: target.blobFile,
    COMPAT_BLOB_BYTES: String(BLOB_BYTES),
    COMPAT_BLOB_MD5: createHash('md5').update(scenarioBlob()).digest('hex'),
    COMPAT_BIG_BLOB_FILE: target.bigBlobFile,
    COMPAT_BIG_BLOB_BYTES: String(BIG_BLOB_BYTES),
    COMPAT_BIG_BLOB_MD5: createHash('md5').update(scenarioBlob(BIG_BLOB_BYTES)).digest('hex'),
    COMPAT_INFILE: target.infile,
    COMPAT_SQL_LOAD_DATA: `LOAD DATA LOCAL INFILE '${target.infile}' INTO TABLE ${rows} FIELDS TERMINATED BY ',' (n, label)`,
    COMPAT_SQL_LOADED: `SELECT COUNT(*) AS n, SUM(n) AS total FROM ${rows} WHERE n > ${LARGE_RESULT_ROWS}`,
    COMPAT_LOADED: `${INFILE_ROWS} ${sumFrom(LARGE_RESULT_ROWS + 1, LARGE_RESULT_ROWS + INFILE_ROWS)}`,
    COMPAT_OTHER_KEY_PREFIX: `${key}-other-`,
    COMPAT_SQL_ERROR: 'SELECT * FROM compat_no_such_table',
    COMPAT_SQL_CALL: `CALL ${procedure}(21, @compat_out)`,
    COMPAT_SQL_CALL_OUT: 'SELECT @compat_out AS y',
    COMPAT_SQL_MULTI: "SELECT 1 AS one; SELECT 'two' AS two",
    COMPAT_TEXT_EMOJI: TEXTS.emoji,
    COMPAT_TEXT_EMOJI_HEX: hexOf(TEXTS.emoji),
    COMPAT_TEXT_CJK: TEXTS.cjk,
    COMPAT_TEXT_CJK_HEX: hexOf(TEXTS.cjk),
    COMPAT_TEXT_MIXED: TEXTS.mixed,
    COMPAT_TEXT_MIXED_HEX: hexOf(TEXTS.mixed),
    COMPAT_TEXT_NOTE: TEXTS.note,
    // Programs print JSON lines; a UTF-8 locale keeps every runtime (Java above all) reading and writing UTF-8.
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
  };
}
