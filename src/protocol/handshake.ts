import { Capability } from './constants.js';
import { PayloadReader, PayloadWriter, ProtocolError } from './payload.js';

/** The server's greeting (Protocol::HandshakeV10), as sent to clients and as read from backends. */
export interface Greeting {
  serverVersion: string;
  connectionId: number;
  /** 20 bytes of scramble (auth-plugin-data parts 1 and 2 without the trailing NUL). */
  scramble: Buffer;
  capabilities: number;
  charset: number;
  statusFlags: number;
  authPluginName: string;
}

/** Written field by field into one buffer: it runs once per client connection, ahead of everything else. */
export function encodeGreeting(greeting: Greeting): Buffer {
  const { scramble, serverVersion, authPluginName, capabilities } = greeting;
  if (scramble.length !== 20) throw new ProtocolError('scramble must be 20 bytes');
  const versionLength = Buffer.byteLength(serverVersion, 'utf8');
  const pluginLength = Buffer.byteLength(authPluginName, 'utf8');
  const out = Buffer.allocUnsafe(1 + versionLength + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12 + 1 + pluginLength + 1);
  let p = 0;
  out[p++] = 10; // protocol version
  p += out.write(serverVersion, p, 'utf8');
  out[p++] = 0;
  out.writeUInt32LE(greeting.connectionId >>> 0, p);
  p += 4;
  p += scramble.copy(out, p, 0, 8);
  out[p++] = 0;
  out.writeUInt16LE(capabilities & 0xffff, p);
  p += 2;
  out[p++] = greeting.charset;
  out.writeUInt16LE(greeting.statusFlags, p);
  p += 2;
  out.writeUInt16LE(capabilities >>> 16, p);
  p += 2;
  out[p++] = scramble.length + 1; // auth-plugin-data length, its NUL included
  out.fill(0, p, p + 10); // reserved
  p += 10;
  p += scramble.copy(out, p, 8);
  out[p++] = 0;
  p += out.write(authPluginName, p, 'utf8');
  out[p] = 0;
  return out;
}

export function parseGreeting(payload: Buffer): Greeting {
  const reader = new PayloadReader(payload);
  const protocol = reader.u8();
  if (protocol === 0xff) {
    // A server that refuses the connection (too many connections, host blocked) sends ERR instead of a greeting.
    reader.u16();
    throw new ProtocolError(`server refused the connection: ${payload.subarray(3).toString('utf8').replace(/^#\w{5}/, '')}`);
  }
  if (protocol !== 10) throw new ProtocolError(`unsupported protocol version ${protocol}`);
  const serverVersion = reader.nulString();
  const connectionId = reader.u32();
  const part1 = reader.bytes(8);
  reader.skip(1);
  let capabilities = reader.u16();
  let charset = 0;
  let statusFlags = 0;
  let part2: Buffer = Buffer.alloc(0);
  let authPluginName = 'mysql_native_password';
  if (reader.remaining > 0) {
    charset = reader.u8();
    statusFlags = reader.u16();
    capabilities |= reader.u16() << 16;
    capabilities >>>= 0;
    const authDataLength = reader.u8();
    reader.skip(10);
    if (capabilities & Capability.SECURE_CONNECTION) {
      const part2Length = Math.max(13, authDataLength - 8);
      part2 = reader.bytes(Math.min(part2Length, reader.remaining));
      if (part2.length && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
    }
    if (capabilities & Capability.PLUGIN_AUTH && reader.remaining > 0) authPluginName = reader.nulString();
  }
  return {
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    charset,
    statusFlags,
    authPluginName,
  };
}

/** The client's answer to the greeting (Protocol::HandshakeResponse41), or the short SSLRequest that precedes TLS. */
export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  charset: number;
  user: string;
  authResponse: Buffer;
  database: string | null;
  authPluginName: string | null;
  connectAttributes: Map<string, string>;
}

/** Protocol::SSLRequest, sent before the TLS handshake: the fixed first 32 bytes of a HandshakeResponse41, with CLIENT_SSL. */
export function encodeSslRequest(request: { capabilities: number; maxPacketSize: number; charset: number }): Buffer {
  return new PayloadWriter(32)
    .u32((request.capabilities | Capability.SSL) >>> 0)
    .u32(request.maxPacketSize)
    .u8(request.charset)
    .zeros(23)
    .toBuffer();
}

