import { describe, expect, it } from 'vitest';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { encodeOk } from '../../src/protocol/generic-packets.js';
import { ResponseTracker } from '../../src/protocol/response-tracker.js';
import { splits, StreamBuilder } from './fixtures.js';

function track(deprecateEof: boolean, commands: number[], stream: Buffer, chunks: Buffer[] = [stream]) {
  const ends: [number, boolean][] = [];
  const tracker = new ResponseTracker(deprecateEof, (tag, ok) => ends.push([tag, ok]));
  commands.forEach((command, i) => tracker.commandSent(command, i + 1));
  for (const chunk of chunks) tracker.scan(chunk);
  return { tracker, ends };
}

describe('ResponseTracker', () => {
  it('ends a query on its OK packet and reports the status flags', () => {
    const stream = new StreamBuilder().ok(ServerStatus.IN_TRANS | ServerStatus.AUTOCOMMIT).build();
    for (const chunks of splits(stream)) {
      const { tracker, ends } = track(false, [Command.QUERY], stream, chunks);
      expect(ends).toEqual([[1, true]]);
      expect(tracker.idle).toBe(true);
      expect(tracker.inTransaction).toBe(true);
    }
  });

  it('ends a query on ERR with failure', () => {
    const { tracker, ends } = track(false, [Command.QUERY], new StreamBuilder().err().build());
    expect(ends).toEqual([[1, false]]);
    expect(tracker.idle).toBe(true);
  });

  for (const deprecateEof of [false, true]) {
    it(`follows a text result set to its end (DEPRECATE_EOF ${deprecateEof}), whatever the chunking`, () => {
      const stream = new StreamBuilder().resultSet(3, 5, { deprecateEof }).build();
      for (const chunks of splits(stream)) {
        const { tracker, ends } = track(deprecateEof, [Command.QUERY], stream, chunks);
        expect(ends).toEqual([[1, true]]);
        expect(tracker.idle).toBe(true);
      }
    });

    it(`is not idle before the last byte of a result set arrives (DEPRECATE_EOF ${deprecateEof})`, () => {
      const stream = new StreamBuilder().resultSet(2, 3, { deprecateEof }).build();
      const { tracker } = track(deprecateEof, [Command.QUERY], stream, [stream.subarray(0, stream.length - 1)]);
      expect(tracker.idle).toBe(false);
      tracker.scan(stream.subarray(stream.length - 1));
      expect(tracker.idle).toBe(true);
    });

    it(`follows multiple result sets chained with MORE_RESULTS_EXISTS (DEPRECATE_EOF ${deprecateEof})`, () => {
      const more = ServerStatus.AUTOCOMMIT | ServerStatus.MORE_RESULTS_EXISTS;
      const stream = new StreamBuilder()
        .resultSet(1, 2, { deprecateEof, status: more })
        .packet(encodeOk(more))
        .resultSet(2, 1, { deprecateEof })
        .build();
      for (const chunks of splits(stream)) {
        const { tracker, ends } = track(deprecateEof, [Command.QUERY], stream, chunks);
        expect(ends).toEqual([[1, true]]);
        expect(tracker.idle).toBe(true);
      }
    });
  }

  it('keeps pipelined responses apart and in order', () => {
    const stream = new StreamBuilder().ok().newCommand().resultSet(1, 1, { deprecateEof: false }).newCommand().err().build();
    const { tracker, ends } = track(false, [Command.QUERY, Command.QUERY, Command.QUERY], stream);
    expect(ends).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(tracker.idle).toBe(true);
  });

  it('follows a prepare response with parameter and column definitions', () => {
    const prepareOk = Buffer.from([0x00, 1, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0]); // stmt 1, 2 columns, 1 param
    const { encodeColumnDefinition } = require_result_set();
    const stream = new StreamBuilder()
      .packet(prepareOk)
      .packet(encodeColumnDefinition({ name: '?' }))
      .eof()
      .packet(encodeColumnDefinition({ name: 'a' }))
      .packet(encodeColumnDefinition({ name: 'b' }))
      .eof()
      .build();
    for (const chunks of splits(stream)) {
      const { tracker, ends } = track(false, [Command.STMT_PREPARE], stream, chunks);
      expect(ends).toEqual([[1, true]]);
      expect(tracker.idle).toBe(true);
    }
  });

  it('expects no response to COM_STMT_CLOSE and COM_QUIT', () => {
    const { tracker, ends } = track(false, [Command.STMT_CLOSE, Command.QUIT], Buffer.alloc(0));
    expect(ends).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(tracker.idle).toBe(true);
  });

  it('hands the stream to the client during LOAD DATA LOCAL INFILE until its empty packet', () => {
    const request = new StreamBuilder().packet(Buffer.from([0xfb, ...Buffer.from('/tmp/x.csv')])).build();
    const { tracker, ends } = track(false, [Command.QUERY], request);
    expect(tracker.expectingClientData).toBe(true);
    expect(ends).toEqual([]);
    tracker.clientDataEnded();
    tracker.scan(new StreamBuilder().ok().build());
    expect(ends).toEqual([[1, true]]);
    expect(tracker.idle).toBe(true);
  });

  it('skips over a row of 16 MB and more (continuation frames are not new packets)', () => {
    const big = Buffer.alloc(0xffffff + 10, 0x61);
    big[0] = 0xfc; // looks like a length prefix, would confuse a naive reader
    const stream = new StreamBuilder()
      .packet(Buffer.from([1]))
      .packet(require_result_set().encodeColumnDefinition({ name: 'blob' }))
      .eof()
      .packet(big)
      .eof()
      .build();
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 65536) chunks.push(stream.subarray(i, i + 65536));
    const { tracker, ends } = track(false, [Command.QUERY], stream, chunks);
    expect(ends).toEqual([[1, true]]);
    expect(tracker.idle).toBe(true);
  });

  it('ends a binlog dump the server refuses on its ERR, so the next command is answered', () => {
    for (const command of [Command.BINLOG_DUMP, Command.BINLOG_DUMP_GTID]) {
      const stream = new StreamBuilder().err().newCommand().ok().build();
      const { tracker, ends } = track(false, [command, Command.PING], stream);
      expect(ends).toEqual([
        [1, false],
        [2, true],
      ]);
      expect(tracker.idle).toBe(true);
    }
  });

  it('follows binlog events until the ERR or EOF that stops the dump, and no further', () => {
    const event = (length: number) => Buffer.concat([Buffer.from([0x00]), Buffer.alloc(length, 0xfe)]);
    const running = new StreamBuilder().packet(event(30)).packet(event(8)).build();
    const { tracker, ends } = track(false, [Command.BINLOG_DUMP], running);
    expect(ends).toEqual([]);
    expect(tracker.idle).toBe(false);
    for (const end of [new StreamBuilder().eof(), new StreamBuilder().err()]) {
      const stream = Buffer.concat([running, end.build()]);
      for (const chunks of splits(stream)) {
        const { tracker, ends } = track(false, [Command.BINLOG_DUMP], stream, chunks);
        expect(ends.length).toBe(1);
        expect(tracker.idle).toBe(true);
      }
    }
  });

  it('counts a packet nobody asked for as unsolicited', () => {
    const tracker = new ResponseTracker(false);
    tracker.scan(new StreamBuilder().err().build());
    expect(tracker.unsolicitedPackets).toBe(1);
    expect(tracker.idle).toBe(true);
  });
});

import * as resultSet from '../../src/protocol/result-set.js';
function require_result_set() {
  return resultSet;
}
