import { describe, expect, it } from 'vitest';
import {
  addedPerLibrary, exportedLine, firstRecords, exportedTimestamp, lineTimestamp, planAliasBatch, planKeyBatch, savedLibraryOf, stateRows,
  storedTimestamp, UNDATED_UTC, type AliasRecord, type KeyRecord,
} from '../../../src/store/mysql/transfer-plan.js';

const at = '2020-01-01 00:00:00';
const key = (k: string, library: string, line: number): KeyRecord => ({ key: k, library, line, at });
const alias = (object: string, k: string, line: number): AliasRecord => ({ object, key: k, line, at });

describe('planKeyBatch', () => {
  const mine = (library: string) => ({ library, insertedByBatch: true });
  const theirs = (library: string) => ({ library, insertedByBatch: false });

  it('tries to insert the first record of each key, in file order', () => {
    expect(firstRecords([key('a', 'l1', 1), key('b', 'l2', 2), key('a', 'l3', 3)])).toEqual([key('a', 'l1', 1), key('b', 'l2', 2)]);
  });

  it('counts every first record as inserted when the insert took them all', () => {
    const plan = planKeyBatch('s', [key('a', 'l1', 1), key('b', 'l2', 2)], null);
    expect(plan.inserts.map((r) => r.key)).toEqual(['a', 'b']);
    expect(plan).toMatchObject({ present: 0, conflicts: [] });
  });

  it('tells the rows this batch inserted from those already there with the same library', () => {
    const plan = planKeyBatch('s', [key('a', 'l1', 1), key('b', 'l2', 2)], new Map([['a', mine('l1')], ['b', theirs('l2')]]));
    expect(plan.inserts.map((r) => r.key)).toEqual(['a']);
    expect(plan.present).toBe(1);
    expect(plan.conflicts).toEqual([]);
  });

  it('reports a key bound to another library in the tables with its file and line, and does not count it', () => {
    const plan = planKeyBatch('/d/mysqlda.save', [key('a', 'l1', 7)], new Map([['a', theirs('l2')]]));
    expect(plan.inserts).toEqual([]);
    expect(plan.conflicts).toEqual(["/d/mysqlda.save:7: key 'a' is bound to library 'l2' in the directory, not 'l1' as here: not imported"]);
  });

  it('keeps the first line of a key repeated in a batch: the same library is present, another one a conflict', () => {
    const records = [key('a', 'l1', 1), key('a', 'l1', 2), key('a', 'l3', 3)];
    for (const rows of [null, new Map([['a', mine('l1')]])]) {
      const plan = planKeyBatch('f', records, rows);
      expect(plan.inserts).toEqual([key('a', 'l1', 1)]);
      expect(plan.present).toBe(1);
      expect(plan.conflicts).toEqual(["f:3: key 'a' is assigned to library 'l3' here but to 'l1' at line 1: not imported"]);
    }
  });

  it('judges every line of a key the tables already hold against the tables', () => {
    const plan = planKeyBatch('f', [key('a', 'l1', 1), key('a', 'l2', 2)], new Map([['a', theirs('l2')]]));
    expect(plan.inserts).toEqual([]);
    expect(plan.present).toBe(1);
    expect(plan.conflicts).toEqual(["f:1: key 'a' is bound to library 'l2' in the directory, not 'l1' as here: not imported"]);
  });

  it('counts the keys inserted per library', () => {
    expect([...addedPerLibrary([key('a', 'l1', 1), key('b', 'l2', 2), key('c', 'l1', 3)])]).toEqual([['l1', 2], ['l2', 1]]);
  });
});

