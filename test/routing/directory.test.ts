import { describe, expect, it } from 'vitest';
import { Directory } from '../../src/routing/directory.js';

describe('Directory', () => {
  it('binds keys to libraries and counts them per library', () => {
    const d = new Directory(['a', 'b']);
    expect(d.put('k1', 'a')).toBe(true);
    expect(d.put('k2', 'b')).toBe(true);
    expect(d.put('k3', 'b')).toBe(true);
    expect(d.libraryOf('k3')).toBe('b');
    expect(d.libraryOf('nope')).toBeUndefined();
    expect(d.keyCount('a')).toBe(1);
    expect(d.keyCount('b')).toBe(2);
    expect(d.size()).toBe(3);
    expect(d.perLibrary()).toEqual({ a: 1, b: 2 });
  });

  it('treats binding a key to its own library again as a no-op', () => {
    const d = new Directory(['a']);
    d.put('k', 'a');
    expect(d.put('k', 'a')).toBe(false);
    expect(d.keyCount('a')).toBe(1);
  });

  it('refuses to move a key to another library or to an unknown one', () => {
    const d = new Directory(['a', 'b']);
    d.put('k', 'a');
    expect(() => d.put('k', 'b')).toThrow(/bound to 'a'/);
    expect(() => d.put('x', 'zzz')).toThrow(/unknown library 'zzz'/);
    expect(d.keyCount('b')).toBe(0);
  });

  it('rolls a key back with unput', () => {
    const d = new Directory(['a']);
    d.put('k', 'a');
    d.unput('k');
    d.unput('never-there');
    expect(d.libraryOf('k')).toBeUndefined();
    expect(d.keyCount('a')).toBe(0);
    expect(d.size()).toBe(0);
  });

  it('reports loads in config order with the given weights', () => {
    const d = new Directory(['z', 'a', 'm']);
    d.put('1', 'a');
    expect(d.loads(new Map([['z', 1], ['a', 2], ['m', 3]]))).toEqual([
      { name: 'z', weight: 1, keyCount: 0 },
      { name: 'a', weight: 2, keyCount: 1 },
      { name: 'm', weight: 3, keyCount: 0 },
    ]);
    expect(() => d.loads(new Map([['z', 1]]))).toThrow(/no weight for library 'a'/);
  });

  it('adds, reorders and drops empty libraries on setLibraries, keeping counts', () => {
    const d = new Directory(['a', 'b', 'c']);
    d.put('k', 'b');
    d.setLibraries(['new', 'b', 'a']);
    expect(d.libraries()).toEqual(['new', 'b', 'a']);
    expect(d.perLibrary()).toEqual({ new: 0, b: 1, a: 0 });
    expect(d.hasLibrary('c')).toBe(false);
    expect(d.put('k2', 'new')).toBe(true);
  });

  it('refuses to remove a library that still owns keys, changing nothing', () => {
    const d = new Directory(['a', 'b']);
    d.put('k', 'b');
    expect(() => d.setLibraries(['a'])).toThrow("cannot remove libraries that still own keys: 'b' (1 keys)");
    expect(d.libraries()).toEqual(['a', 'b']);
    expect(d.put('k2', 'b')).toBe(true);
  });

  it('rejects duplicate or empty library names', () => {
    expect(() => new Directory(['a', 'a'])).toThrow(/listed twice/);
    expect(() => new Directory([''])).toThrow(/empty library name/);
  });

  it('binds correl objects to known keys, per class', () => {
    const d = new Directory(['a']);
    d.put('k', 'a');
    expect(d.bindCorrel('card', '6222', 'k')).toBe(true);
    expect(d.bindCorrel('phone', '6222', 'k')).toBe(true);
    expect(d.bindCorrel('card', '6222', 'k')).toBe(false);
    expect(d.keyOfCorrel('card', '6222')).toBe('k');
    expect(d.keyOfCorrel('card', 'other')).toBeUndefined();
    expect(d.keyOfCorrel('nope', '6222')).toBeUndefined();
    expect(d.correlClasses()).toEqual(['card', 'phone']);
    expect(d.correlCount()).toBe(2);
    expect(d.correlCount('card')).toBe(1);
  });

  it('refuses a correl object for an unknown key or one already bound to another key', () => {
    const d = new Directory(['a']);
    d.put('k1', 'a');
    d.put('k2', 'a');
    expect(() => d.bindCorrel('card', 'o', 'ghost')).toThrow(/key 'ghost' has no library/);
    expect(d.correlClasses()).toEqual([]); // nothing half-created (mysqlda left empty nodes behind)
    d.bindCorrel('card', 'o', 'k1');
    expect(() => d.bindCorrel('card', 'o', 'k2')).toThrow(/bound to key 'k1'/);
    expect(d.keyOfCorrel('card', 'o')).toBe('k1');
  });

  it('rolls a correl binding back with unbindCorrel', () => {
    const d = new Directory(['a']);
    d.put('k', 'a');
    d.bindCorrel('card', 'o', 'k');
    d.unbindCorrel('card', 'o');
    d.unbindCorrel('card', 'o');
    expect(d.keyOfCorrel('card', 'o')).toBeUndefined();
    expect(d.correlCount()).toBe(0);
    expect(d.correlClasses()).toEqual([]);
  });
});

