import { describe, expect, it } from 'vitest';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { encodeOk } from '../../src/protocol/generic-packets.js';
import { ResponseTracker } from '../../src/protocol/response-tracker.js';
import { splits, StreamBuilder } from './fixtures.js';

describe('ResponseTracker: the session\'s last insert id', () => {
  it.each([
    [1, 7, 7],
    [300, 70_000, 70_000],
    [1, 2 ** 40, 2 ** 40],
  ])('keeps the insert id of an OK packet (%i rows, id %i), whatever the chunking', (rows, id, expected) => {
    const stream = new StreamBuilder().packet(encodeOk(ServerStatus.AUTOCOMMIT, rows, id)).build();
    for (const chunks of splits(stream)) {
      const tracker = new ResponseTracker(false);
      tracker.commandSent(Command.QUERY);
      for (const chunk of chunks) tracker.scan(chunk);
      expect(tracker.lastInsertId).toBe(expected);
    }
  });

  it('keeps the last non-zero id across statements that generate none', () => {
    const stream = new StreamBuilder().packet(encodeOk(ServerStatus.AUTOCOMMIT, 1, 42)).packet(encodeOk(ServerStatus.AUTOCOMMIT, 3, 0)).build();
    const tracker = new ResponseTracker(false);
    tracker.commandSent(Command.QUERY);
    tracker.commandSent(Command.QUERY);
    tracker.scan(stream);
    expect(tracker.lastInsertId).toBe(42);
  });
});
