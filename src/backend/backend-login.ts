/**
 * The login of a backend connection, mysqlda as the client: the server's greeting (or its refusal), an SSLRequest
 * and the TLS upgrade when the server's config asks for TLS, the handshake response, then the authentication
 * exchange (auth switch, caching_sha2_password's fast or full authentication) up to the OK. The client side's
 * counterpart is session/client-login.ts.
 */
import net from 'node:net';
import tls from 'node:tls';
import { constants as cryptoConstants, publicEncrypt } from 'node:crypto';
import type { ServerConfig } from '../config/types.js';
import { CACHING_SHA2_PLUGIN, clientAuthToken, NATIVE_PASSWORD_PLUGIN, scramblePassword } from '../protocol/auth.js';
import { BACKEND_BASE_CAPABILITIES, Capability, PacketHeader, STREAM_SHAPING_CAPABILITIES } from '../protocol/constants.js';
import { parseErr, parseOk, type ErrPacket } from '../protocol/generic-packets.js';
import { encodeHandshakeResponse, encodeSslRequest, parseAuthSwitchRequest, parseGreeting, type Greeting } from '../protocol/handshake.js';
import { encodePacket, PacketFramer, type Packet } from '../protocol/packet.js';
import { copyingReader, ReadBuffer } from '../socket/read-buffer.js';
import type { ConnectionShape } from './backend-connection.js';
import { BackendError, serverAddress } from './backend-error.js';
import { backendTlsOptions } from './backend-tls.js';

const MAX_PACKET_SIZE = 1 << 30;

const PACKAGE_ATTRIBUTES = new Map([
  ['_client_name', 'mysqlda'],
  ['program_name', 'mysqlda'],
]);

/** caching_sha2_password's AuthMoreData answers (after the 0x01 header). */
const FAST_AUTH_DONE = 0x03;
const FULL_AUTH_NEEDED = 0x04;
/** Asks the server for its RSA public key (caching_sha2_password full authentication without TLS). */
const REQUEST_PUBLIC_KEY = Buffer.from([0x02]);

/** The phases of a backend login; it ends logged in or failed (socket destroyed, BackendError). */
type LoginPhase =
  | { name: 'awaiting-greeting' }
  | { name: 'tls-handshake'; greeting: Greeting; capabilities: number }
  /** `scramble`: the greeting's, or the one of the last auth switch. */
  | { name: 'authenticating'; greeting: Greeting; capabilities: number; scramble: Buffer }
  | { name: 'ended' };
type Authenticating = Extract<LoginPhase, { name: 'authenticating' }>;

/** What a login that succeeded hands to the BackendConnection. */
export interface LoggedIn {
  /** The socket to read and write from now on: the TLS socket after an upgrade. */
  socket: net.Socket;
  /** Holds the bytes the server sent behind its OK; its reader is unset. */
  input: ReadBuffer;
  greeting: Greeting;
  /** The capabilities both sides have. */
  capabilities: number;
  /** The status flags of the login's OK: those of a fresh session. */
  statusFlags: number;
}

/** Connects to the server and logs in with its configured account, within timeoutMs. Rejects with a BackendError. */
export function logInToServer(server: ServerConfig, shape: ConnectionShape, timeoutMs: number): Promise<LoggedIn> {
  return new Promise((resolve, reject) => new BackendLogin(server, shape, timeoutMs, resolve, reject));
}

class BackendLogin {
  private phase: LoginPhase = { name: 'awaiting-greeting' };
  private readonly address: string;
  private readonly input = new ReadBuffer();
  private readonly framer = new PacketFramer();
  /** The TCP socket; `socket` becomes the TLS socket after an upgrade. */
  private readonly raw: net.Socket;
  private socket: net.Socket;
  private readonly timer: NodeJS.Timeout;
  /** Cleared once sent in full (RSA), so that it is not kept longer than needed. */
  private password: string;

  constructor(
    private readonly server: ServerConfig,
    private readonly shape: ConnectionShape,
    timeoutMs: number,
    private readonly resolve: (loggedIn: LoggedIn) => void,
    private readonly reject: (error: BackendError) => void,
  ) {
    this.address = serverAddress(server);
    this.password = server.password;
    // A TLS socket takes over the TCP handle's reads, so only a plain connection reads into the reused buffer.
    this.raw = server.tls
      ? net.connect({ host: server.host, port: server.port, noDelay: true })
      : net.connect({ host: server.host, port: server.port, noDelay: true, onread: this.input.onread });
    this.socket = this.raw;
    if (server.tls) this.raw.on('data', this.onRawData);
    this.timer = setTimeout(() => this.fail(`connect to ${this.address} timed out after ${timeoutMs} ms`), timeoutMs);
    this.raw.on('error', this.onSocketError);
    this.raw.on('close', this.onSocketClose);
    this.input.setReader(copyingReader(this.onData));
  }

  private readonly onRawData = (chunk: Buffer): void => this.input.deliver(chunk, false);
  private readonly onSocketError = (err: Error): void => this.fail(`cannot connect to ${this.address}: ${err.message}`);
  private readonly onSocketClose = (): void => this.fail(`${this.address} closed the connection during the handshake`);

  private readonly onData = (chunk: Buffer): void => {
    try {
      for (const packet of this.framer.push(chunk)) {
        if (this.phase.name === 'ended') return;
        this.onPacket(packet);
      }
    } catch (err) {
      this.fail(`${this.address} sent a malformed handshake: ${(err as Error).message}`);
    }
  };

  /** The one transition function: each packet goes to the phase it arrives in. */
  private onPacket(packet: Packet): void {
    const phase = this.phase;
    switch (phase.name) {
      case 'awaiting-greeting':
        return this.onGreeting(packet);
      case 'authenticating':
        return this.onAuthPacket(phase, packet);
      case 'tls-handshake':
        return this.fail(`${this.address} sent a packet during the TLS handshake`);
      case 'ended':
        return;
    }
  }

