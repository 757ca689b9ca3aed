import { describe, expect, it } from 'vitest';
import { compareGtid, GtidParseError, parseGtidPosition, tryParseGtidPosition } from '../../src/backend/gtid.js';

const cmp = (a: string, b: string) => compareGtid(parseGtidPosition(a), parseGtidPosition(b));

describe('MariaDB GTID positions', () => {
  it('parses one GTID per domain, whatever server wrote it', () => {
    expect(parseGtidPosition('0-1-42,1-3-9')).toEqual({ flavor: 'mariadb', domains: new Map([[0, 42n], [1, 9n]]) });
    expect(parseGtidPosition(' 0-1-18446744073709551615 ')).toEqual({ flavor: 'mariadb', domains: new Map([[0, 18446744073709551615n]]) });
    expect(parseGtidPosition('')).toEqual({ flavor: 'empty' });
  });

  it('is ahead when ahead in some domain and behind in none; a new server id changes nothing', () => {
    expect(cmp('0-1-43', '0-1-42')).toBe('ahead');
    expect(cmp('0-2-43', '0-1-42')).toBe('ahead');
    expect(cmp('0-1-42', '0-1-43')).toBe('behind');
    expect(cmp('0-1-42', '0-2-42')).toBe('equal');
    expect(cmp('0-1-42,1-1-5', '0-1-42')).toBe('ahead');
    expect(cmp('0-1-42', '0-1-42,1-1-5')).toBe('behind');
    expect(cmp('0-1-50,1-1-4', '0-1-42,1-1-5')).toBe('diverged'); // behind in one domain is behind
    expect(cmp('', '0-1-1')).toBe('behind');
    expect(cmp('0-1-1', '')).toBe('ahead');
    expect(cmp('', '')).toBe('equal');
  });

  it('refuses what is not a position', () => {
    for (const text of ['0-1', 'a-b-c', '0-1-2,,', '0-1-2;1-1-1']) expect(() => parseGtidPosition(text)).toThrow(GtidParseError);
    expect(tryParseGtidPosition('junk')).toBeNull();
    expect(tryParseGtidPosition(null)).toBeNull();
  });
});

describe('MySQL GTID sets', () => {
  const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
  const B = '4f2a8c10-71ca-11e1-9e33-c80aa9429562';

  it('parses intervals per source, merging adjacent ones, over lines as MySQL prints long sets', () => {
    const set = parseGtidPosition(`${A}:1-5:6-9:12,\n${B}:1-3`);
    expect(set).toEqual({
      flavor: 'mysql',
      sources: new Map([
        [A.replace(/-/g, ''), [[1n, 9n], [12n, 12n]]],
        [B.replace(/-/g, ''), [[1n, 3n]]],
      ]),
    });
  });

  it('compares by containment', () => {
    expect(cmp(`${A}:1-10`, `${A}:1-9`)).toBe('ahead');
    expect(cmp(`${A}:1-9`, `${A}:1-10`)).toBe('behind');
    expect(cmp(`${A}:1-9,${B}:1-2`, `${A}:1-9`)).toBe('ahead');
    expect(cmp(`${A}:1-5:7-9`, `${A}:1-9`)).toBe('behind'); // a gap is a missing transaction
    expect(cmp(`${A}:1-10`, `${A}:1-9,${B}:1`)).toBe('diverged');
    expect(cmp(`${A.toUpperCase()}:1-3`, `${A}:1-3`)).toBe('equal');
  });

  it('does not compare across flavors, and refuses malformed sets', () => {
    expect(cmp(`${A}:1-3`, '0-1-3')).toBe('incomparable');
    for (const text of [`${A}`, `${A}:`, `${A}:5-3`, 'nouuid:1-3']) expect(() => parseGtidPosition(text)).toThrow(GtidParseError);
  });
});
