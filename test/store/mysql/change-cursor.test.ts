import { describe, expect, it } from 'vitest';
import { ChangeCursor } from '../../../src/store/mysql/change-cursor.js';

describe('ChangeCursor', () => {
  it('moves to the highest number read and asks again for the numbers skipped below it', () => {
    const cursor = new ChangeCursor(10);
    cursor.advance([11, 14], 1_000);
    expect(cursor.lastSeq).toBe(14);
    expect(cursor.gapsToRead(1_000)).toEqual([12, 13]);
    cursor.advance([13, 15], 2_000); // 13 committed late
    expect(cursor.lastSeq).toBe(15);
    expect(cursor.gapsToRead(2_000)).toEqual([12]);
  });

  it('stays where it is when a poll reads nothing', () => {
    const cursor = new ChangeCursor(7);
    cursor.advance([], 0);
    expect(cursor.lastSeq).toBe(7);
    expect(cursor.gapsToRead(0)).toEqual([]);
  });

  it('gives up a gap once it is old enough never to be used (a rolled-back insert, auto_increment_increment)', () => {
    const cursor = new ChangeCursor(0, 60_000);
    cursor.advance([3], 0);
    expect(cursor.gapsToRead(59_000)).toEqual([1, 2]);
    expect(cursor.gapsToRead(61_000)).toEqual([]);
  });

  it('keeps at most maxGaps, the newest', () => {
    const cursor = new ChangeCursor(0, 60_000, 3);
    cursor.advance([100], 0);
    expect(cursor.gapsToRead(0)).toEqual([97, 98, 99]);
  });
});
