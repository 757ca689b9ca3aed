/**
 * The login of a client session: the greeting, an SSLRequest that upgrades the socket to TLS, the handshake
 * response, the authentication exchange, and the refusals on the way. The session hands it the client's bytes
 * until the client is accepted; the login then hands the session what was agreed (LoginResult).
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { ConnectionShape } from '../backend/backend-connection.js';
import { clip } from '../log/clip.js';
import { NATIVE_PASSWORD_PLUGIN } from '../protocol/auth.js';
import { Capability, PROXY_CAPABILITIES, STREAM_SHAPING_CAPABILITIES } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { encodeGreeting, isSslRequest, parseHandshakeResponse, type HandshakeResponse } from '../protocol/handshake.js';
import { encodePacket, PacketFramer, type Packet } from '../protocol/packet.js';
import { secureContextFromFiles } from '../socket/secure-context.js';
import { DEFAULTS } from '../config/schema.js';
import { sessionAuthContext } from './auth-context.js';
import { buildGreeting, ClientAuthExchange, type AuthStep } from './client-auth.js';
import type { ClientAccount, SessionServices } from './session-services.js';

/**
 * The phases of a login. It ends when the client is accepted (the session takes over) or when the session
 * closes (a refusal, the handshake timer, the client leaving).
 */
type LoginPhase =
  /** A client whose address failed to log in too often waits for its greeting (failed-login throttling). */
  | { name: 'delayed'; timer: NodeJS.Timeout }
  | { name: 'greeting-sent' }
  | { name: 'tls-handshake' }
  | { name: 'authenticating'; exchange: ClientAuthExchange; response: HandshakeResponse; capabilities: number }
  | { name: 'ended' };
type Authenticating = Extract<LoginPhase, { name: 'authenticating' }>;

/** What the client and mysqlda agreed on at login. */
export interface LoginResult {
  account: ClientAccount;
  /** The capabilities both sides have. */
  capabilities: number;
  /** What the session's backend connections must match (capabilities that shape the stream, charset). */
  shape: ConnectionShape;
  deprecateEof: boolean;
  /** The sequence id of the OK that ends the login. */
  sequenceId: number;
  /** Commands the client sent right behind its login (pipelining): whole packets, then the start of the next. */
  pipelined: Buffer;
}
type Agreed = Omit<LoginResult, 'pipelined'>;

/** What the login needs from its client session. */
export interface LoginHost {
  readonly services: SessionServices;
  readonly clientAddress: string;
  write(bytes: Buffer): void;
  /** Answers ERR and closes the session. */
  refuse(error: ProxyError, sequenceId: number, reason: string): void;
  close(reason: string, level?: 'info' | 'warn'): void;
  /** The plain socket is no longer read as such: TLS takes it over. */
  stopReading(): void;
  /** TLS is up: the session reads and writes the secure socket from now on. */
  secured(socket: tls.TLSSocket): void;
  loggedIn(result: LoginResult): void;
}

/**
 * One client's login, from the greeting to the OK (which the session sends). Bytes come in through `receive`;
 * replies go out through the host.
 */
