import { describe, expect, it } from 'vitest';
import { DroppedAnswerError, DroppedAnswers } from '../../src/protocol/dropped-answers.js';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { ResponseTracker } from '../../src/protocol/response-tracker.js';
import { captured, packetEnds } from './fixtures/captured.js';
import { splits, StreamBuilder } from './fixtures.js';

/** Feeds the chunks in turn; returns what would reach the reader after the dropped answers. */
function drop(expected: number, chunks: Buffer[]) {
  const answers = new DroppedAnswers();
  answers.expect(expected);
  const passed: Buffer[] = [];
  let dropping = true;
  for (const chunk of chunks) {
    if (!dropping) {
      passed.push(chunk);
      continue;
    }
    const after = answers.take(chunk);
    if (after === null) continue;
    dropping = false;
    passed.push(after.rest);
  }
  return { answers, dropping, passed: Buffer.concat(passed) };
}

describe('DroppedAnswers', () => {
  // The reset's OK, then the client's own answer (a result set), as MariaDB sends them after a pipelined write.
  const resetOk = new StreamBuilder().ok(0x0002).build();
  const clientAnswer = new StreamBuilder().resultSet(1, 2, { deprecateEof: false }).build();
  const stream = Buffer.concat([resetOk, clientAnswer]);

  it('drops the awaited OK and passes on exactly the bytes after it, however the stream is cut', () => {
    for (const chunks of splits(stream)) {
      const { answers, dropping, passed } = drop(1, chunks);
      expect(dropping).toBe(false);
      expect(answers.pending).toBe(false);
      expect(passed.equals(clientAnswer)).toBe(true);
    }
  });

  it('drops two answers (the reset and the sql_mode restore) and keeps the status flags of the last', () => {
    const two = Buffer.concat([resetOk, new StreamBuilder().ok(0x4002).build(), clientAnswer]);
    for (const chunks of splits(two)) {
      const { answers, passed } = drop(2, chunks);
      expect(passed.equals(clientAnswer)).toBe(true);
      expect(answers.statusFlags).toBe(0x4002);
    }
  });

  it('hands back a view of the chunk when no answer straddled two chunks', () => {
    const answers = new DroppedAnswers();
    answers.expect(1);
    const after = answers.take(stream)!;
    expect(after.fromChunk).toBe(true);
    expect(after.rest.buffer).toBe(stream.buffer);
  });

  it('says so when the chunk was all answer: nothing follows yet', () => {
    const answers = new DroppedAnswers();
    answers.expect(1);
    const after = answers.take(resetOk)!;
    expect(after.rest.length).toBe(0);
    expect(answers.pending).toBe(false);
  });

  it('throws on an ERR where an OK was awaited, with the server message', () => {
    const answers = new DroppedAnswers();
    answers.expect(1);
    expect(() => answers.take(new StreamBuilder().err().build())).toThrow(/error 1064: syntax/);
  });

  it('throws on a packet that cannot be an OK (a result set, an oversized packet)', () => {
    const answers = new DroppedAnswers();
    answers.expect(1);
    expect(() => answers.take(clientAnswer)).toThrow(DroppedAnswerError);
    const huge = Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]);
    const other = new DroppedAnswers();
    other.expect(1);
    expect(() => other.take(huge)).toThrow(/OK was awaited/);
  });
});

/** The same, on streams captured from MariaDB (fixtures/mariadb-captures.ts). */
describe('DroppedAnswers on streams captured from MariaDB', () => {
  for (const deprecateEof of [false, true]) {
    describe(`DEPRECATE_EOF ${deprecateEof}`, () => {
      it("drops COM_RESET_CONNECTION's OK and passes on exactly the query's result set, however the stream is cut", () => {
        const [{ received }] = captured('reset-then-query', deprecateEof);
        const queryAnswer = received.subarray(packetEnds(received)[0]);
        for (const chunks of splits(received)) {
          const { answers, dropping, passed } = drop(1, chunks);
          expect(dropping).toBe(false);
          expect(answers.statusFlags).toBe(ServerStatus.AUTOCOMMIT);
          expect(passed.equals(queryAnswer)).toBe(true);
        }
      });

      it('leaves a stream the response tracker follows to the end of the result set', () => {
        const [{ received }] = captured('reset-then-query', deprecateEof);
        const ends: boolean[] = [];
        const tracker = new ResponseTracker(deprecateEof, (_tag, ok) => ends.push(ok));
        tracker.commandSent(Command.QUERY);
        tracker.scan(drop(1, [received]).passed);
        expect(ends).toEqual([true]);
        expect(tracker.idle).toBe(true);
        expect(tracker.unsolicitedPackets).toBe(0);
      });

      it("throws on COM_INIT_DB's ERR 1049 (unknown database), however the stream is cut", () => {
        const [{ received }] = captured('failed-init-db-then-query', deprecateEof);
        for (const chunks of splits(received)) expect(() => drop(1, chunks)).toThrow(/^error 1049: Unknown database 'no_such_db'$/);
      });

      it('throws on a result set where an OK was awaited', () => {
        const [{ received }] = captured('text-result', deprecateEof);
        expect(() => drop(1, [received])).toThrow(new DroppedAnswerError('a packet of type 0x2 where an OK was awaited'));
      });
    });
  }
});
