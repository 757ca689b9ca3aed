/**
 * The response tracker against byte streams of a real MariaDB server (fixtures/mariadb-captures.ts), so that a
 * misreading of the protocol shared by src's encoders and the tracker cannot pass. Each capture is replayed
 * through one tracker, as on one backend connection: whole, packet by packet, byte by byte, and cut in two at
 * every byte of every turn.
 */
import { describe, expect, it } from 'vitest';
import { ServerStatus } from '../../src/protocol/constants.js';
import { ResponseTracker } from '../../src/protocol/response-tracker.js';
import { captured, packetEnds, payloads, type Turn } from './fixtures/captured.js';
import { captures } from './fixtures/mariadb-captures.js';

const { AUTOCOMMIT: AC, IN_TRANS: IT, MORE_RESULTS_EXISTS: MORE, CURSOR_EXISTS: CURSOR, LAST_ROW_SENT: LAST_ROW } = ServerStatus;
/** The flags the session acts on; the others (e.g. NO_INDEX_USED, 0x20) vary with the statement. */
const WATCHED = AC | IT | MORE | CURSOR | LAST_ROW;

interface TurnSpec {
  /** The outcome of each response that ends in this turn (true: OK or a complete result). */
  ends: boolean[];
  /** The watched status flags the tracker reports, packet by packet, each change once; starts with the flags before. */
  flags: number[];
  /** After how many of the turn's packets each response ends; by default the last one ends with the turn. */
  endsAfterPackets?: number[];
  /** The turn ends with the server asking for a LOCAL INFILE: the next turn is the client's file. */
  asksForFile?: true;
}

/** What each captured exchange means, read off the hex by hand (see the descriptions in mariadb-captures.ts). */
const specs: Record<string, TurnSpec[]> = {
  'text-result': [{ ends: [true], flags: [AC] }],
  'empty-result': [{ ends: [true], flags: [AC] }],
  transaction: [
    { ends: [true], flags: [AC, AC | IT] },
    { ends: [true], flags: [AC | IT] },
    { ends: [true], flags: [AC | IT, AC] },
  ],
  // SELECT 1; BEGIN; SELECT 2, 3; COMMIT: MORE_RESULTS until the last OK, IN_TRANS from BEGIN's OK to it.
  'multi-statement': [{ ends: [true], flags: [AC, AC | MORE, AC | MORE | IT, AC] }],
  'procedure': [{ ends: [true], flags: [AC, AC | MORE, AC] }],
  'binary-result': [
    { ends: [true], flags: [AC] },
    { ends: [true], flags: [AC] },
  ],
  'binary-procedure': [
    { ends: [true], flags: [AC] },
    { ends: [true], flags: [AC, AC | MORE, AC] },
  ],
  // Execute with a cursor answers with the metadata only; each fetch ends on an EOF, the last with LAST_ROW_SENT.
  cursor: [
    { ends: [true], flags: [AC] },
    { ends: [true], flags: [AC, AC | CURSOR] },
    { ends: [true], flags: [AC | CURSOR] },
    { ends: [true], flags: [AC | CURSOR, AC | LAST_ROW] },
  ],
  'local-infile': [
    { ends: [], flags: [AC], asksForFile: true },
    { ends: [true], flags: [AC] },
  ],
  error: [{ ends: [false], flags: [AC] }],
  'overflow-mid-result': [{ ends: [false], flags: [AC] }],
  'killed-mid-result': [{ ends: [false], flags: [AC] }],
  'prepare-error': [{ ends: [false], flags: [AC] }],
  'field-list': [{ ends: [true], flags: [AC] }],
  ping: [{ ends: [true], flags: [AC] }],
  // A packet of text ("Uptime: ..."): the whole answer, and a success.
  statistics: [{ ends: [true], flags: [AC] }],
  'reset-then-query': [{ ends: [true, true], flags: [AC], endsAfterPackets: [1] }],
  'failed-init-db-then-query': [{ ends: [false, true], flags: [AC], endsAfterPackets: [1] }],
};

interface TurnResult {
  ends: boolean[];
  /** How many of the turn's received bytes had been scanned when each response ended (up to the chunk ending it). */
  endOffsets: number[];
  flags: number[];
  /** Whether the tracker was idle after each chunk but the last. */
  idleBeforeEnd: boolean[];
  idleAfter: boolean;
  expectingClientData: boolean;
}