export class ClientLogin {
  private phase: LoginPhase = { name: 'greeting-sent' };
  /** A handshake response is a few hundred bytes: a larger packet closes the connection unread. */
  private readonly framer = new PacketFramer(DEFAULTS.maxLoginPacketBytes);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: LoginHost,
    private socket: net.Socket,
    private readonly scramble: Buffer,
  ) {}

  /**
   * Sends the greeting (after `delayMs`, for an address being throttled): the backends' version and status,
   * mysqlda's connection id and scramble. The login timeout runs from the greeting.
   */
  greet(connectionId: number, delayMs = 0): void {
    if (delayMs > 0) {
      this.phase = { name: 'delayed', timer: setTimeout(() => this.greet(connectionId), delayMs) };
      return;
    }
    this.phase = { name: 'greeting-sent' };
    const { services } = this.host;
    const timeoutMs = services.config().frontDoor.loginTimeoutMs;
    this.timer = setTimeout(() => {
      services.events.emit('client-refused', { reason: 'login_timeout' });
      this.host.close(`no login within ${timeoutMs} ms (server.login_timeout_ms)`);
    }, timeoutMs);
    const greeting = buildGreeting(services.greeting(), connectionId, this.scramble, {
      tls: services.config().tls !== null,
      authPlugin: NATIVE_PASSWORD_PLUGIN,
    });
    this.host.write(encodePacket(encodeGreeting(greeting), 0));
  }

  /** The session closed before the login ended. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.phase.name === 'delayed') clearTimeout(this.phase.timer);
    this.phase = { name: 'ended' };
  }

  /** Bytes of the login: whole packets go to the phase they arrive in. */
  receive(chunk: Buffer): void {
    if (this.phase.name === 'ended' || this.phase.name === 'tls-handshake') return;
    // A client that speaks before its greeting is not a MySQL client: nothing it sent is kept.
    if (this.phase.name === 'delayed') return this.host.close('the client sent data before the greeting', 'warn');
    const packets = this.framer.tryPush(chunk);
    if (packets === null) return this.host.refuse(ProxyErrors.badHandshake(), 1, 'malformed or oversized handshake');
    for (let i = 0; i < packets.length; i++) {
      const packet = packets[i];
      const phase = this.phase;
      let accepted: Agreed | null = null;
      if (phase.name === 'greeting-sent') accepted = this.onHandshakeResponse(packet);
      else if (phase.name === 'authenticating') accepted = this.onAuthStep(phase, phase.exchange.next(packet.payload), packet.sequenceId + 1);
      if (accepted) {
        // Commands sent right behind the login (pipelining clients) go to the command path.
        const later = packets.slice(i + 1).map((p) => encodePacket(p.payload, p.sequenceId));
        return this.host.loggedIn({ ...accepted, pipelined: Buffer.concat([...later, this.framer.takeRemainder()]) });
      }
      if (this.phaseName() === 'ended' || this.phaseName() === 'tls-handshake') return;
    }
  }

  /** The phase, read without TypeScript's narrowing (handlers called in between may change it). */
  private phaseName(): LoginPhase['name'] {
    return this.phase.name;
  }

  private onHandshakeResponse(packet: Packet): Agreed | null {
    const tlsConfig = this.host.services.config().tls;
    if (isSslRequest(packet.payload)) {
      if (!tlsConfig) {
        this.host.refuse(ProxyErrors.notSupported('TLS'), packet.sequenceId + 1, 'client asked for TLS, which is not configured');
        return null;
      }
      this.upgradeToTls();
      return null;
    }
    if (tlsConfig?.required && !(this.socket instanceof tls.TLSSocket)) {
      this.host.refuse(ProxyErrors.insecureTransport(), packet.sequenceId + 1, 'client did not use TLS, which is required');
      return null;
    }
    let response: HandshakeResponse;
    try {
      response = parseHandshakeResponse(packet.payload);
    } catch (err) {
      this.host.refuse(ProxyErrors.badHandshake(), packet.sequenceId + 1, `bad handshake: ${(err as Error).message}`);
      return null;
    }
    const hostRefusal = this.host.services.frontDoor.checkAccountHost(response.user, this.socket.remoteAddress);
    if (hostRefusal) {
      this.host.services.frontDoor.loginFailed(this.socket.remoteAddress);
      this.host.services.events.emit('client-refused', { reason: 'host_not_allowed' });
      this.host.refuse(hostRefusal, packet.sequenceId + 1, `account '${response.user}' may not log in from this address (users[].hosts)`);
      return null;
    }
    const context = sessionAuthContext(this.host.services, this.scramble, {
      secure: this.socket instanceof tls.TLSSocket,
      clientHost: this.socket.remoteAddress ?? 'unknown',
    });
    const exchange = new ClientAuthExchange(response, context);
    const phase: Authenticating = { name: 'authenticating', exchange, response, capabilities: response.capabilities & PROXY_CAPABILITIES };
    this.phase = phase;
    return this.onAuthStep(phase, exchange.start(), packet.sequenceId + 1);
  }

  /** SSLRequest: wrap the socket in TLS, then read the real handshake response over it. */
  private upgradeToTls(): void {
    const { host } = this;
    this.phase = { name: 'tls-handshake' };
    const raw = this.socket;
    host.stopReading();
    const early = this.framer.takeRemainder();
    if (early.length) raw.unshift(early); // the ClientHello may have come in the same chunk as the SSLRequest
    let context: tls.SecureContext;
    try {
      const { certFile, keyFile } = host.services.config().tls!;
      context = secureContextFromFiles({ cert: certFile, key: keyFile });
    } catch (err) {
      host.services.logger.error({ err }, 'cannot read the TLS certificate or key');
      return host.close('TLS is misconfigured', 'warn');
    }
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    secure.once('secure', () => {
      if (this.phase.name === 'ended') return; // the session closed meanwhile
      this.socket = secure;
      this.phase = { name: 'greeting-sent' };
      host.secured(secure);
    });
    // These stay for the socket's life: they hold the host, not the login.
    secure.on('error', (err) => host.close(`TLS error: ${err.message}`, 'warn'));
    secure.on('close', () => host.close('client closed the connection'));
  }

  /** Acts on one step of the authentication exchange; what was agreed when it accepts the client. */
  private onAuthStep(phase: Authenticating, step: AuthStep, sequenceId: number): Agreed | null {
    if (step.kind === 'send') {
      this.host.write(encodePacket(step.payload, sequenceId));
      return null;
    }
    for (const payload of step.kind === 'accept' ? step.before : []) this.host.write(encodePacket(payload, sequenceId++));
    const { response, capabilities } = phase;
    const { frontDoor } = this.host.services;
    if (step.kind === 'refuse') {
      frontDoor.loginFailed(this.socket.remoteAddress);
      const user = clip(response.user);
      this.host.services.events.emit('auth-failed', { client: this.host.clientAddress, user });
      this.host.refuse(step.error, sequenceId, `login refused for user '${user}': ${step.error.message}`);
      return null;
    }
    const overLimit = frontDoor.enter(step.account, this.socket.remoteAddress);
    if (overLimit) {
      this.host.services.events.emit('client-refused', { reason: 'user_max_connections' });
      this.host.refuse(overLimit, sequenceId, `account '${step.account.user}' is at its max_connections`);
      return null;
    }
    if (this.timer) clearTimeout(this.timer);
    this.phase = { name: 'ended' };
    return {
      account: step.account,
      capabilities,
      shape: { capabilities: capabilities & STREAM_SHAPING_CAPABILITIES, charset: response.charset },
      deprecateEof: (capabilities & Capability.DEPRECATE_EOF) !== 0,
      sequenceId,
    };
  }
}
