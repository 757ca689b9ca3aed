/**
 * Byte builders for fuzz cases. Deliberately independent of src/protocol's encoders: they write whatever they
 * are given, including lengths and flags that contradict the payload, which the real encoders never would.
 */
import { Capability } from '../../src/protocol/constants.js';

const MAX_FRAME = 0xffffff;

/** One packet with an honest header; payloads of 16 MiB - 1 or more are split into continuation frames. */
export function frame(payload: Buffer, sequenceId: number): Buffer {
  if (payload.length < MAX_FRAME) return Buffer.concat([header(payload.length, sequenceId), payload]);
  const parts: Buffer[] = [];
  let offset = 0;
  let seq = sequenceId;
  for (;;) {
    const size = Math.min(MAX_FRAME, payload.length - offset);
    parts.push(header(size, seq++), payload.subarray(offset, offset + size));
    offset += size;
    if (size < MAX_FRAME) return Buffer.concat(parts);
  }
}

/** A packet header claiming `length` bytes, whatever follows. */
export function header(length: number, sequenceId: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUIntLE(length & 0xffffff, 0, 3);
  out[3] = sequenceId & 0xff;
  return out;
}

export function lenencInt(value: number): Buffer {
  if (value < 251) return Buffer.from([value]);
  if (value < 0x10000) return Buffer.from([0xfc, value & 0xff, value >>> 8]);
  if (value < 0x1000000) return Buffer.from([0xfd, value & 0xff, (value >>> 8) & 0xff, value >>> 16]);
  const out = Buffer.alloc(9);
  out[0] = 0xfe;
  out.writeBigUInt64LE(BigInt(value), 1);
  return out;
}

export const lenencBytes = (bytes: Buffer): Buffer => Buffer.concat([lenencInt(bytes.length), bytes]);
export const nul = (text: string | Buffer): Buffer => Buffer.concat([Buffer.isBuffer(text) ? text : Buffer.from(text), Buffer.from([0])]);
export const u16 = (value: number): Buffer => Buffer.from([value & 0xff, (value >>> 8) & 0xff]);
export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return out;
}

/** What a driver sends by default: 4.1 protocol, plugin auth, lenenc auth data, multi-results. */
export const CLIENT_CAPABILITIES =
  Capability.LONG_PASSWORD |
  Capability.LONG_FLAG |
  Capability.PROTOCOL_41 |
  Capability.TRANSACTIONS |
  Capability.SECURE_CONNECTION |
  Capability.MULTI_STATEMENTS |
  Capability.MULTI_RESULTS |
  Capability.PS_MULTI_RESULTS |
  Capability.PLUGIN_AUTH |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Capability.CONNECT_ATTRS |
  Capability.DEPRECATE_EOF;

export interface HandshakeFields {
  capabilities: number;
  maxPacketSize?: number;
  charset?: number;
  user: Buffer | string;
  authResponse: Buffer;
  database?: Buffer | string | null;
  plugin?: Buffer | string | null;
  /** Raw connect-attributes block (its lenenc length included), written when CONNECT_ATTRS is set. */
  attributes?: Buffer;
}

/** A HandshakeResponse41 laid out as the capability flags say, without checking that they make sense. */
export function handshakeResponse(fields: HandshakeFields): Buffer {
  const caps = fields.capabilities >>> 0;
  const parts = [u32(caps), u32(fields.maxPacketSize ?? 0x1000000), Buffer.from([fields.charset ?? 45]), Buffer.alloc(23), nul(fields.user)];
  if (caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) parts.push(lenencBytes(fields.authResponse));
  else if (caps & Capability.SECURE_CONNECTION) parts.push(Buffer.from([fields.authResponse.length & 0xff]), fields.authResponse);
  else parts.push(nul(fields.authResponse));
  if (caps & Capability.CONNECT_WITH_DB && fields.database != null) parts.push(nul(fields.database));
  if (caps & Capability.PLUGIN_AUTH && fields.plugin != null) parts.push(nul(fields.plugin));
  if (caps & Capability.CONNECT_ATTRS && fields.attributes) parts.push(fields.attributes);
  return Buffer.concat(parts);
}

/** The 32-byte SSLRequest that asks for TLS before the real handshake response. */
export function sslRequest(capabilities = CLIENT_CAPABILITIES | Capability.SSL): Buffer {
  return Buffer.concat([u32(capabilities), u32(0x1000000), Buffer.from([45]), Buffer.alloc(23)]);
}

export const command = (code: number, body: Buffer | string = Buffer.alloc(0)): Buffer =>
  Buffer.concat([Buffer.from([code]), Buffer.isBuffer(body) ? body : Buffer.from(body)]);

export const query = (sql: string | Buffer): Buffer => command(0x03, sql);