/** An SSLRequest is the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set and nothing after. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && (payload.readUInt32LE(0) & Capability.SSL) !== 0;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const reader = new PayloadReader(payload);
  if (payload.length < 32) throw new ProtocolError('handshake response too short');
  const capabilities = reader.u32();
  if (!(capabilities & Capability.PROTOCOL_41)) throw new ProtocolError('clients older than protocol 4.1 are not supported');
  const maxPacketSize = reader.u32();
  const charset = reader.u8();
  reader.skip(23);
  const user = reader.nulString();
  let authResponse: Buffer;
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = reader.lenencBytes();
  else if (capabilities & Capability.SECURE_CONNECTION) authResponse = reader.bytes(reader.u8());
  else authResponse = reader.nulBytes();
  let database: string | null = null;
  if (capabilities & Capability.CONNECT_WITH_DB && reader.remaining > 0) database = reader.nulString();
  let authPluginName: string | null = null;
  if (capabilities & Capability.PLUGIN_AUTH && reader.remaining > 0) authPluginName = reader.nulString();
  let attributesStart = 0;
  let attributesEnd = 0;
  if (capabilities & Capability.CONNECT_ATTRS && reader.remaining > 0) {
    const total = reader.lenencInt();
    attributesStart = reader.offset;
    attributesEnd = Math.min(payload.length, reader.offset + total);
  }
  let connectAttributes: Map<string, string> | null = null;
  return {
    capabilities,
    maxPacketSize,
    charset,
    user,
    authResponse: Buffer.from(authResponse),
    database: database === '' ? null : database,
    authPluginName,
    // Decoded when first read: a login does not need them, and a driver sends a dozen strings.
    get connectAttributes() {
      connectAttributes ??= parseConnectAttributes(payload, attributesStart, attributesEnd);
      return connectAttributes;
    },
  };
}

function parseConnectAttributes(payload: Buffer, start: number, end: number): Map<string, string> {
  const attributes = new Map<string, string>();
  const reader = new PayloadReader(payload, start, end);
  while (reader.remaining > 0) {
    const key = reader.lenencBytes().toString('utf8');
    attributes.set(key, reader.lenencBytes().toString('utf8'));
  }
  return attributes;
}

export function encodeHandshakeResponse(response: HandshakeResponse): Buffer {
  let capabilities = response.capabilities | Capability.PROTOCOL_41;
  if (response.database) capabilities |= Capability.CONNECT_WITH_DB;
  else capabilities &= ~Capability.CONNECT_WITH_DB;
  if (response.connectAttributes.size === 0) capabilities &= ~Capability.CONNECT_ATTRS;
  const writer = new PayloadWriter(256)
    .u32(capabilities)
    .u32(response.maxPacketSize)
    .u8(response.charset)
    .zeros(23)
    .nulString(response.user);
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA) writer.lenencBytes(response.authResponse);
  else writer.u8(response.authResponse.length).bytes(response.authResponse);
  if (response.database) writer.nulString(response.database);
  if (capabilities & Capability.PLUGIN_AUTH) writer.nulString(response.authPluginName ?? 'mysql_native_password');
  if (capabilities & Capability.CONNECT_ATTRS) {
    const attributes = new PayloadWriter(128);
    for (const [key, value] of response.connectAttributes) attributes.lenencString(key).lenencString(value);
    writer.lenencBytes(attributes.toBuffer());
  }
  return writer.toBuffer();
}

/** Protocol::AuthSwitchRequest: ask the other side to answer with another plugin and this scramble. */
export function encodeAuthSwitchRequest(pluginName: string, pluginData: Buffer): Buffer {
  return new PayloadWriter(64).u8(0xfe).nulString(pluginName).bytes(pluginData).u8(0).toBuffer();
}

export function parseAuthSwitchRequest(payload: Buffer): { pluginName: string; pluginData: Buffer } {
  const reader = new PayloadReader(payload, 1);
  const pluginName = reader.nulString();
  let pluginData = reader.restBytes();
  if (pluginData.length && pluginData[pluginData.length - 1] === 0) pluginData = pluginData.subarray(0, -1);
  return { pluginName, pluginData: Buffer.from(pluginData) };
}

/** COM_CHANGE_USER's body: a new login on an open connection (its token is made with the greeting's scramble). */
export interface ChangeUserRequest {
  user: string;
  authResponse: Buffer;
  database: string | null;
  /** 0 when the client did not send one (keep the current character set). */
  charset: number;
  authPluginName: string | null;
}

export function parseChangeUser(payload: Buffer, clientCapabilities: number): ChangeUserRequest {
  const reader = new PayloadReader(payload, 1);
  const user = reader.nulString();
  const authResponse = clientCapabilities & Capability.SECURE_CONNECTION ? reader.bytes(reader.u8()) : reader.nulBytes();
  const database = reader.remaining > 0 ? reader.nulString() : '';
  const charset = reader.remaining >= 2 ? reader.u16() : 0;
  const authPluginName = clientCapabilities & Capability.PLUGIN_AUTH && reader.remaining > 0 ? reader.nulString() : null;
  return { user, authResponse: Buffer.from(authResponse), database: database === '' ? null : database, charset, authPluginName };
}
