import { describe, expect, it } from 'vitest';
import { mayBeExtensionSql, parseExtensionSql, type ExtensionParse } from '../../src/routing/extension-sql.js';

function ok(command: unknown): ExtensionParse {
  return { ok: true, command } as ExtensionParse;
}
function err(message: string): ExtensionParse {
  return { ok: false, message };
}
const key = (k: string) => ok({ kind: 'select_library', key: k });

describe('parseExtensionSql: select library', () => {
  it.each([
    ['select library 1', '1'],
    ['SELECT LIBRARY 13812345678', '13812345678'],
    ['Select Library k100', 'k100'],
    ['select\tlibrary\t1', '1'],
    ['select  \r\n library \n 1 \n', '1'],
    ['   select library 1', '1'],
    ['select library 1;', '1'],
    ['select library 1 ;  ', '1'],
    ['select library 1; -- done', '1'],
    ['select library 1 # trailing comment', '1'],
    ['/* app=billing */ select library 1', '1'],
    ['-- first line\nselect library 1', '1'],
    ['# hash comment\n  select library 1', '1'],
    ['select /* c */ library /* c */ 1 /* c */ ;', '1'],
    ['select/**/library 1', '1'],
    ['select library 中文', '中文'],
    ['select library user@example.com', 'user@example.com'],
    ['select library a#b', 'a#b'],
    ["select library ab'c", "ab'c"],
  ])('accepts %j as key %j', (sql, k) => {
    expect(parseExtensionSql(sql)).toEqual(key(k));
  });

  it.each([
    ["select library '1'", '1'],
    ['select library "1"', '1'],
    ['select library `1`', '1'],
    ["select library 'it''s'", "it's"],
    ['select library "say""hi"""', 'say"hi"'],
    ["select library '1;'", '1;'],
    ["select library '#x'", '#x'],
    ["select library '/*x*/'", '/*x*/'],
    ["select library '1';", '1'],
    ["select library '1'-- \n", '1'],
  ])('accepts the quoted value %j as key %j', (sql, k) => {
    expect(parseExtensionSql(sql)).toEqual(key(k));
  });

  it('accepts a key of exactly 64 bytes and rejects one of 65', () => {
    expect(parseExtensionSql(`select library ${'k'.repeat(64)}`)).toEqual(key('k'.repeat(64)));
    expect(parseExtensionSql(`select library ${'k'.repeat(65)}`)).toEqual(err('key is longer than 64 bytes'));
  });

  it('counts the 64-byte limit in UTF-8 bytes, not characters', () => {
    expect(parseExtensionSql(`select library ${'中'.repeat(21)}`)).toEqual(key('中'.repeat(21))); // 63 bytes
    expect(parseExtensionSql(`select library ${'中'.repeat(22)}`)).toEqual(err('key is longer than 64 bytes'));
  });

  it.each([
    ['select library', 'missing <key>'],
    ['select library ', 'missing <key>'],
    ['select library;', 'missing <key>'],
    ['select library  ;  ', 'missing <key>'],
    ['select library -- nothing', 'missing <key>'],
    ["select library ''", 'key is empty'],
    ["select library 'a b'", 'key contains whitespace'],
    ["select library 'a\nb'", 'key contains a control character'],
    ["select library 'a\tb'", 'key contains a control character'],
    ['select library a\u0001b', 'key contains a control character'],
    ['select library a\u007fb', 'key contains a control character'],
    ['select library a\u00a0b', 'key contains whitespace'],
    ['select library a\ufffdb', 'key is not valid UTF-8'],
    ["select library 'abc", 'quoted <key> has no closing quote'],
    ["select library 'a'b", 'unexpected text after quoted <key>'],
    ['select library 1 2', 'unexpected text after <key>'],
    ['select library from t', 'unexpected text after <key>'],
    ['select library 1 /* open', 'unterminated comment'],
    ['select library 1; select 2', "unexpected text after ';' (an extension statement must be alone)"],
    ['select library 1;;', "unexpected text after ';' (an extension statement must be alone)"],
  ])('rejects %j with %j', (sql, message) => {
    expect(parseExtensionSql(sql)).toEqual(err(message));
  });
});

