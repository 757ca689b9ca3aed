import { generateKeyPairSync, publicEncrypt, constants } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cachingSha2Token, generateScramble, nativePasswordHash, nativePasswordToken } from '../../src/protocol/auth.js';
import { Capability } from '../../src/protocol/constants.js';
import { ClientAuthExchange, Sha2Cache, type AuthContext } from '../../src/session/client-auth.js';
import type { ClientAccount } from '../../src/session/session-services.js';

const account: ClientAccount = { user: 'app', passwordHash: nativePasswordHash('pw'), database: 'db', library: null, key: null, admin: false };
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa = {
  publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};

function context(overrides: Partial<AuthContext> = {}): AuthContext {
  return {
    scramble: generateScramble(),
    secure: false,
    clientHost: '10.0.0.9',
    findAccount: (user) => (user === 'app' ? account : undefined),
    sha2Cache: new Sha2Cache(),
    rsaKeys: () => rsa,
    ...overrides,
  };
}

const response = (plugin: string, authResponse: Buffer, user = 'app', database: string | null = null) => ({
  user,
  authResponse,
  authPluginName: plugin,
  database,
  capabilities: Capability.PLUGIN_AUTH | Capability.PROTOCOL_41,
});

describe('ClientAuthExchange', () => {
  it('accepts the right mysql_native_password token and refuses a wrong one with 1045', () => {
    const ctx = context();
    expect(new ClientAuthExchange(response('mysql_native_password', nativePasswordToken('pw', ctx.scramble)), ctx).start().kind).toBe('accept');
    const refused = new ClientAuthExchange(response('mysql_native_password', nativePasswordToken('no', ctx.scramble)), ctx).start();
    expect(refused).toMatchObject({ kind: 'refuse', error: { code: 1045, message: "Access denied for user 'app'@'10.0.0.9' (using password: YES)" } });
  });

  it('refuses a database other than the account\'s with 1049', () => {
    const ctx = context();
    const step = new ClientAuthExchange(response('mysql_native_password', nativePasswordToken('pw', ctx.scramble), 'app', 'other'), ctx).start();
    expect(step).toMatchObject({ kind: 'refuse', error: { code: 1049 } });
  });

  it('switches an unknown plugin to mysql_native_password', () => {
    const ctx = context();
    const exchange = new ClientAuthExchange(response('client_ed25519', Buffer.alloc(64)), ctx);
    const first = exchange.start();
    expect(first.kind).toBe('send');
    expect(exchange.next(nativePasswordToken('pw', ctx.scramble)).kind).toBe('accept');
  });

  it('caching_sha2: full authentication over RSA fills the cache, then the fast path succeeds', () => {
    const cache = new Sha2Cache();
    const ctx = context({ sha2Cache: cache });
    const exchange = new ClientAuthExchange(response('caching_sha2_password', cachingSha2Token('pw', ctx.scramble)), ctx);
    expect(exchange.start()).toEqual({ kind: 'send', payload: Buffer.from([0x01, 0x04]) });
    const key = exchange.next(Buffer.from([0x02]));
    expect(key.kind === 'send' && key.payload.toString().includes('BEGIN PUBLIC KEY')).toBe(true);
    const plain = Buffer.from('pw\0');
    for (let i = 0; i < plain.length; i++) plain[i] ^= ctx.scramble[i % 20];
    const encrypted = publicEncrypt({ key: rsa.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
    expect(exchange.next(encrypted).kind).toBe('accept');

    const ctx2 = context({ sha2Cache: cache });
    const fast = new ClientAuthExchange(response('caching_sha2_password', cachingSha2Token('pw', ctx2.scramble)), ctx2).start();
    expect(fast).toEqual({ kind: 'accept', account, before: [Buffer.from([0x01, 0x03])] });
  });

  it('caching_sha2: takes the password in full over TLS', () => {
    const ctx = context({ secure: true });
    const exchange = new ClientAuthExchange(response('caching_sha2_password', cachingSha2Token('pw', ctx.scramble)), ctx);
    exchange.start();
    expect(exchange.next(Buffer.from('pw\0')).kind).toBe('accept');
  });

  it('caching_sha2: an empty token is answered with a switch to caching_sha2 itself', () => {
    const ctx = context({ secure: true });
    const exchange = new ClientAuthExchange(response('caching_sha2_password', Buffer.alloc(0)), ctx);
    const step = exchange.start();
    expect(step.kind === 'send' && step.payload[0]).toBe(0xfe);
    expect(exchange.next(cachingSha2Token('pw', ctx.scramble))).toEqual({ kind: 'send', payload: Buffer.from([0x01, 0x04]) });
  });

  it('does not reveal whether a user exists: an unknown user goes through full authentication too', () => {
    const ctx = context();
    const exchange = new ClientAuthExchange(response('caching_sha2_password', cachingSha2Token('pw', ctx.scramble), 'ghost'), ctx);
    expect(exchange.start()).toEqual({ kind: 'send', payload: Buffer.from([0x01, 0x04]) });
  });
});
