import { describe, expect, it } from 'vitest';
import { ADMIN_COMMANDS, generateCase, PLACES, placeOf } from './cases.js';
import { mutate } from './mutate.js';
import { Prng } from './prng.js';
import { frame } from './wire.js';

const options = { adminCommands: false };

describe('fuzz case generators', () => {
  it('make the same case from the same seed and index, whatever was generated before', () => {
    const first = generateCase(42, 1234, options);
    for (let i = 0; i < 50; i++) generateCase(42, i, options);
    expect(generateCase(42, 1234, options)).toEqual(first);
    expect(generateCase(43, 1234, options)).not.toEqual(first);
  });

  it('cover the four places in fixed shares and every stage over TLS', () => {
    const cases = Array.from({ length: 2000 }, (_, i) => generateCase(7, i, options));
    const count = (test: (c: (typeof cases)[number]) => boolean) => cases.filter(test).length;
    for (const place of PLACES) expect(count((c) => c.place === place)).toBeGreaterThan(200);
    for (const stage of ['pre-login', 'lobby', 'routed'] as const) expect(count((c) => c.place === 'tls' && c.stage === stage)).toBeGreaterThan(50);
    expect(cases.every((c) => c.place === placeOf(c.index))).toBe(true);
  });

  it('keep admin command codes out of routed sessions unless asked to let them in', () => {
    // The first byte of each whole packet a routed case writes is a command code.
    const routedCodes = (adminCommands: boolean) => {
      const codes = new Set<number>();
      for (let i = 0; i < 4000; i++) {
        const c = generateCase(9, i, { adminCommands });
        if (c.stage !== 'routed' || c.kind.startsWith('split') || c.kind === 'commands-half-sent') continue;
        const stream = Buffer.concat(c.chunks);
        let continued = false;
        for (let p = 0; p + 4 < stream.length; p += 4 + stream.readUIntLE(p, 3)) {
          const length = stream.readUIntLE(p, 3);
          const continuation = continued;
          continued = length === 0xffffff;
          if (length === 0 || continuation) continue;
          codes.add(stream[p + 4]);
          if (stream[p + 4] === 0x01) break; // nothing after COM_QUIT is read
        }
      }
      return codes;
    };
    expect([...routedCodes(false)].filter((code) => ADMIN_COMMANDS.has(code) || code > 0x1f)).toEqual([]);
    expect([...routedCodes(true)].some((code) => ADMIN_COMMANDS.has(code))).toBe(true);
  });

  it('end an answering case with the query whose answer carries its marker', () => {
    for (let i = 0; i < 500; i++) {
      const c = generateCase(3, i, options);
      if (c.ending !== 'answer' || c.stage === 'pre-login') continue;
      expect(Buffer.concat(c.chunks).subarray(-c.marker.length - 1).toString('latin1')).toBe(`${c.marker}'`);
    }
  });
});

describe('fuzz building blocks', () => {
  it('Prng is a fixed sequence per seed', () => {
    const a = new Prng(1);
    const b = new Prng(1);
    const draws = Array.from({ length: 5 }, () => a.u32());
    expect(Array.from({ length: 5 }, () => b.u32())).toEqual(draws);
    expect(new Set(draws).size).toBe(5);
  });

  it('frame splits a payload of 16 MiB - 1 bytes or more into continuation frames', () => {
    expect(frame(Buffer.from([3, 1]), 5)).toEqual(Buffer.from([2, 0, 0, 5, 3, 1]));
    const framed = frame(Buffer.alloc(0xffffff), 0);
    expect(framed.length).toBe(4 + 0xffffff + 4);
    expect([...framed.subarray(0, 4)]).toEqual([0xff, 0xff, 0xff, 0]);
    expect([...framed.subarray(-4)]).toEqual([0, 0, 0, 1]);
  });

  it('mutate leaves its input alone', () => {
    const input = Buffer.from('select library k');
    const copy = Buffer.from(input);
    mutate(new Prng(5), input, 10);
    expect(input).toEqual(copy);
  });
});
