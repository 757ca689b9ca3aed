import type net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MysqldaConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { generateScramble, nativePasswordHash, nativePasswordToken } from '../../src/protocol/auth.js';
import { Capability, DEFAULT_CHARSET, PROXY_CAPABILITIES, STREAM_SHAPING_CAPABILITIES } from '../../src/protocol/constants.js';
import { encodeHandshakeResponse, parseGreeting, type HandshakeResponse } from '../../src/protocol/handshake.js';
import { encodePacket, PacketFramer } from '../../src/protocol/packet.js';
import { ClientLogin, type LoginHost, type LoginResult } from '../../src/session/client-login.js';
import type { ClientAccount, SessionServices } from '../../src/session/session-services.js';

const account: ClientAccount = { user: 'app', passwordHash: nativePasswordHash('pw'), database: 'db', library: null, key: null, admin: false };
const CLIENT_CAPABILITIES = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.DEPRECATE_EOF | Capability.MULTI_RESULTS;

/** A login driven by hand: what it writes, refuses, closes and hands over, in order. */
function harness(options: { tls?: { required: boolean }; socket?: Partial<net.Socket> } = {}) {
  const calls: string[] = [];
  const written: Buffer[] = [];
  const events = new ProxyEvents();
  const authFailures: string[] = [];
  events.on('auth-failed', (event) => authFailures.push(event.user));
  let result: LoginResult | null = null;
  const services = {
    logger: silentLogger(),
    events,
    config: () =>
      ({
        tls: options.tls ? { ...options.tls, certFile: '/nonexistent.pem', keyFile: '/nonexistent.key' } : null,
        auth: { user: 'root', password: 'x' },
        frontDoor: { loginTimeoutMs: 10_000 },
      }) as unknown as MysqldaConfig,
    frontDoor: { checkAccountHost: () => null, enter: () => null, loginFailed: () => undefined },
    greeting: () => ({ serverVersion: '10.11.0-MariaDB', capabilities: 0xffffffff, charset: DEFAULT_CHARSET, statusFlags: 2 }),
    findAccount: (user: string) => (user === 'app' ? account : undefined),
  } as unknown as SessionServices;
  const host: LoginHost = {
    services,
    clientAddress: '10.0.0.9:5555',
    write: (bytes) => void written.push(bytes),
    refuse: (error, sequenceId, reason) => void calls.push(`refuse ${error.code} seq=${sequenceId}: ${reason}`),
    close: (reason, level = 'info') => void calls.push(`close ${level}: ${reason}`),
    stopReading: () => void calls.push('stop reading'),
    secured: () => void calls.push('secured'),
    loggedIn: (accepted) => {
      calls.push('logged in');
      result = accepted;
    },
  };
  const socket = { remoteAddress: '10.0.0.9', ...options.socket } as net.Socket;
  const scramble = generateScramble();
  const login = new ClientLogin(host, socket, scramble);
  return {
    login,
    calls,
    authFailures,
    scramble,
    result: () => result,
    /** Every packet written so far, as the client reads them. */
    packets: () => new PacketFramer().push(Buffer.concat(written)),
  };
}

const handshakeResponse = (overrides: Partial<HandshakeResponse>): Buffer =>
  encodeHandshakeResponse({
    capabilities: CLIENT_CAPABILITIES,
    maxPacketSize: 1 << 24,
    charset: 45,
    user: 'app',
    authResponse: Buffer.alloc(0),
    database: null,
    authPluginName: 'mysql_native_password',
    connectAttributes: new Map(),
    ...overrides,
  });

