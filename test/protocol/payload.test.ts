import { describe, expect, it } from 'vitest';
import { PayloadReader, PayloadWriter, ProtocolError } from '../../src/protocol/payload.js';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
const reader = (s: string) => new PayloadReader(hex(s));

/** Length-encoded integers at each size boundary, with their bytes as the protocol defines them. */
const lenencCases: [number, string][] = [
  [0, '00'],
  [250, 'fa'],
  [251, 'fc fb00'],
  [0xffff, 'fc ffff'],
  [0x1_0000, 'fd 000001'],
  [0xff_ffff, 'fd ffffff'],
  [0x100_0000, 'fe 00000001 00000000'],
  [0xffff_ffff, 'fe ffffffff 00000000'],
  [0x1_0000_0000, 'fe 00000000 01000000'],
  [Number.MAX_SAFE_INTEGER, 'fe ffffffff ffff1f00'],
];

describe('PayloadReader', () => {
  it('reads fixed-size little-endian integers', () => {
    const r = reader('01 0201 050403 09080706');
    expect([r.u8(), r.u16(), r.u24(), r.u32()]).toEqual([0x01, 0x0102, 0x030405, 0x06070809]);
    expect(r.remaining).toBe(0);
  });

  it('reads a u32 above 2^31 as a positive number', () => {
    expect(reader('ffffffff').u32()).toBe(0xffff_ffff);
  });

  for (const [value, bytes] of lenencCases) {
    it(`reads the length-encoded integer ${value} from ${bytes}`, () => {
      const r = reader(bytes);
      expect(r.lenencInt()).toBe(value);
      expect(r.remaining).toBe(0);
    });
  }

  it('reads the largest 8-byte length-encoded integer as the nearest double (2^64)', () => {
    expect(reader('fe ffffffff ffffffff').lenencInt()).toBe(2 ** 64);
  });

  it('refuses 0xFB (NULL) and 0xFF (ERR) as length-encoded integer prefixes', () => {
    expect(() => reader('fb').lenencInt()).toThrow(new ProtocolError('invalid length-encoded integer prefix 0xfb'));
    expect(() => reader('ff').lenencInt()).toThrow(new ProtocolError('invalid length-encoded integer prefix 0xff'));
  });

  for (const truncated of ['', 'fc', 'fc fb', 'fd 0000', 'fe 00000000 000000']) {
    it(`throws ProtocolError on a length-encoded integer cut short: "${truncated}"`, () => {
      expect(() => reader(truncated).lenencInt()).toThrow(ProtocolError);
    });
  }

  it('throws ProtocolError when a fixed integer runs past the end, without moving', () => {
    const r = reader('0102 03');
    r.u16();
    expect(() => r.u16()).toThrow(new ProtocolError('payload too short: need 2 bytes at offset 2'));
    expect(() => r.u24()).toThrow(ProtocolError);
    expect(() => r.u32()).toThrow(ProtocolError);
    expect(r.offset).toBe(2);
    expect(r.u8()).toBe(3);
    expect(() => r.u8()).toThrow(ProtocolError);
  });

  it('reads length-encoded strings, and the empty one', () => {
    const r = reader('03 616263 00 fc0001' + '78'.repeat(256));
    expect(r.lenencBytes().toString()).toBe('abc');
    expect(r.lenencBytes().length).toBe(0);
    expect(r.lenencBytes().toString()).toBe('x'.repeat(256));
    expect(r.remaining).toBe(0);
  });

  it('throws ProtocolError on a length-encoded string longer than what is left', () => {
    expect(() => reader('04 616263').lenencBytes()).toThrow(new ProtocolError('payload too short: need 4 bytes at offset 1'));
  });

  it('reads NUL-terminated strings and steps over the NUL', () => {
    const r = reader('6d7973716c00 00 c3a900');
    expect(r.nulString()).toBe('mysql');
    expect(r.nulString()).toBe('');
    expect(r.nulString()).toBe('é');
    expect(r.remaining).toBe(0);
  });

  it('takes the rest of the payload as a NUL-terminated string whose NUL is missing', () => {
    const r = reader('61 62 63');
    expect(r.nulString()).toBe('abc');
    expect(r.remaining).toBe(0);
    expect(r.nulString()).toBe('');
  });

  it('stops at its end even when the buffer goes on: a NUL beyond it does not count, nor do bytes', () => {
    const buffer = hex('ff 616263 00 ff');
    const r = new PayloadReader(buffer, 1, 3);
    expect(r.remaining).toBe(2);
    expect(r.nulString()).toBe('ab');
    const s = new PayloadReader(buffer, 1, 3);
    expect(() => s.bytes(3)).toThrow(ProtocolError);
    expect(() => s.skip(3)).toThrow(ProtocolError);
    expect(s.restBytes().toString()).toBe('ab');
  });

  it('hands out views of the payload, not copies', () => {
    const buffer = hex('0102030405');
    const r = new PayloadReader(buffer);
    r.skip(1);
    const view = r.bytes(2);
    buffer[1] = 0x99;
    expect(view[0]).toBe(0x99);
    expect(r.restBytes()).toEqual(hex('0405'));
  });
});

describe('PayloadWriter', () => {
  it('writes fixed-size little-endian integers', () => {
    const w = new PayloadWriter().u8(0x01).u16(0x0102).u24(0x030405).u32(0x06070809);
    expect(w.toBuffer()).toEqual(hex('01 0201 050403 09080706'));
  });

  it('writes a u32 given a negative number as its two-complement bits', () => {
    expect(new PayloadWriter().u32(-1).toBuffer()).toEqual(hex('ffffffff'));
  });

  for (const [value, bytes] of lenencCases) {
    it(`writes the length-encoded integer ${value} as ${bytes}, which reads back`, () => {
      const written = new PayloadWriter().lenencInt(value).toBuffer();
      expect(written).toEqual(hex(bytes));
      expect(new PayloadReader(written).lenencInt()).toBe(value);
    });
  }

  it('writes length-encoded strings with their length in bytes, not characters', () => {
    expect(new PayloadWriter().lenencString('é€').toBuffer()).toEqual(hex('05 c3a9 e282ac'));
    expect(new PayloadWriter().lenencString('').toBuffer()).toEqual(hex('00'));
    const long = new PayloadWriter().lenencBytes(Buffer.alloc(251, 0x78)).toBuffer();
    expect(long.subarray(0, 3)).toEqual(hex('fc fb00'));
    expect(long.length).toBe(3 + 251);
  });

  it('writes NUL-terminated strings, zeros and raw bytes', () => {
    const w = new PayloadWriter().nulString('ab').zeros(3).bytes(hex('ff')).string('c');
    expect(w.toBuffer()).toEqual(hex('616200 000000 ff 63'));
  });

  it('grows past its initial size without losing what it holds', () => {
    const w = new PayloadWriter(1);
    for (let i = 0; i < 1000; i++) w.u16(i);
    const r = new PayloadReader(w.toBuffer());
    for (let i = 0; i < 1000; i++) expect(r.u16()).toBe(i);
    expect(r.remaining).toBe(0);
  });

  it('hands out a copy: writing on does not change a buffer already taken', () => {
    const w = new PayloadWriter(16).u8(1);
    const taken = w.toBuffer();
    w.u8(2);
    expect(taken).toEqual(hex('01'));
    expect(w.toBuffer()).toEqual(hex('0102'));
  });
});
