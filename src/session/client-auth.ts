import { constants as cryptoConstants, privateDecrypt } from 'node:crypto';
import { clip } from '../log/clip.js';
import {
  CACHING_SHA2_PLUGIN,
  NATIVE_PASSWORD_PLUGIN,
  cachingSha2Digest,
  unscramblePassword,
  verifyCachingSha2Token,
  verifyCleartextPassword,
  verifyNativePassword,
} from '../protocol/auth.js';
import { Capability, PROXY_CAPABILITIES } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { encodeAuthSwitchRequest, type Greeting, type HandshakeResponse } from '../protocol/handshake.js';
import type { ClientAccount, GreetingTemplate } from './session-services.js';

/** The greeting mysqlda sends: the backends' version and status, only the capabilities mysqlda honours. */
export function buildGreeting(template: GreetingTemplate, connectionId: number, scramble: Buffer, options: { tls: boolean; authPlugin: string }): Greeting {
  let capabilities = (PROXY_CAPABILITIES & template.capabilities) | Capability.PROTOCOL_41 | Capability.PLUGIN_AUTH | Capability.SECURE_CONNECTION;
  // LONG_PASSWORD is MariaDB's CLIENT_MYSQL bit: set, it keeps MariaDB-only extensions off (see constants.ts).
  capabilities |= Capability.LONG_PASSWORD;
  if (options.tls) capabilities |= Capability.SSL;
  return {
    serverVersion: template.serverVersion,
    connectionId,
    scramble,
    capabilities: capabilities >>> 0,
    charset: template.charset,
    statusFlags: template.statusFlags,
    authPluginName: options.authPlugin,
  };
}

/**
 * caching_sha2_password's server-side cache: SHA256(SHA256(password)) per account, filled when a client proves
 * its password in full (or known from a plaintext password in the config), so later logins take the fast path.
 * Keyed by the account's stored hash too, so a changed password drops the entry.
 */
export class Sha2Cache {
  private readonly digests = new Map<string, Buffer>();

  private keyOf(account: ClientAccount): string {
    return `${account.user}\0${account.passwordHash?.toString('hex') ?? ''}`;
  }

  get(account: ClientAccount): Buffer | undefined {
    return this.digests.get(this.keyOf(account));
  }

  remember(account: ClientAccount, password: string): void {
    this.digests.set(this.keyOf(account), cachingSha2Digest(password));
  }
}

/** A key pair for caching_sha2_password's RSA exchange when the client has no TLS. */
export interface RsaKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export type AuthStep =
  /** Send this payload to the client and pass its answer to next(). */
  | { kind: 'send'; payload: Buffer }
  /** Login succeeded; send `before` (e.g. caching_sha2's fast-auth-success) and then OK. */
  | { kind: 'accept'; account: ClientAccount; before: Buffer[] }
  | { kind: 'refuse'; error: ProxyError };

const FAST_AUTH_SUCCESS = Buffer.from([0x01, 0x03]);
const PERFORM_FULL_AUTH = Buffer.from([0x01, 0x04]);
const REQUEST_PUBLIC_KEY = 0x02;

type ExchangeState = 'start' | 'native-switch' | 'sha2-switch' | 'sha2-full' | 'sha2-rsa' | 'done';

export interface AuthContext {
  scramble: Buffer;
  /** The connection is encrypted (TLS): a password may travel in full. */
  secure: boolean;
  clientHost: string;
  /** The logical database a client may name at connect. */
  findAccount(user: string): ClientAccount | undefined;
  sha2Cache: Sha2Cache;
  rsaKeys(): RsaKeyPair;
}

/**
 * One client authentication, as a state machine over packets (no sockets): mysql_native_password,
 * caching_sha2_password (fast path, then full authentication over TLS or RSA), and an auth switch to
 * mysql_native_password for any other plugin. Used for the login and for COM_CHANGE_USER.
 */
export class ClientAuthExchange {
  private state: ExchangeState = 'start';
  private readonly account: ClientAccount | undefined;

