import { describe, expect, it } from 'vitest';
import { uncarriedStateOf } from '../../src/session/uncarried-state.js';

const of = (sql: string) => {
  const buf = Buffer.from(sql, 'utf8');
  return uncarriedStateOf(buf, 0, buf.length);
};

describe('session state a new server cannot be given', () => {
  it.each([
    ['CREATE TEMPORARY TABLE t (a int)', 'a temporary table'],
    ['  create   temporary table t (a int)', 'a temporary table'],
    ['/* app=billing */ CREATE TEMPORARY TABLE t (a int)', 'a temporary table'],
    ['-- note\n# more\nLOCK TABLES t READ', 'table locks (LOCK TABLES)'],
    ['LOCK TABLES t WRITE', 'table locks (LOCK TABLES)'],
    ['lock table t read', 'table locks (LOCK TABLES)'],
    ['FLUSH TABLES WITH READ LOCK', 'a global read lock (FLUSH … WITH READ LOCK)'],
    ["SELECT GET_LOCK('job', 10)", 'a user-level lock (GET_LOCK)'],
    ["do release_lock('job')", 'a user-level lock (GET_LOCK)'],
    ['HANDLER t OPEN', 'an open HANDLER'],
    ["PREPARE s FROM 'select 1'", 'an SQL-level prepared statement (PREPARE)'],
    ["XA START 'x'", 'an XA transaction'],
    ['SELECT @n := count(*) FROM t', 'a user variable set outside SET'],
    ['SELECT count(*) INTO @n FROM t', 'a user variable set outside SET'],
  ])('%j leaves %s', (sql, what) => {
    expect(of(sql)).toBe(what);
  });

  it.each([
    'SELECT * FROM t WHERE a = 1',
    'CREATE TABLE t (a int)',
    "INSERT INTO t VALUES ('x')",
    'SELECT @n',
    'select a from t into outfile "/tmp/x"',
    'UPDATE locks SET held = 0',
    'SET @a = 1',
    'select 1',
  ])('%j leaves nothing that cannot be carried', (sql) => {
    expect(of(sql)).toBeNull();
  });
});