describe('planAliasBatch', () => {
  it('binds objects of known keys, reports objects of keys without a library and objects bound elsewhere', () => {
    const plan = planAliasBatch(
      'p',
      [alias('o1', 'k1', 1), alias('o2', 'nobody', 2), alias('o3', 'k1', 3), alias('o4', 'k1', 4)],
      new Set(['k1', 'k2']),
      new Map([['o3', 'k2'], ['o4', 'k1']]),
    );
    expect(plan.inserts.map((r) => r.object)).toEqual(['o1']);
    expect(plan.present).toBe(1);
    expect(plan.conflicts).toEqual([
      "p:2: key 'nobody' of object 'o2' has no library in the directory: not imported",
      "p:3: object 'o3' is bound to key 'k2' in the directory, not 'k1' as here: not imported",
    ]);
  });

  it('keeps the first binding of an object repeated in a batch', () => {
    const plan = planAliasBatch('p', [alias('o', 'k1', 1), alias('o', 'k2', 2), alias('o', 'k1', 3)], new Set(['k1', 'k2']), new Map());
    expect(plan.inserts).toEqual([alias('o', 'k1', 1)]);
    expect(plan.present).toBe(1);
    expect(plan.conflicts).toEqual(["p:2: object 'o' is bound to key 'k2' here but to key 'k1' at line 1: not imported"]);
  });
});

describe('dates between save files (local time) and TIMESTAMP columns (UTC)', () => {
  it('stores a local date and time as the UTC instant it names, and exports it back as the same local text', () => {
    const stored = storedTimestamp('2017-09-03 12:00:05');
    expect(stored.dropped).toBe(false);
    const expected = new Date(2017, 8, 3, 12, 0, 5);
    expect(stored.at).toBe(expected.toISOString().slice(0, 19).replace('T', ' '));
    expect(exportedTimestamp(expected.getTime() / 1000)).toBe('2017-09-03 12:00:05');
  });

  it('stores an undated record as 1 s after the epoch and exports it undated, in the old two-field form', () => {
    expect(storedTimestamp(null)).toEqual({ at: UNDATED_UTC, dropped: false });
    expect(exportedTimestamp(1)).toBeNull();
    expect(exportedLine(null, 'k', 'lib')).toBe('  k lib\n');
    expect(exportedLine('2017-09-03 12:00:05', 'k', 'lib')).toBe('2017-09-03 12:00:05 k lib\n');
  });

  it('drops a date a TIMESTAMP cannot hold', () => {
    expect(storedTimestamp('2099-01-01 00:00:00')).toEqual({ at: UNDATED_UTC, dropped: true });
    expect(storedTimestamp('1960-01-01 00:00:00')).toEqual({ at: UNDATED_UTC, dropped: true });
  });

  it('reads the date and time of a line whatever separates its fields', () => {
    const line = Buffer.from('x\t2017-09-03  12:00:05\tk lib');
    expect(lineTimestamp(line, 2, line.length)).toBe('2017-09-03 12:00:05');
  });
});

describe('library state rows', () => {
  it('writes the state file entries as rows and reads them back as the same entries', () => {
    const state = new Map([
      ['b', { current: 'h:2', servers: ['h:1', 'h:2'], since: '2026-11-30T08:15:00.250Z', leftByFailover: new Map([['h:1', '2026-11-30T08:15:00.250Z']]) }],
      ['a', { current: 'h:3', servers: ['h:3'], since: '2026-11-29T00:00:00.000Z', leftByFailover: new Map() }],
    ]);
    const rows = stateRows(state);
    expect(rows.map((row) => row.library)).toEqual(['a', 'b']);
    expect(rows[1]).toEqual({
      library: 'b',
      currentServer: 'h:2',
      servers: '["h:1","h:2"]',
      leftByFailover: '{"h:1":"2026-11-30T08:15:00.250Z"}',
      since: '2026-11-30 08:15:00.250',
    });
    const back = savedLibraryOf({ ...rows[1], sinceMs: Date.parse('2026-11-30T08:15:00.250Z') });
    expect(back).toEqual(state.get('b'));
  });

  it('gives null for a row whose JSON is not a server list', () => {
    expect(savedLibraryOf({ currentServer: 'h:1', servers: '{"x":1}', leftByFailover: '{}', sinceMs: 0 })).toBeNull();
    expect(savedLibraryOf({ currentServer: 'h:1', servers: 'not json', leftByFailover: '{}', sinceMs: 0 })).toBeNull();
  });
});
