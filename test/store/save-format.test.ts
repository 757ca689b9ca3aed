import { describe, expect, it } from 'vitest';
import {
  correlClassOfFileName,
  correlSaveFileName,
  formatCoreRecord,
  formatCorrelRecord,
  formatTimestamp,
  parseRecord,
  parseRecordLine,
  RecordReader,
} from '../../src/store/save-format.js';

const at = new Date(2017, 8, 3, 12, 0, 5); // local time, as mysqlda writes

describe('formatting records', () => {
  it('writes local time as YYYY-MM-DD HH:MM:SS', () => {
    expect(formatTimestamp(at)).toBe('2017-09-03 12:00:05');
    expect(formatTimestamp(new Date(999, 0, 1, 0, 0, 0))).toBe('0999-01-01 00:00:00');
  });

  it('writes a core record as mysqlda does, newline included', () => {
    expect(formatCoreRecord('13812345678', 'mysqlda1', at)).toBe('2017-09-03 12:00:05 13812345678 mysqlda1\n');
  });

  it('writes a correl record as mysqlda does', () => {
    expect(formatCorrelRecord('6222020000000001', '330001', at)).toBe('2017-09-03 12:00:05 6222020000000001 330001\n');
  });

  it('refuses values that would forge or break lines (mysqlda key injection)', () => {
    expect(() => formatCoreRecord('evil\nmysql_data_1', 'a', at)).toThrow(/control character/);
    expect(() => formatCoreRecord('a b', 'lib', at)).toThrow(/whitespace/);
    expect(() => formatCoreRecord('k', 'lib 2', at)).toThrow(/without whitespace/);
    expect(() => formatCorrelRecord('o', 'k'.repeat(65), at)).toThrow(/longer than 64 bytes/);
  });
});

describe('parseRecord', () => {
  it('reads a dated core line', () => {
    expect(parseRecordLine('2017-09-03 12:00:00 13812345678 mysqlda1', 'core')).toEqual({
      ok: true, first: '13812345678', second: 'mysqlda1', dated: true,
    });
  });

  it('reads the undated two-field form of old mysqlda versions', () => {
    expect(parseRecordLine('  330001 mysqlda2', 'core')).toEqual({
      ok: true, first: '330001', second: 'mysqlda2', dated: false,
    });
  });

  it('reads a correl line as object then key', () => {
    expect(parseRecordLine('2017-09-03 12:00:00 6222 330001', 'correl')).toEqual({
      ok: true, first: '6222', second: '330001', dated: true,
    });
  });

  it('tolerates tabs, repeated spaces and a CR before the LF', () => {
    expect(parseRecordLine('2017-09-03\t12:00:00  k   lib\r', 'core')).toMatchObject({ ok: true, first: 'k', second: 'lib' });
  });

  it('reads UTF-8 keys and a record in the middle of a buffer', () => {
    const buf = Buffer.from('xx\n2017-09-03 12:00:00 中文 mid\nyy');
    expect(parseRecord(buf, 3, buf.indexOf('\nyy'), 'core')).toMatchObject({ ok: true, first: '中文', second: 'mid' });
  });

  it.each([
    ['2017-09-03 12:00:00 k', 'core', 'expected 4 fields (date time key library), found 3'],
    ['2017-09-03 12:00:00 o k extra', 'correl', 'expected 4 fields (date time object key), found 5'],
    ['k', 'core', 'expected 4 fields (date time key library), found 1'],
    ['2017-13-03 12:00:00 k lib', 'core', 'bad date "2017-13-03"'],
    ['2017/09/03 12:00:00 k lib', 'core', 'bad date "2017/09/03"'],
    ['2017-09-03 24:00:00 k lib', 'core', 'bad time "24:00:00"'],
    ['2017-09-03 12:0:00 k lib', 'core', 'bad time "12:0:00"'],
    [`2017-09-03 12:00:00 ${'k'.repeat(65)} lib`, 'core', 'key is longer than 64 bytes'],
    [`2017-09-03 12:00:00 k ${'l'.repeat(65)}`, 'core', 'library name is longer than 64 bytes'],
    ['2017-09-03 12:00:00 a\u000bb lib', 'core', 'key contains a control character: "a\\u000bb"'],
    ['2017-09-03 12:00:00 k li\u0001b', 'core', 'library name contains a control character'],
    ['2017-09-03 12:00:00 o\u00a0x k', 'correl', 'object contains whitespace: "o\u00a0x"'],
  ] as const)('rejects %j: %s', (line, kind, message) => {
    expect(parseRecordLine(line, kind)).toEqual({ ok: false, message });
  });

  it('reports invalid UTF-8 instead of silently merging keys', () => {
    const buf = Buffer.concat([Buffer.from('2017-09-03 12:00:00 a'), Buffer.from([0xd6, 0xd0]), Buffer.from(' lib')]);
    expect(parseRecord(buf, 0, buf.length, 'core')).toMatchObject({ ok: false, message: expect.stringMatching(/^key is not valid UTF-8/) });
  });

  it('marks a whitespace-only line as blank', () => {
    expect(parseRecordLine(' \t ', 'core')).toEqual({ ok: false, message: 'blank line', blank: true });
  });

  it('gives the same result for the canonical layout and for any other spacing', () => {
    const reader = new RecordReader('core', ['mysqlda1', 'mysqlda2']);
    const read = (line: string) => reader.read(Buffer.from(line), 0, Buffer.byteLength(line));
    const expected = { ok: true, first: 'k1', second: 'mysqlda2', dated: true };
    expect(read('2017-09-03 12:00:00 k1 mysqlda2')).toEqual(expected);
    expect(read('2017-09-03  12:00:00\tk1 mysqlda2 ')).toEqual(expected);
    expect(read('2017-09-03 12:00:00 k1 unknown-lib')).toEqual({ ...expected, second: 'unknown-lib' });
    expect(read('2017-09-03 12:00:00 k1 mysqlda')).toEqual({ ...expected, second: 'mysqlda' });
    expect(read('2017-09-03 99:00:00 k1 mysqlda2')).toEqual({ ok: false, message: 'bad time "99:00:00"' });
  });

  it('reads back what it writes', () => {
    const line = formatCoreRecord('user@example.com', 'zeta', at);
    expect(parseRecordLine(line.slice(0, -1), 'core')).toEqual({ ok: true, first: 'user@example.com', second: 'zeta', dated: true });
  });
});

describe('save-file names', () => {
  it('names correl files mysqlda.<class>.save and refuses unsafe classes', () => {
    expect(correlSaveFileName('card')).toBe('mysqlda.card.save');
    expect(() => correlSaveFileName('../x')).toThrow(/invalid correl class/);
    expect(() => correlSaveFileName('a.b')).toThrow(/invalid correl class/);
  });

  it.each([
    ['mysqlda.card.save', 'card'],
    ['mysqlda.phone-no_2.save', 'phone-no_2'],
    ['mysqlda.save', undefined],
    ['mysqlda.card.save.bak', undefined],
    ['mysqlda.a.b.save', undefined],
    ['mysqlda..save', undefined],
    ['other.card.save', undefined],
  ])('recognises %j as class %j', (name, cls) => {
    expect(correlClassOfFileName(name)).toBe(cls);
  });
});
