import { describe, expect, it } from 'vitest';
import { classifyLobbyQuery, isSettingStatement, LobbyAction, parseKill, startsWithProxyKeyword } from '../../src/session/lobby-policy.js';
import { keywords, skipSpaceAndComments } from '../../src/session/sql-scan.js';

describe('lobby policy', () => {
  const cases: [string, LobbyAction][] = [
    ['SET NAMES utf8mb4', LobbyAction.RECORD],
    ["set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')", LobbyAction.RECORD],
    ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', LobbyAction.RECORD],
    ['/*!40101 SET NAMES utf8 */', LobbyAction.RECORD],
    ['USE calvindb', LobbyAction.RECORD],
    ['SET GLOBAL max_connections = 1', LobbyAction.REJECT],
    ['SET @@global.sql_mode = ""', LobbyAction.REJECT],
    ['SET @n = (SELECT count(*) FROM t)', LobbyAction.REJECT],
    ['SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment', LobbyAction.RUN],
    ['select @@version_comment limit 1', LobbyAction.RUN],
    ['SELECT 1 FROM DUAL', LobbyAction.RUN],
    ["SELECT 'from' AS word", LobbyAction.RUN],
    ['SELECT DATABASE(), VERSION()', LobbyAction.RUN],
    ['select * from test_table', LobbyAction.REJECT],
    ['SELECT 1 FROM DUAL UNION SELECT a FROM t', LobbyAction.REJECT],
    ["SHOW VARIABLES LIKE 'character_set_client'", LobbyAction.RUN],
    ['SHOW SESSION STATUS', LobbyAction.RUN],
    ['SHOW FULL COLLATION', LobbyAction.RUN],
    ['SHOW CHARACTER SET', LobbyAction.RUN],
    ['SHOW TABLES', LobbyAction.REJECT],
    ['SHOW CREATE TABLE t', LobbyAction.REJECT],
    ['BEGIN', LobbyAction.BEGIN],
    ['START TRANSACTION READ ONLY', LobbyAction.BEGIN],
    ['COMMIT', LobbyAction.END_TRANSACTION],
    ['ROLLBACK', LobbyAction.END_TRANSACTION],
    ['ROLLBACK TO SAVEPOINT a', LobbyAction.REJECT],
    ['INSERT INTO t VALUES (1)', LobbyAction.REJECT],
    ['CALL p()', LobbyAction.REJECT],
  ];
  for (const [sql, action] of cases) {
    it(`${action}: ${sql}`, () => expect(classifyLobbyQuery(sql)).toBe(action));
  }
});

describe('setting statements', () => {
  it('recognises SET and USE on raw payload bytes, cheaply and conservatively', () => {
    const check = (sql: string) => startsWithProxyKeyword(Buffer.from(sql), 0, sql.length);
    expect(check('SET NAMES utf8')).toBe(true);
    expect(check('  use db')).toBe(true);
    expect(check('set@x=1')).toBe(true);
    expect(check('/* c */ select 1')).toBe(true); // a leading comment: look closer
    expect(check('SELECT 1')).toBe(false);
    expect(check('settings')).toBe(false);
    expect(check('user')).toBe(false);
    expect(check('KILL QUERY 5')).toBe(true);
    expect(check('killer')).toBe(false);
  });

  it('reads KILL statements', () => {
    expect(parseKill('KILL 12')).toEqual({ query: false, id: 12 });
    expect(parseKill('kill query 7;')).toEqual({ query: true, id: 7 });
    expect(parseKill('KILL HARD CONNECTION 3')).toEqual({ query: false, id: 3 });
    expect(parseKill('KILL QUERY ID 9')).toEqual({ query: true, id: 9 });
    expect(parseKill('KILL USER bob')).toBeNull();
  });

  it('records session settings, not global ones', () => {
    expect(isSettingStatement('SET time_zone = "+00:00"')).toBe(true);
    expect(isSettingStatement('use x')).toBe(true);
    expect(isSettingStatement('SET GLOBAL x = 1')).toBe(false);
    expect(isSettingStatement('SET PASSWORD = "x"')).toBe(false);
    expect(isSettingStatement('select 1')).toBe(false);
  });
});

describe('sql scanning', () => {
  it('skips whitespace and comments, reading executable comments as code', () => {
    expect(skipSpaceAndComments('  -- note\n # more\n /* x */ select')).toBe(27);
    expect(keywords('/*!40101 SET NAMES utf8 */')).toEqual(['SET', 'NAMES', 'UTF8']);
    expect(keywords("select 'a from b' from `from` where \"x\"")).toEqual(['SELECT', 'FROM', 'WHERE']);
  });
});
