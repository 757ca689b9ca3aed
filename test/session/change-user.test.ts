import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { generateScramble, nativePasswordHash, nativePasswordToken } from '../../src/protocol/auth.js';
import { Capability, Command } from '../../src/protocol/constants.js';
import { encodePacket, PacketFramer } from '../../src/protocol/packet.js';
import { ChangeUserExchange, type ChangeUserHost } from '../../src/session/change-user.js';
import { Sha2Cache, type AuthContext } from '../../src/session/client-auth.js';
import type { ClientAccount, SessionServices } from '../../src/session/session-services.js';

const account: ClientAccount = { user: 'app', passwordHash: nativePasswordHash('pw'), database: 'db', library: null, key: null, admin: false };
const CAPABILITIES = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH;
const LOGIN = { capabilities: CAPABILITIES, charset: 45 };

/** COM_CHANGE_USER's payload as a client with SECURE_CONNECTION and PLUGIN_AUTH sends it. */
function changeUser(user: string, token: Buffer, options: { charset?: number; plugin?: string } = {}): Buffer {
  const charset = Buffer.alloc(2);
  charset.writeUInt16LE(options.charset ?? 0);
  return Buffer.concat([
    Buffer.from([Command.CHANGE_USER]),
    Buffer.from(`${user}\0`),
    Buffer.from([token.length]),
    token,
    Buffer.from('\0'), // no database
    ...(options.charset === undefined ? [] : [charset, Buffer.from(`${options.plugin ?? 'mysql_native_password'}\0`)]),
  ]);
}

/** An exchange driven by hand: what it writes, refuses, accepts and requeues, in order. */
function harness() {
  const calls: string[] = [];
  const written: Buffer[] = [];
  const events = new ProxyEvents();
  const authFailures: string[] = [];
  events.on('auth-failed', (event) => authFailures.push(event.user));
  let acceptedDone: () => void = () => {};
  const host: ChangeUserHost = {
    services: { logger: silentLogger(), events } as unknown as SessionServices,
    clientAddress: '10.0.0.9:5555',
    write: (bytes) => void written.push(bytes),
    refuse: (error, sequenceId, reason) => void calls.push(`refuse ${error.code} seq=${sequenceId}: ${reason}`),
    accepted: (accepted, charset, sequenceId) => {
      calls.push(`accepted ${accepted.user} charset=${charset} seq=${sequenceId}`);
      return new Promise((resolve) => (acceptedDone = resolve));
    },
    requeue: (bytes) => void calls.push(`requeue ${bytes.toString('latin1')}`),
  };
  const scramble = generateScramble();
  const context: AuthContext = {
    scramble,
    secure: false,
    clientHost: '10.0.0.9',
    findAccount: (user) => (user === 'app' ? account : undefined),
    sha2Cache: new Sha2Cache(),
    rsaKeys: () => {
      throw new Error('not in these tests');
    },
  };
  return {
    host,
    calls,
    authFailures,
    context,
    scramble,
    finishAccepting: () => acceptedDone(),
    packets: () => new PacketFramer().push(Buffer.concat(written)),
  };
}

describe('ChangeUserExchange', () => {
  it('refuses a COM_CHANGE_USER it cannot parse, answering the packet', () => {
    const h = harness();
    const exchange = ChangeUserExchange.open(h.host, { sequenceId: 0, payload: Buffer.from([Command.CHANGE_USER, 0x61]) }, LOGIN, h.context);
    expect(exchange).toBeNull();
    expect(h.calls).toEqual(['refuse 1043 seq=1: malformed COM_CHANGE_USER']);
  });

  it('accepts the right password at once, keeping the login\'s charset when the client sends none, and ends once the session has answered', async () => {
    const h = harness();
    const packet = { sequenceId: 0, payload: changeUser('app', nativePasswordToken('pw', h.scramble)) };
    const exchange = ChangeUserExchange.open(h.host, packet, LOGIN, h.context)!;
    let ended = false;
    void exchange.ended.then(() => (ended = true));
    exchange.start(1);
    expect(h.calls).toEqual(['accepted app charset=45 seq=1']);
    await Promise.resolve();
    expect(ended).toBe(false);
    h.finishAccepting();
    await exchange.ended;
    expect(h.calls).toEqual(['accepted app charset=45 seq=1', 'requeue ']);
  });

  it('refuses a wrong password, naming the user the client asked to become (as a failed login does), and ends', async () => {
    const h = harness();
    const packet = { sequenceId: 0, payload: changeUser('app', nativePasswordToken('wrong', h.scramble), { charset: 33 }) };
    const exchange = ChangeUserExchange.open(h.host, packet, LOGIN, h.context)!;
    exchange.start(1);
    await exchange.ended;
    expect(h.calls).toEqual(["refuse 1045 seq=1: COM_CHANGE_USER refused: Access denied for user 'app'@'10.0.0.9' (using password: YES)", 'requeue ']);
    expect(h.authFailures).toEqual(['app']);
  });

  it('switches another plugin to mysql_native_password, then hands the commands that came behind the answer back to the command path', async () => {
    const h = harness();
    const packet = { sequenceId: 0, payload: changeUser('app', Buffer.alloc(32), { charset: 33, plugin: 'client_ed25519' }) };
    const exchange = ChangeUserExchange.open(h.host, packet, LOGIN, h.context)!;
    exchange.start(1);
    const [switchRequest] = h.packets();
    expect(switchRequest.sequenceId).toBe(1);
    expect(switchRequest.payload[0]).toBe(0xfe);
    expect(h.calls).toEqual([]);

    const answer = encodePacket(nativePasswordToken('pw', h.scramble), 2);
    const query = encodePacket(Buffer.from('\x03select 1'), 0);
    exchange.receive(answer.subarray(0, 7));
    expect(h.calls).toEqual([]);
    exchange.receive(Buffer.concat([answer.subarray(7), query, query.subarray(0, 3)]));
    expect(h.calls).toEqual(['accepted app charset=33 seq=3', `requeue ${Buffer.concat([query, query.subarray(0, 3)]).toString('latin1')}`]);
    h.finishAccepting();
    await exchange.ended;
    expect(h.calls.at(-1)).toBe('requeue ');
  });
});
