import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import mysql from 'mysql2/promise';

/**
 * The scenario (test/compat/README.md) with mysql2: `query` (text protocol, client-side escaping), `execute`
 * (server-side prepared statements), `reset`, `changeUser`, and a pool with resetOnRelease. Runs in the vitest
 * process and reports through `emit` in the JSON-line shape of the other programs.
 */
export async function runMysql2Scenario(env: Record<string, string>, emit: (line: Record<string, unknown>) => void): Promise<void> {
  const version = (createRequire(import.meta.url)('mysql2/package.json') as { version: string }).version;
  emit({ version: `mysql2 ${version}` });
  const check = async (name: string, body: () => Promise<string | void>) => {
    try {
      const detail = await body();
      emit({ check: name, ok: true, ...(detail ? { detail } : {}) });
    } catch (error) {
      emit({ check: name, ok: false, detail: describe(error) });
    }
  };
  const options: mysql.ConnectionOptions = {
    host: env.COMPAT_HOST,
    port: Number(env.COMPAT_PORT),
    user: env.COMPAT_USER,
    password: env.COMPAT_PASSWORD,
    database: env.COMPAT_DATABASE,
    charset: 'UTF8MB4_UNICODE_CI',
    multipleStatements: true,
  };
  const connect = () => mysql.createConnection(options);
  const rowsOf = async (connection: mysql.Connection, sql: string, params?: unknown[]) =>
    (await connection.query(sql, params))[0] as Record<string, unknown>[];
  const settings = async (connection: mysql.Connection) => JSON.stringify((await rowsOf(connection, env.COMPAT_SQL_SETTINGS))[0]);
  const showLibrary = async (connection: mysql.Connection) => (await rowsOf(connection, 'show library'))[0] as { library: string; key: string; server: string };

  let a!: mysql.Connection;
  let before = '';
  let library = '';
  await check('connect', async () => {
    a = await connect();
    await a.query(`SET time_zone = '${env.COMPAT_TIME_ZONE}'`);
    before = await settings(a);
  });

  await check('lobby-refuses-data', async () => {
    const error = await errorOf(a.query(env.COMPAT_SQL_LOBBY_DATA));
    equal(error.errno, 7101, 'error code');
    equal((await rowsOf(a, 'SELECT 1 AS one'))[0].one, 1, 'SELECT 1 afterwards');
  });

  await check('select-library', async () => {
    await a.query(`select library ${env.COMPAT_KEY}`);
    const shown = await showLibrary(a);
    equal(shown.key, env.COMPAT_KEY, 'show library key');
    library = shown.library;
    const port = (await rowsOf(a, 'SELECT @@port AS port'))[0].port;
    equal(String(port), shown.server.split(':').pop(), '@@port against show library server');
    return `${shown.library} ${shown.server}`;
  });

  await check('lobby-settings', async () => {
    const after = await settings(a);
    equal(after, before, 'settings after select library');
    equal(JSON.parse(after).time_zone, env.COMPAT_TIME_ZONE, 'time_zone');
  });

  await check('ddl', async () => {
    for (const statement of env.COMPAT_SQL_DDL.split('\n')) await a.query(statement);
  });

  const readItem = async (id: number, how: 'query' | 'execute') => {
    const [rows] = how === 'query' ? await a.query(env.COMPAT_SQL_SELECT_ITEM, [id]) : await a.execute(env.COMPAT_SQL_SELECT_ITEM, [id]);
    return (rows as Record<string, unknown>[])[0];
  };
  await check('text-utf8mb4', async () => {
    await a.query(env.COMPAT_SQL_INSERT_ITEM, [1, env.COMPAT_TEXT_EMOJI, null, '1.50']);
    await a.query(env.COMPAT_SQL_INSERT_ITEM, [2, env.COMPAT_TEXT_CJK, env.COMPAT_TEXT_NOTE, null]);
    const one = await readItem(1, 'query');
    const two = await readItem(2, 'query');
    equal(one.label, env.COMPAT_TEXT_EMOJI, 'emoji label');
    equal(one.label_hex, env.COMPAT_TEXT_EMOJI_HEX, 'emoji HEX(label)');
    equal(two.label, env.COMPAT_TEXT_CJK, 'CJK label');
    equal(two.label_hex, env.COMPAT_TEXT_CJK_HEX, 'CJK HEX(label)');
  });

  await check('null-values', async () => {
    const one = await readItem(1, 'query');
    const two = await readItem(2, 'query');
    equal(one.note, null, 'row 1 note');
    equal(one.amount, '1.50', 'row 1 amount');
    equal(two.note, env.COMPAT_TEXT_NOTE, 'row 2 note');
    equal(two.amount, null, 'row 2 amount');
  });

  await check('prepared', async () => {
    await a.execute(env.COMPAT_SQL_INSERT_ITEM, [3, env.COMPAT_TEXT_MIXED, null, '-2.25']);
    const three = await readItem(3, 'execute');
    equal(three.label, env.COMPAT_TEXT_MIXED, 'label');
    equal(three.label_hex, env.COMPAT_TEXT_MIXED_HEX, 'HEX(label)');
    equal(three.note, null, 'note');
    equal(three.amount, '-2.25', 'amount');
  });

  const countOf = async (id: number) => Number((await rowsOf(a, `SELECT COUNT(*) AS n FROM ${env.COMPAT_TABLE_ITEMS} WHERE id = ?`, [id]))[0].n);
  await check('commit', async () => {
    await a.beginTransaction();
    await a.query(env.COMPAT_SQL_INSERT_ITEM, [10, 'committed', null, null]);
    await a.commit();
    equal(await countOf(10), 1, 'rows with id 10');
  });

  await check('rollback', async () => {
    await a.beginTransaction();
    await a.query(env.COMPAT_SQL_INSERT_ITEM, [11, 'rolled back', null, null]);
    await a.rollback();
    equal(await countOf(11), 0, 'rows with id 11');
  });

  await check('large-result', async () => {
    await a.query(env.COMPAT_SQL_FILL_ROWS);
    const rows = await rowsOf(a, env.COMPAT_SQL_SELECT_ROWS);
    equal(rows.length, Number(env.COMPAT_ROWS), 'row count');
    rows.forEach((row, i) => {
      if (row.n !== i + 1 || row.label !== `row-${i + 1}`) throw new Error(`row ${i + 1} is ${JSON.stringify(row)}`);
    });
  });

  await check('load-data-local', async () => {
    await a.query({ sql: env.COMPAT_SQL_LOAD_DATA, infileStreamFactory: (file: string) => createReadStream(file) });
    const [loaded] = await rowsOf(a, env.COMPAT_SQL_LOADED);
    equal(`${loaded.n} ${loaded.total}`, env.COMPAT_LOADED, 'COUNT(*) and SUM(n) of the loaded rows');
  });

  await check('blob-4mb', async () => {
    const blob = await readFile(env.COMPAT_BLOB_FILE);
    await a.execute(env.COMPAT_SQL_INSERT_BLOB, [1, blob]);
    const [digest] = await rowsOf(a, env.COMPAT_SQL_BLOB_DIGEST, [1]);
    equal(Number(digest.len), Number(env.COMPAT_BLOB_BYTES), 'LENGTH(data)');
    equal(digest.md5, env.COMPAT_BLOB_MD5, 'MD5(data)');
    const [row] = ((await a.execute(env.COMPAT_SQL_SELECT_BLOB, [1]))[0] as { data: Buffer }[]);
    if (!blob.equals(row.data)) throw new Error(`blob read back differs (${row.data.length} bytes)`);
  });

  await check('large-packet', async () => {
    const blob = await readFile(env.COMPAT_BIG_BLOB_FILE);
    await a.execute(env.COMPAT_SQL_INSERT_BLOB, [2, blob]);
    const [digest] = await rowsOf(a, env.COMPAT_SQL_BLOB_DIGEST, [2]);
    equal(Number(digest.len), Number(env.COMPAT_BIG_BLOB_BYTES), 'LENGTH(data)');
    equal(digest.md5, env.COMPAT_BIG_BLOB_MD5, 'MD5(data)');
    const [row] = (await a.execute(env.COMPAT_SQL_SELECT_BLOB, [2]))[0] as { data: Buffer }[];
    if (!blob.equals(row.data)) throw new Error(`blob read back differs (${row.data.length} bytes)`);
  });

  await check('error-recovery', async () => {
    const error = await errorOf(a.query(env.COMPAT_SQL_ERROR));
    equal(error.errno, 1146, 'error code');
    equal((await rowsOf(a, 'SELECT 1 + 1 AS two'))[0].two, 2, 'next statement');
  });

  await check('errors-in-flight', async () => {
    const multi = await errorOf(a.query(`SELECT 1 AS one; ${env.COMPAT_SQL_ERROR}; SELECT 3 AS three`));
    equal(multi.errno, 1146, 'error code inside the multi-statement');
    equal((await rowsOf(a, 'SELECT 2 AS two'))[0].two, 2, 'the statement after the multi-statement');
    const duplicate = await errorOf(a.execute(env.COMPAT_SQL_INSERT_ITEM, [1, 'duplicate', null, null]));
    equal(duplicate.errno, 1062, 'error code of the prepared execution');
    const [rows] = await a.execute(env.COMPAT_SQL_SELECT_ITEM, [1]);
    equal((rows as { label: string }[])[0].label, env.COMPAT_TEXT_EMOJI, 'the prepared statement after the error');
  });

  await check('procedure-out', async () => {
    const [results] = await a.query(env.COMPAT_SQL_CALL);
    const first = (results as unknown[])[0] as Record<string, unknown>[];
    equal(first[0].input, 21, 'result set of the procedure');
    equal((await rowsOf(a, env.COMPAT_SQL_CALL_OUT))[0].y, 42, 'OUT parameter');
  });

  await check('multi-statements', async () => {
    const [results] = await a.query(env.COMPAT_SQL_MULTI);
    equal(JSON.stringify(results), JSON.stringify([[{ one: 1 }], [{ two: 'two' }]]), 'result sets');
  });

  await check('switch-library', async () => {
    const home = (await showLibrary(a)).server;
    let other = '';
    for (let n = 0; n < 20 && !other; n++) {
      await a.query(`select library ${env.COMPAT_OTHER_KEY_PREFIX}${n}`);
      if ((await showLibrary(a)).library !== library) other = `${env.COMPAT_OTHER_KEY_PREFIX}${n}`;
    }
    try {
      if (!other) throw new Error('no key of the other library found in 20 tries');
      const there = await showLibrary(a);
      equal(String((await rowsOf(a, 'SELECT @@port AS port'))[0].port), there.server.split(':').pop(), '@@port on the other library');
      equal(await settings(a), before, 'settings on the other library');
    } finally {
      await a.query(`select library ${env.COMPAT_KEY}`);
    }
    equal((await showLibrary(a)).server, home, 'back home');
    equal(await settings(a), before, 'settings back home');
  });

  await check('switch-prepared', async () => {
    // execute() prepares the SQL on first use and caches the server's statement id by SQL text.
    const portOf = async () => String(((await a.execute('SELECT @@port + ? AS port', [0]))[0] as { port: number }[])[0].port);
    const home = (await showLibrary(a)).server;
    let other = '';
    for (let n = 0; n < 20 && !other; n++) {
      await a.query(`select library ${env.COMPAT_OTHER_KEY_PREFIX}${n}`);
      if ((await showLibrary(a)).library !== library) other = `${env.COMPAT_OTHER_KEY_PREFIX}${n}`;
    }
    try {
      if (!other) throw new Error('no key of the other library found in 20 tries');
      equal(await portOf(), (await showLibrary(a)).server.split(':').pop(), 'execute on the other library');
    } finally {
      await a.query(`select library ${env.COMPAT_KEY}`);
    }
    equal(await portOf(), home.split(':').pop(), 'the same execute back home');
  });

  await check('correl-alias', async () => {
    await a.query(`set correl_object ${env.COMPAT_CORREL_CLASS} ${env.COMPAT_CORREL_OBJECT} ${env.COMPAT_KEY}`);
    const b = await connect();
    try {
      await b.query(`select library_by_correl_object ${env.COMPAT_CORREL_CLASS} ${env.COMPAT_CORREL_OBJECT}`);
      const shown = await showLibrary(b);
      equal(`${shown.library} ${shown.key}`, `${library} ${env.COMPAT_KEY}`, 'show library on the new connection');
      equal((await rowsOf(b, `SELECT label FROM ${env.COMPAT_TABLE_ITEMS} WHERE id = 2`))[0].label, env.COMPAT_TEXT_CJK, 'row 2');
    } finally {
      await b.end();
    }
  });

  await check('lobby-transaction', async () => {
    const c = await connect();
    try {
      await c.query('BEGIN');
      await c.query(`select library ${env.COMPAT_KEY}`);
      await c.query(env.COMPAT_SQL_INSERT_ITEM, [12, 'lobby transaction', null, null]);
      await c.query('ROLLBACK');
      equal(await countOf(12), 0, 'rows with id 12 after ROLLBACK');
      await c.query('BEGIN');
      await c.query(env.COMPAT_SQL_INSERT_ITEM, [13, 'lobby transaction', null, null]);
      await c.query('COMMIT');
      equal(await countOf(13), 1, 'rows with id 13 after COMMIT');
    } finally {
      await c.end();
    }
  });

  await check('ping', async () => {
    await a.ping();
    equal((await rowsOf(a, 'SELECT 1 AS one'))[0].one, 1, 'SELECT 1 after ping');
  });

  const expectReset = async (connection: mysql.Connection) => {
    equal((await rowsOf(connection, 'SELECT @compat_marker AS marker'))[0].marker, null, '@compat_marker');
    equal((await showLibrary(connection)).key, env.COMPAT_KEY, 'show library key');
    await connection.query(`SELECT COUNT(*) FROM ${env.COMPAT_TABLE_ITEMS}`);
  };
  await check('reset', async () => {
    await a.query("SET @compat_marker = 'set'");
    await a.reset();
    await expectReset(a);
  });

  await check('change-user', async () => {
    await a.query("SET @compat_marker = 'set'");
    await a.changeUser({ user: env.COMPAT_USER, password: env.COMPAT_PASSWORD, database: env.COMPAT_DATABASE });
    await expectReset(a);
  });

  await check('pool', async () => {
    const pool = mysql.createPool({ ...options, connectionLimit: 1, resetOnRelease: true });
    try {
      const first = await pool.getConnection();
      await first.query(`select library ${env.COMPAT_KEY}`);
      await first.query("SET @compat_marker = 'set'");
      first.release();
      const again = await pool.getConnection();
      try {
        await expectReset(again as unknown as mysql.Connection);
        await again.execute(env.COMPAT_SQL_SELECT_ITEM, [1]);
      } finally {
        again.release();
      }
    } finally {
      await pool.end();
    }
  });

  await check('quit', async () => {
    await a.end();
  });
}

function equal(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function errorOf(promise: Promise<unknown>): Promise<{ errno: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { errno: number; message: string };
  }
  throw new Error('expected an error, the statement succeeded');
}

function describe(error: unknown): string {
  const e = error as { errno?: number; sqlState?: string; message?: string };
  return e.errno ? `ERROR ${e.errno} (${e.sqlState}): ${e.message}` : String(e.message ?? error);
}
