/**
 * The backend login against mysqlda's own server side of the handshake (the greeting encoder and the
 * authentication exchange that client sessions go through), for the paths MariaDB cannot show: caching_sha2_password
 * full authentication with the server's RSA key, and an auth switch.
 */
import net from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendConnection, BackendError } from '../../src/backend/backend-connection.js';
import { classifyConnectFailure } from '../../src/backend/connect-failure.js';
import type { ServerConfig } from '../../src/config/types.js';
import { CACHING_SHA2_PLUGIN, generateScramble, nativePasswordHash, NATIVE_PASSWORD_PLUGIN, verifyNativePassword } from '../../src/protocol/auth.js';
import { Capability, DEFAULT_CHARSET, ServerStatus } from '../../src/protocol/constants.js';
import { encodeErr, encodeOk } from '../../src/protocol/generic-packets.js';
import { encodeAuthSwitchRequest, encodeGreeting, parseHandshakeResponse } from '../../src/protocol/handshake.js';
import { encodePacket, PacketFramer, type Packet } from '../../src/protocol/packet.js';
import { buildGreeting, ClientAuthExchange, Sha2Cache, type AuthStep } from '../../src/session/client-auth.js';
import type { ClientAccount } from '../../src/session/session-services.js';

const account: ClientAccount = { user: 'app', passwordHash: nativePasswordHash('pw'), database: '', library: null, key: null, admin: false };
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa = {
  publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
const template = { serverVersion: '10.11.0-test', capabilities: 0xffffffff, charset: DEFAULT_CHARSET, statusFlags: ServerStatus.AUTOCOMMIT };
const shape = { capabilities: 0, charset: DEFAULT_CHARSET };

const listeners: net.Server[] = [];
afterEach(() => listeners.splice(0).forEach((listener) => listener.close()));

/** A server that runs `script` on each connection: it gets every packet the client sends and a way to answer. */
async function scriptedServer(script: (send: (payload: Buffer, sequenceId: number) => void) => (packet: Packet) => void): Promise<ServerConfig> {
  const listener = net.createServer((socket) => {
    const framer = new PacketFramer();
    const onPacket = script((payload, sequenceId) => socket.write(encodePacket(payload, sequenceId)));
    socket.on('data', (chunk) => {
      for (const packet of framer.push(chunk)) onPacket(packet);
    });
    socket.on('error', () => undefined);
  });
  listeners.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  return { host: '127.0.0.1', port, user: 'app', password: 'pw', database: '', tls: null };
}

/** mysqlda's own server side: a greeting naming `plugin`, then the client authentication exchange. */
function mysqldaServerSide(plugin: string) {
  return (send: (payload: Buffer, sequenceId: number) => void) => {
    const scramble = generateScramble();
    send(encodeGreeting(buildGreeting(template, 7, scramble, { tls: false, authPlugin: plugin })), 0);
    let exchange: ClientAuthExchange | null = null;
    const answer = (step: AuthStep, sequenceId: number) => {
      if (step.kind === 'send') return send(step.payload, sequenceId);
      if (step.kind === 'accept') {
        for (const before of step.before) send(before, sequenceId++);
        return send(encodeOk(ServerStatus.AUTOCOMMIT), sequenceId);
      }
      send(encodeErr(step.error), sequenceId);
    };
    return (packet: Packet) => {
      if (!exchange) {
        const context = { scramble, secure: false, clientHost: '127.0.0.1', findAccount: (user: string) => (user === 'app' ? account : undefined), sha2Cache: new Sha2Cache(), rsaKeys: () => rsa };
        exchange = new ClientAuthExchange(parseHandshakeResponse(packet.payload), context);
        return answer(exchange.start(), packet.sequenceId + 1);
      }
      answer(exchange.next(packet.payload), packet.sequenceId + 1);
    };
  };
}

describe('the backend login', () => {
  it('logs in with mysql_native_password and keeps the status flags of the OK', async () => {
    const connection = await BackendConnection.connect(await scriptedServer(mysqldaServerSide(NATIVE_PASSWORD_PLUGIN)), shape, 2_000);
    expect(connection.threadId).toBe(7);
    expect(connection.statusFlags).toBe(ServerStatus.AUTOCOMMIT);
    expect(connection.negotiatedCapabilities & Capability.PROTOCOL_41).toBeTruthy();
    connection.destroy();
  });

  it('goes through caching_sha2_password full authentication: asks for the RSA key and sends the password encrypted with it', async () => {
    const connection = await BackendConnection.connect(await scriptedServer(mysqldaServerSide(CACHING_SHA2_PLUGIN)), shape, 2_000);
    expect(connection.alive).toBe(true);
    connection.destroy();
  });

  it('follows an auth switch, answering with the new scramble', async () => {
    const switched = generateScramble();
    const server = await scriptedServer((send) => {
      send(encodeGreeting(buildGreeting(template, 8, generateScramble(), { tls: false, authPlugin: NATIVE_PASSWORD_PLUGIN })), 0);
      return (packet) => {
        if (packet.sequenceId === 1) return send(encodeAuthSwitchRequest(NATIVE_PASSWORD_PLUGIN, switched), 2);
        const ok = verifyNativePassword(packet.payload, switched, account.passwordHash);
        send(ok ? encodeOk(ServerStatus.AUTOCOMMIT) : encodeErr({ code: 1045, sqlState: '28000', message: 'Access denied' }), packet.sequenceId + 1);
      };
    });
    const connection = await BackendConnection.connect(server, shape, 2_000);
    expect(connection.threadId).toBe(8);
    connection.destroy();
  });

  it("reports the server's refusal, at login or instead of the greeting, with the server's own error", async () => {
    const wrongPassword = { ...(await scriptedServer(mysqldaServerSide(NATIVE_PASSWORD_PLUGIN))), password: 'nope' };
    const refused = await BackendConnection.connect(wrongPassword, shape, 2_000).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(BackendError);
    expect(refused).toMatchObject({ message: expect.stringContaining('refused the login: Access denied'), serverError: { code: 1045 } });

    const full = await scriptedServer((send) => {
      send(encodeErr({ code: 1040, sqlState: '08004', message: 'Too many connections' }), 0);
      return () => undefined;
    });
    const tooMany = await BackendConnection.connect(full, shape, 2_000).catch((err: unknown) => err);
    expect(tooMany).toMatchObject({ message: expect.stringContaining('refused the connection: Too many connections (1040)'), serverError: { code: 1040 } });
    expect(classifyConnectFailure(tooMany)).toBe('answered');
  });

  it('times out when the server never greets', async () => {
    const silent = await scriptedServer(() => () => undefined);
    await expect(BackendConnection.connect(silent, shape, 100)).rejects.toThrow(/timed out after 100 ms/);
  });
});