describe('ClientLogin', () => {
  afterEach(() => vi.useRealTimers());

  it('greets with mysqlda\'s connection id and scramble, and offers TLS only when it is configured', () => {
    const plain = harness();
    plain.login.greet(42);
    const greeting = parseGreeting(plain.packets()[0].payload);
    expect(greeting).toMatchObject({ connectionId: 42, serverVersion: '10.11.0-MariaDB', authPluginName: 'mysql_native_password' });
    expect(greeting.scramble.equals(plain.scramble)).toBe(true);
    expect(greeting.capabilities & Capability.SSL).toBe(0);

    const secure = harness({ tls: { required: false } });
    secure.login.greet(43);
    expect(parseGreeting(secure.packets()[0].payload).capabilities & Capability.SSL).toBe(Capability.SSL);
    plain.login.stop();
    secure.login.stop();
  });

  it('accepts the right password and hands over what was agreed, with the commands that came behind the login, however the bytes are cut', () => {
    const query = encodePacket(Buffer.from('\x03select 1'), 0);
    const negotiated = CLIENT_CAPABILITIES & PROXY_CAPABILITIES;
    const responseLength = encodePacket(handshakeResponse({ authResponse: Buffer.alloc(20) }), 1).length;
    const total = responseLength + query.length + 5;
    for (let cut = 0; cut <= total; cut++) {
      const h = harness();
      const response = encodePacket(handshakeResponse({ authResponse: nativePasswordToken('pw', h.scramble) }), 1);
      const bytes = Buffer.concat([response, query, query.subarray(0, 5)]);
      h.login.receive(bytes.subarray(0, cut));
      h.login.receive(bytes.subarray(cut)); // once the login has ended, bytes are the session's: ignored here
      expect(h.calls).toEqual(['logged in']);
      expect(h.result()).toEqual({
        account,
        capabilities: negotiated,
        shape: { capabilities: negotiated & STREAM_SHAPING_CAPABILITIES, charset: 45 },
        deprecateEof: true,
        sequenceId: 2,
        // What came in the read that completed the login: the rest of the bytes when the cut is inside the response.
        pipelined: bytes.subarray(responseLength, cut < responseLength ? bytes.length : cut),
      });
    }
  });

  it('refuses a wrong password with ERR 1045 after the client\'s packet, and reports the failed user', () => {
    const h = harness();
    h.login.receive(encodePacket(handshakeResponse({ authResponse: nativePasswordToken('wrong', h.scramble) }), 1));
    expect(h.calls).toEqual(["refuse 1045 seq=2: login refused for user 'app': Access denied for user 'app'@'10.0.0.9' (using password: YES)"]);
    expect(h.authFailures).toEqual(['app']);
    expect(h.result()).toBeNull();
    h.login.stop();
  });

  it('names a 12 KB user name cut to 256 bytes, in the ERR, the refusal and the failed-login event', () => {
    const h = harness();
    const user = 'x'.repeat(12_000);
    h.login.receive(encodePacket(handshakeResponse({ user, authResponse: nativePasswordToken('pw', h.scramble) }), 1));
    const clipped = `${'x'.repeat(256)}…(+11744 bytes)`;
    expect(h.calls).toEqual([`refuse 1045 seq=2: login refused for user '${clipped}': Access denied for user '${clipped}'@'10.0.0.9' (using password: YES)`]);
    expect(h.authFailures).toEqual([clipped]);
    h.login.stop();
  });

  it('names a 12 KB database name cut to 256 bytes in ERR 1049', () => {
    const h = harness();
    const database = 'd'.repeat(12_000);
    h.login.receive(encodePacket(handshakeResponse({ database, authResponse: nativePasswordToken('pw', h.scramble) }), 1));
    expect(h.calls).toEqual([`refuse 1049 seq=2: login refused for user 'app': Unknown database '${'d'.repeat(256)}…(+11744 bytes)'`]);
    h.login.stop();
  });

  it('switches an unknown plugin to mysql_native_password and accepts the answer, numbering replies after it', () => {
    const h = harness();
    h.login.receive(encodePacket(handshakeResponse({ authPluginName: 'client_ed25519', authResponse: Buffer.alloc(64) }), 1));
    expect(h.calls).toEqual([]);
    const [switchRequest] = h.packets();
    expect(switchRequest.sequenceId).toBe(2);
    expect(switchRequest.payload[0]).toBe(0xfe);
    h.login.receive(encodePacket(nativePasswordToken('pw', h.scramble), 3));
    expect(h.calls).toEqual(['logged in']);
    expect(h.result()).toMatchObject({ sequenceId: 4, pipelined: Buffer.alloc(0) });
  });

  it('refuses an SSLRequest when TLS is not configured', () => {
    const h = harness();
    const sslRequest = handshakeResponse({ capabilities: CLIENT_CAPABILITIES | Capability.SSL }).subarray(0, 32);
    h.login.receive(encodePacket(sslRequest, 1));
    expect(h.calls).toEqual(["refuse 1235 seq=2: client asked for TLS, which is not configured"]);
    h.login.stop();
  });

  it('refuses a plain handshake response when TLS is required', () => {
    const h = harness({ tls: { required: true } });
    h.login.receive(encodePacket(handshakeResponse({ authResponse: nativePasswordToken('pw', h.scramble) }), 1));
    expect(h.calls).toEqual(['refuse 3159 seq=2: client did not use TLS, which is required']);
    h.login.stop();
  });

  it('closes the session when the TLS certificate cannot be read, handing back the start of the ClientHello first', () => {
    const unshift = vi.fn();
    const h = harness({ tls: { required: false }, socket: { unshift } });
    const sslRequest = handshakeResponse({ capabilities: CLIENT_CAPABILITIES | Capability.SSL }).subarray(0, 32);
    h.login.receive(Buffer.concat([encodePacket(sslRequest, 1), Buffer.from([0x16, 0x03, 0x01])]));
    expect(h.calls).toEqual(['stop reading', 'close warn: TLS is misconfigured']);
    expect(unshift).toHaveBeenCalledWith(Buffer.from([0x16, 0x03, 0x01]));
    h.login.stop();
  });

  it('refuses a handshake response it cannot parse, and a packet too large to be one', () => {
    const h = harness();
    h.login.receive(encodePacket(Buffer.alloc(10), 1));
    expect(h.calls).toEqual(['refuse 1043 seq=2: bad handshake: handshake response too short']);
    h.login.stop();

    const big = harness();
    const header = Buffer.from([0xff, 0xff, 0xff, 1]);
    big.login.receive(Buffer.concat([header, Buffer.alloc(0xffffff)]));
    expect(big.calls).toEqual(['refuse 1043 seq=1: malformed or oversized handshake']);
    big.login.stop();
  });

  it('refuses a packet larger than a handshake response can be from its header, before its body arrives', () => {
    const h = harness();
    h.login.greet(1);
    h.login.receive(Buffer.from([0x01, 0x40, 0x00, 1])); // 16 KB + 1
    expect(h.calls).toEqual(['refuse 1043 seq=1: malformed or oversized handshake']);
    h.login.stop();
  });

  it('greets a throttled address only after its delay, and closes it if it speaks first', () => {
    vi.useFakeTimers();
    const waiting = harness();
    waiting.login.greet(7, 2_000);
    expect(waiting.packets()).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(parseGreeting(waiting.packets()[0].payload).connectionId).toBe(7);
    waiting.login.stop();

    const eager = harness();
    eager.login.greet(8, 2_000);
    eager.login.receive(Buffer.from([1, 0, 0, 1, 0]));
    expect(eager.calls).toEqual(['close warn: the client sent data before the greeting']);
    eager.login.stop();
  });

  it('closes the session when no login completes within server.login_timeout_ms of the greeting, and not once the login has ended', () => {
    vi.useFakeTimers();
    const slow = harness();
    slow.login.greet(1);
    vi.advanceTimersByTime(10_000);
    expect(slow.calls).toEqual(['close info: no login within 10000 ms (server.login_timeout_ms)']);

    const stopped = harness();
    stopped.login.greet(2);
    stopped.login.stop();
    vi.advanceTimersByTime(10_000);
    expect(stopped.calls).toEqual([]);

    const accepted = harness();
    accepted.login.greet(3);
    accepted.login.receive(encodePacket(handshakeResponse({ authResponse: nativePasswordToken('pw', accepted.scramble) }), 1));
    vi.advanceTimersByTime(10_000);
    expect(accepted.calls).toEqual(['logged in']);
  });
});