  constructor(
    private readonly response: Pick<HandshakeResponse, 'user' | 'authResponse' | 'authPluginName' | 'database' | 'capabilities'>,
    private readonly context: AuthContext,
  ) {
    this.account = context.findAccount(response.user);
  }

  start(): AuthStep {
    const plugin = this.response.capabilities & Capability.PLUGIN_AUTH ? (this.response.authPluginName ?? NATIVE_PASSWORD_PLUGIN) : NATIVE_PASSWORD_PLUGIN;
    if (plugin === NATIVE_PASSWORD_PLUGIN) return this.checkNative(this.response.authResponse);
    if (plugin === CACHING_SHA2_PLUGIN) return this.checkSha2Token(this.response.authResponse);
    this.state = 'native-switch';
    return { kind: 'send', payload: encodeAuthSwitchRequest(NATIVE_PASSWORD_PLUGIN, this.context.scramble) };
  }

  next(payload: Buffer): AuthStep {
    switch (this.state) {
      case 'native-switch':
        return this.checkNative(payload);
      case 'sha2-switch':
        if (payload.length === 0) return this.finish(!!this.account && this.account.passwordHash === null);
        return this.checkSha2Token(payload);
      case 'sha2-full':
        if (this.context.secure) return this.checkCleartext(payload.toString('utf8').replace(/\0$/, ''));
        if (payload.length === 1 && payload[0] === REQUEST_PUBLIC_KEY) {
          this.state = 'sha2-rsa';
          return { kind: 'send', payload: Buffer.concat([Buffer.from([0x01]), Buffer.from(this.context.rsaKeys().publicKeyPem)]) };
        }
        return this.checkRsa(payload); // a client that already knows the public key
      case 'sha2-rsa':
        return this.checkRsa(payload);
      default:
        return this.finish(false);
    }
  }

  private checkNative(token: Buffer): AuthStep {
    return this.finish(!!this.account && verifyNativePassword(token, this.context.scramble, this.account.passwordHash));
  }

  private checkSha2Token(token: Buffer): AuthStep {
    if (token.length === 0) {
      if (this.account?.passwordHash === null) return this.finish(true);
      // A client whose greeting named another plugin sends no token and waits to be switched to its own.
      this.state = 'sha2-switch';
      return { kind: 'send', payload: encodeAuthSwitchRequest(CACHING_SHA2_PLUGIN, this.context.scramble) };
    }
    const digest = this.account ? this.context.sha2Cache.get(this.account) : undefined;
    if (digest && verifyCachingSha2Token(token, this.context.scramble, digest)) return this.finish(true, [FAST_AUTH_SUCCESS]);
    // Unknown account, cold cache or a stale entry: ask for the password in full (an unknown user is refused
    // only at the end, so the exchange does not reveal which users exist).
    this.state = 'sha2-full';
    return { kind: 'send', payload: PERFORM_FULL_AUTH };
  }

  private checkRsa(payload: Buffer): AuthStep {
    let password: string;
    try {
      const decrypted = privateDecrypt({ key: this.context.rsaKeys().privateKeyPem, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING }, payload);
      password = unscramblePassword(decrypted, this.context.scramble);
    } catch {
      return this.finish(false);
    }
    return this.checkCleartext(password);
  }

  private checkCleartext(password: string): AuthStep {
    const ok = !!this.account && verifyCleartextPassword(password, this.account.passwordHash);
    if (ok) this.context.sha2Cache.remember(this.account!, password);
    return this.finish(ok);
  }

  private finish(passwordOk: boolean, before: Buffer[] = []): AuthStep {
    this.state = 'done';
    const usingPassword = this.response.authResponse.length > 0 || this.response.authPluginName === CACHING_SHA2_PLUGIN;
    // The user name and database are echoed cut short (clip), to the client and so into the log.
    if (!passwordOk || !this.account) return { kind: 'refuse', error: ProxyErrors.accessDenied(clip(this.response.user), this.context.clientHost, usingPassword) };
    const { database } = this.response;
    if (database !== null && database !== this.account.database) return { kind: 'refuse', error: ProxyErrors.unknownDatabase(clip(database)) };
    return { kind: 'accept', account: this.account, before };
  }
}