/** Replays a capture through one tracker; `chunk` cuts each turn's received bytes (`turn` is its index). */
function replay(turns: Turn[], deprecateEof: boolean, chunk: (received: Buffer, turn: number) => Buffer[]): TurnResult[] {
  let current: TurnResult | null = null;
  let scanned = 0;
  const tracker = new ResponseTracker(deprecateEof, (_tag, ok) => {
    current!.ends.push(ok);
    current!.endOffsets.push(scanned);
  });
  return turns.map((turn, index) => {
    const result: TurnResult = (current = { ends: [], endOffsets: [], flags: [tracker.statusFlags & WATCHED], idleBeforeEnd: [], idleAfter: false, expectingClientData: false });
    if (tracker.expectingClientData) {
      // The client's file: the session tells the tracker when it sees the empty packet that ends it.
      expect(payloads(turn.sent).at(-1)!.length).toBe(0);
      tracker.clientDataEnded();
    } else {
      for (const payload of payloads(turn.sent)) tracker.commandSent(payload[0], 1);
    }
    scanned = 0;
    const chunks = chunk(turn.received, index);
    chunks.forEach((piece, i) => {
      scanned += piece.length;
      tracker.scan(piece);
      const flags = tracker.statusFlags & WATCHED;
      if (flags !== result.flags.at(-1)) result.flags.push(flags);
      if (i < chunks.length - 1) result.idleBeforeEnd.push(tracker.idle);
    });
    result.idleAfter = tracker.idle;
    result.expectingClientData = tracker.expectingClientData;
    return result;
  });
}

/** The packet (counted from 1) of a turn's answer in which each response ended. */
function packetsOfEnds(result: TurnResult, turn: Turn): number[] {
  const ends = packetEnds(turn.received);
  return result.endOffsets.map((offset) => ends.findIndex((end) => offset <= end) + 1);
}

const whole = (received: Buffer) => [received];
const byPacket = (received: Buffer) => {
  let start = 0;
  return packetEnds(received).map((end) => received.subarray(start, (start = end)));
};
const byByte = (received: Buffer) => [...received].map((b) => Buffer.from([b]));

describe('ResponseTracker on streams captured from MariaDB', () => {
  it('has a spec for every capture, with and without DEPRECATE_EOF', () => {
    expect(captures.map((c) => `${c.name} ${c.deprecateEof}`).sort()).toEqual(
      Object.keys(specs)
        .flatMap((name) => [`${name} false`, `${name} true`])
        .sort(),
    );
  });

  for (const [name, spec] of Object.entries(specs)) {
    for (const deprecateEof of [false, true]) {
      describe(`${name} (DEPRECATE_EOF ${deprecateEof})`, () => {
        const turns = captured(name, deprecateEof);

        it('has one spec per captured turn', () => expect(turns.length).toBe(spec.length));

        it('ends each response with the right outcome and reports the status flags packet by packet', () => {
          const results = replay(turns, deprecateEof, byPacket);
          results.forEach((result, i) => {
            expect({ turn: i, ends: result.ends, flags: result.flags }).toEqual({ turn: i, ends: spec[i].ends, flags: spec[i].flags });
            expect(result.expectingClientData).toBe(spec[i].asksForFile === true);
            expect(result.idleAfter).toBe(spec[i].asksForFile !== true);
          });
        });

        // The tracker reads only the first bytes of a packet, but tells a response's end once the last byte of its
        // last packet has passed: whoever takes the connection then starts at a packet boundary.
        it('ends each response at the last byte of its last packet, and is idle at the last byte and never before', () => {
          const results = replay(turns, deprecateEof, byByte);
          results.forEach((result, i) => {
            const ends = packetEnds(turns[i].received);
            const lastPackets = [...(spec[i].endsAfterPackets ?? []), ...(spec[i].asksForFile ? [] : [ends.length])];
            const where = packetsOfEnds(result, turns[i]);
            expect({ turn: i, endsInPackets: where }).toEqual({ turn: i, endsInPackets: lastPackets });
            expect(result.endOffsets.every((offset) => ends.includes(offset))).toBe(true);
            expect(result.idleBeforeEnd.every((idle) => !idle)).toBe(true);
          });
        });

        it('reads the same whole or cut in two at any byte of any turn', () => {
          // Where each end falls is the byte-by-byte test's; here, what the tracker concludes.
          const summary = (results: TurnResult[]) => results.map((r) => [r.ends, r.flags.at(-1), r.idleAfter, r.expectingClientData]);
          const reference = summary(replay(turns, deprecateEof, whole));
          turns.forEach((turn, cutTurn) => {
            for (let cut = 1; cut < turn.received.length; cut++) {
              const results = replay(turns, deprecateEof, (received, i) => (i === cutTurn ? [received.subarray(0, cut), received.subarray(cut)] : [received]));
              expect(summary(results), `turn ${cutTurn} cut at ${cut}`).toEqual(reference);
            }
          });
        });
      });
    }
  }
});
