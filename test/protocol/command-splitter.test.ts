import { describe, expect, it } from 'vitest';
import { CommandSplitter, Verdict } from '../../src/protocol/command-splitter.js';
import { encodePacket } from '../../src/protocol/packet.js';

const query = (sql: string) => encodePacket(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]), 0);
const interceptSelectLibrary = (buf: Buffer, start: number, headLength: number) =>
  buf.toString('utf8', start + 1, start + headLength).startsWith('select library') ? Verdict.INTERCEPT : Verdict.FORWARD;

function run(chunks: Buffer[]) {
  const splitter = new CommandSplitter(interceptSelectLibrary);
  const forwarded: Buffer[] = [];
  const intercepted: string[] = [];
  let backlog: Buffer | null = null;
  for (const chunk of chunks) {
    backlog = backlog ? Buffer.concat([backlog, chunk]) : chunk;
    for (;;) {
      const step = splitter.split(backlog);
      forwarded.push(backlog.subarray(0, step.forwardBytes));
      if (step.command) intercepted.push(step.command.payload.toString('utf8', 1));
      backlog = backlog.subarray(step.consumed);
      if (!step.command) break;
    }
  }
  return { forwarded: Buffer.concat(forwarded), intercepted, rest: backlog };
}

describe('CommandSplitter', () => {
  const stream = Buffer.concat([query('select 1'), query('select library 42'), query('insert into t values (1)')]);

  it('forwards ordinary commands untouched and stops at an intercepted one, at every chunk boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { forwarded, intercepted, rest } = run([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(intercepted).toEqual(['select library 42']);
      expect(forwarded.equals(Buffer.concat([query('select 1'), query('insert into t values (1)')]))).toBe(true);
      expect(rest?.length ?? 0).toBe(0);
    }
  });

  it('passes continuation frames of a 16 MB packet through without classifying them', () => {
    const payload = Buffer.alloc(0xffffff + 5, 0x20);
    payload[0] = 0x03;
    const big = encodePacket(payload, 0);
    // The continuation frame's first bytes spell an extension statement: they must not be read as a command.
    Buffer.from('\x03select library 1').copy(big, 4 + 0xffffff + 4);
    const { forwarded, intercepted } = run([big]);
    expect(intercepted).toEqual([]);
    expect(forwarded.length).toBe(big.length);
  });

  it('waits for a whole header before deciding', () => {
    const splitter = new CommandSplitter(() => Verdict.FORWARD);
    expect(splitter.split(Buffer.from([5, 0, 0])).consumed).toBe(0);
  });
});

describe('CommandSplitter discarding a packet', () => {
  const discardBig = (buf: Buffer, start: number, headLength: number, payloadLength: number) => (payloadLength > 100 ? Verdict.DISCARD : Verdict.FORWARD);

  function runDiscarding(chunks: Buffer[]) {
    const splitter = new CommandSplitter(discardBig);
    const forwarded: Buffer[] = [];
    const discarded: number[] = [];
    let backlog: Buffer | null = null;
    for (const chunk of chunks) {
      backlog = backlog && backlog.length ? Buffer.concat([backlog, chunk]) : chunk;
      for (;;) {
        const step = splitter.split(backlog);
        forwarded.push(backlog.subarray(0, step.forwardBytes));
        if (step.discarded >= 0) discarded.push(step.discarded);
        backlog = backlog.subarray(step.consumed);
        if (!(step.discarded >= 0 || splitter.discarding) || backlog.length === 0) break;
      }
    }
    return { forwarded: Buffer.concat(forwarded), discarded };
  }

  it('forwards what surrounds a discarded packet and reports the packet once its last byte is read, at every cut', () => {
    const big = encodePacket(Buffer.alloc(300, 0x41), 7);
    const stream = Buffer.concat([query('select 1'), big, query('select 2')]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const { forwarded, discarded } = runDiscarding([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(discarded).toEqual([7]);
      expect(forwarded.equals(Buffer.concat([query('select 1'), query('select 2')]))).toBe(true);
    }
  });

  it('passes over the continuation frames of a 16 MB packet', () => {
    const payload = Buffer.alloc(0xffffff + 10, 0x20);
    const stream = Buffer.concat([encodePacket(payload, 3), query('select 3')]);
    const { forwarded, discarded } = runDiscarding([stream.subarray(0, 1_000_000), stream.subarray(1_000_000)]);
    expect(discarded).toEqual([3]);
    expect(forwarded.equals(query('select 3'))).toBe(true);
  });
});