describe('parseExtensionSql: correl objects and show library', () => {
  it('parses select library_by_correl_object', () => {
    expect(parseExtensionSql('select library_by_correl_object card 6222020000000001')).toEqual(
      ok({ kind: 'select_library_by_correl_object', correlClass: 'card', object: '6222020000000001' }),
    );
    expect(parseExtensionSql("SELECT LIBRARY_BY_CORREL_OBJECT `phone-no` '13812345678';")).toEqual(
      ok({ kind: 'select_library_by_correl_object', correlClass: 'phone-no', object: '13812345678' }),
    );
  });

  it('parses set correl_object', () => {
    expect(parseExtensionSql('set correl_object card 6222020000000001 330001')).toEqual(
      ok({ kind: 'set_correl_object', correlClass: 'card', object: '6222020000000001', key: '330001' }),
    );
    expect(parseExtensionSql('\n  SET\tCORREL_OBJECT\nmy_class\n"o 1x"\n k ;')).toEqual(
      err('object contains whitespace'),
    );
  });

  it('parses show library with or without a semicolon', () => {
    expect(parseExtensionSql('show library')).toEqual(ok({ kind: 'show_library' }));
    expect(parseExtensionSql(' SHOW LIBRARY ; ')).toEqual(ok({ kind: 'show_library' }));
    expect(parseExtensionSql('show library x')).toEqual(err("unexpected text after 'show library'"));
  });

  it.each([
    ['select library_by_correl_object', 'missing <class>'],
    ['select library_by_correl_object card', 'missing <object>'],
    ['select library_by_correl_object card ;', 'missing <object>'],
    ['select library_by_correl_object card o extra', 'unexpected text after <object>'],
    ['set correl_object', 'missing <class>'],
    ['set correl_object card', 'missing <object>'],
    ['set correl_object card o', 'missing <key>'],
    ['set correl_object card o k extra', 'unexpected text after <key>'],
    ['set correl_object a.b o k', "class may contain only letters, digits, '_' and '-'"],
    ['set correl_object ../etc o k', "class may contain only letters, digits, '_' and '-'"],
    [`set correl_object ${'c'.repeat(65)} o k`, 'class is longer than 64 bytes'],
    [`set correl_object c ${'o'.repeat(65)} k`, 'object is longer than 64 bytes'],
    [`set correl_object c o ${'k'.repeat(65)}`, 'key is longer than 64 bytes'],
    ["set correl_object '' o k", 'class is empty'],
  ])('rejects %j with %j', (sql, message) => {
    expect(parseExtensionSql(sql)).toEqual(err(message));
  });

  it('does not confuse select library_by_correl_object with select library', () => {
    expect(parseExtensionSql('select library_by_correl_object c o')).toMatchObject({
      ok: true,
      command: { kind: 'select_library_by_correl_object' },
    });
    expect(parseExtensionSql('select library library_by_correl_object')).toEqual(key('library_by_correl_object'));
  });
});

describe('parseExtensionSql: ordinary SQL is not ours', () => {
  it.each([
    'select 1',
    'select library_id from t',
    'select * from library',
    'select library, name from t',
    'select library.name from library',
    'select library(1)',
    'select libraryX 1',
    'select library_by_correl_objects c o',
    "select library'1'",
    'select librarý 1',
    'selectlibrary 1',
    'set correl_objectx a b c',
    'set names utf8mb4',
    'set @correl_object = 1',
    'show libraries',
    'show library_x',
    'show tables',
    'insert into library values (1)',
    '',
    '   ',
    '-- only a comment',
    '/* unterminated select library 1',
    '--x select library 1',
    '/*!40101 SET NAMES utf8 */',
  ])('%j → null', (sql) => {
    expect(parseExtensionSql(sql)).toBeNull();
  });
});

describe('mayBeExtensionSql', () => {
  const payload = (sql: string, offset = 1) => Buffer.concat([Buffer.alloc(offset, 0x03), Buffer.from(sql)]);

  it.each([
    'select library 1',
    'SELECT LIBRARY',
    '  /* x */ -- y\n # z\n select\nlibrary 1',
    'select library_by_correl_object c o',
    'set correl_object c o k',
    'SeT CoRrEl_ObJeCt',
    'show library',
    'select/**/library 1',
  ])('lets %j through', (sql) => {
    expect(mayBeExtensionSql(payload(sql), 1)).toBe(true);
  });

  it.each([
    'select 1',
    'SELECT * FROM t',
    'insert into t values (1)',
    'set names utf8mb4',
    'show tables',
    'sel',
    '',
    '/* unterminated',
    'selectlibrary 1',
    'select libr',
  ])('rejects %j', (sql) => {
    expect(mayBeExtensionSql(payload(sql), 1)).toBe(false);
  });

  it('reads from the given offset (payload[offset] is the first SQL byte)', () => {
    const buf = payload('select library 1', 5);
    expect(mayBeExtensionSql(buf, 5)).toBe(true);
    expect(mayBeExtensionSql(buf, 6)).toBe(false);
  });

  it('returns true for every statement the parser recognises, over many generated variants', () => {
    const spaces = [' ', '\t', '\r\n', '  ', ' /* c */ ', '\n-- c\n', ' # c\n'];
    const leads = ['', ' ', '\n\t', '/* lead */', '-- lead\n', '#lead\n', '/**/ /* two */\n'];
    const bodies = [
      (s: string) => `select${s}library${s}k`,
      (s: string) => `SELECT${s}LIBRARY`,
      (s: string) => `select${s}library_by_correl_object${s}c${s}o`,
      (s: string) => `Set${s}Correl_Object${s}c${s}o${s}k`,
      (s: string) => `show${s}library${s};`,
      (s: string) => `select${s}library${s}'a b'`,
    ];
    let recognised = 0;
    for (const lead of leads) {
      for (const s of spaces) {
        for (const body of bodies) {
          const sql = lead + body(s);
          if (parseExtensionSql(sql) === null) continue;
          recognised++;
          expect(mayBeExtensionSql(payload(sql), 1), sql).toBe(true);
        }
      }
    }
    expect(recognised).toBe(leads.length * spaces.length * bodies.length);
  });
});