describe('Directory, loading from save-file bytes', () => {
  const line = Buffer.from('2026-01-01 00:00:00 13812345678 mysqlda1\n');

  it('puts a key from bytes, then says it is repeated, or bound elsewhere', () => {
    const d = new Directory(['mysqlda1', 'mysqlda2']);
    const one = d.libraryId('mysqlda1');
    const two = d.libraryId('mysqlda2');
    expect(d.putBytes(line, 20, 31, one)).toBe('added');
    expect(d.libraryOf('13812345678')).toBe('mysqlda1');
    expect(d.putBytes(line, 20, 31, one)).toBe('repeated');
    expect(d.putBytes(line, 20, 31, two)).toEqual({ boundTo: 'mysqlda1' });
    expect(d.perLibrary()).toEqual({ mysqlda1: 1, mysqlda2: 0 });
  });

  it('gives -1 for a library that is not configured', () => {
    const d = new Directory(['a']);
    expect(d.libraryId('b')).toBe(-1);
    d.setLibraries(['b']);
    expect(d.libraryId('a')).toBe(-1);
    expect(d.libraryId('b')).toBeGreaterThanOrEqual(0);
  });

  it('binds aliases from bytes to keys it knows, and reports unknown keys and conflicts', () => {
    const d = new Directory(['a']);
    d.put('k1', 'a');
    d.put('k2', 'a');
    const record = Buffer.from('acct-9 k1 k2 nokey');
    expect(d.bindCorrelBytes('account', record, 0, 6, 7, 9)).toBe('added');
    expect(d.keyOfCorrel('account', 'acct-9')).toBe('k1');
    expect(d.bindCorrelBytes('account', record, 0, 6, 7, 9)).toBe('repeated');
    expect(d.bindCorrelBytes('account', record, 0, 6, 10, 12)).toEqual({ boundTo: 'k1' });
    expect(d.bindCorrelBytes('account', record, 0, 6, 13, 18)).toBe('unknown-key');
    expect(d.correlCount('account')).toBe(1);
  });

  it('keeps a library id across reloads that drop and re-add the library', () => {
    const d = new Directory(['a', 'b']);
    d.put('k', 'a');
    const b = d.libraryId('b');
    d.setLibraries(['a']);
    d.setLibraries(['a', 'b']);
    expect(d.libraryId('b')).toBe(b);
    expect(d.libraryOf('k')).toBe('a');
  });

  it('rebinds a known key to another configured library (a key move read from the shared directory)', () => {
    const d = new Directory(['a', 'b']);
    d.put('k', 'a');
    expect(d.rebind('k', 'b')).toBe(true);
    expect(d.libraryOf('k')).toBe('b');
    expect(d.perLibrary()).toEqual({ a: 0, b: 1 });
    expect(d.rebind('k', 'b')).toBe(true);
    expect(d.rebind('unknown', 'a')).toBe(false);
    expect(d.rebind('k', 'zzz')).toBe(false);
    expect(d.libraryOf('k')).toBe('b');
  });
});