  private onGreeting(packet: Packet): void {
    const { payload } = packet;
    // A server with no room (max_connections, host blocked) sends ERR instead of the greeting: it is alive.
    if (payload[0] === PacketHeader.ERR) {
      const error = parseErr(payload);
      return this.fail(`${this.address} refused the connection: ${error.message} (${error.code})`, error);
    }
    const greeting = parseGreeting(payload);
    const capabilities =
      (((BACKEND_BASE_CAPABILITIES | (this.shape.capabilities & STREAM_SHAPING_CAPABILITIES)) & greeting.capabilities) | Capability.PROTOCOL_41) >>> 0;
    if (!this.server.tls) return this.sendHandshakeResponse({ name: 'authenticating', greeting, capabilities, scramble: greeting.scramble }, packet.sequenceId + 1);
    if (!(greeting.capabilities & Capability.SSL)) return this.fail(`${this.address} does not offer TLS, which the config asks for`);
    this.startTls({ name: 'tls-handshake', greeting, capabilities }, packet.sequenceId + 1);
  }

  /** SSLRequest, then the TLS handshake on the same socket; the login continues encrypted. */
  private startTls(phase: Extract<LoginPhase, { name: 'tls-handshake' }>, sequenceId: number): void {
    this.phase = phase;
    this.send(encodeSslRequest({ capabilities: phase.capabilities, maxPacketSize: MAX_PACKET_SIZE, charset: this.shape.charset }), sequenceId);
    this.raw.removeListener('data', this.onRawData);
    let secure: tls.TLSSocket;
    try {
      secure = tls.connect(backendTlsOptions(this.server.host, this.server.tls!, this.raw));
    } catch (err) {
      return this.fail(`TLS to ${this.address} is misconfigured: ${(err as Error).message}`);
    }
    secure.on('error', (err) => this.fail(`TLS to ${this.address} failed: ${err.message}`));
    secure.once('secureConnect', () => {
      if (this.phase.name === 'ended') return;
      this.socket = secure;
      secure.on('data', (chunk: Buffer) => this.input.deliver(chunk, false));
      this.sendHandshakeResponse({ ...phase, name: 'authenticating', scramble: phase.greeting.scramble }, sequenceId + 1);
    });
  }

  private sendHandshakeResponse(phase: Authenticating, sequenceId: number): void {
    this.phase = phase;
    const plugin = phase.greeting.authPluginName === CACHING_SHA2_PLUGIN ? CACHING_SHA2_PLUGIN : NATIVE_PASSWORD_PLUGIN;
    const response = encodeHandshakeResponse({
      capabilities: phase.capabilities,
      maxPacketSize: MAX_PACKET_SIZE,
      charset: this.shape.charset,
      user: this.server.user,
      authResponse: clientAuthToken(plugin, this.password, phase.scramble)!,
      database: this.server.database || null,
      authPluginName: plugin,
      connectAttributes: PACKAGE_ATTRIBUTES,
    });
    this.send(response, sequenceId);
  }

  private onAuthPacket(phase: Authenticating, packet: Packet): void {
    const { payload } = packet;
    const next = packet.sequenceId + 1;
    switch (payload[0]) {
      case PacketHeader.OK:
        return this.succeed(phase, parseOk(payload).statusFlags);
      case PacketHeader.ERR: {
        const error = parseErr(payload);
        return this.fail(`${this.address} refused the login: ${error.message} (${error.code})`, error);
      }
      case PacketHeader.AUTH_SWITCH: {
        const request = parseAuthSwitchRequest(payload);
        const token = clientAuthToken(request.pluginName, this.password, request.pluginData);
        if (token === null) return this.fail(`${this.address} asks for auth plugin '${request.pluginName}', which mysqlda does not speak as a client`);
        this.phase = { ...phase, scramble: request.pluginData };
        return void this.send(token, next);
      }
      case PacketHeader.AUTH_MORE_DATA: {
        if (payload.length === 2 && payload[1] === FAST_AUTH_DONE) return; // the OK follows
        if (payload.length === 2 && payload[1] === FULL_AUTH_NEEDED) return void this.send(REQUEST_PUBLIC_KEY, next);
        // The server's PEM public key: the password goes encrypted with it.
        const pem = payload.subarray(1).toString('latin1');
        const encrypted = publicEncrypt({ key: pem, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING }, scramblePassword(this.password, phase.scramble));
        this.password = '';
        return void this.send(encrypted, next);
      }
      default:
        return this.fail(`${this.address} sent an unexpected packet during the handshake`);
    }
  }

  private send(payload: Buffer, sequenceId: number): void {
    this.socket.write(encodePacket(payload, sequenceId));
  }

  private succeed(phase: Authenticating, statusFlags: number): void {
    this.end();
    this.input.setReader(null);
    const rest = this.framer.takeRemainder();
    if (rest.length) this.input.deliver(rest, false);
    this.resolve({ socket: this.socket, input: this.input, greeting: phase.greeting, capabilities: phase.capabilities, statusFlags });
  }

  private fail(message: string, serverError?: ErrPacket): void {
    if (this.phase.name === 'ended') return;
    this.end();
    this.socket.destroy();
    this.raw.destroy();
    this.reject(new BackendError(message, this.address, serverError));
  }

  /** The 'error' listener stays: a no-op from now on, it covers the hand-over until the connection listens. */
  private end(): void {
    this.phase = { name: 'ended' };
    clearTimeout(this.timer);
    this.raw.removeListener('close', this.onSocketClose);
  }
}
