import { NATIVE_PASSWORD_PLUGIN, verifyNativePassword } from '../protocol/auth.js';
import { Capability, PROXY_CAPABILITIES } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { Greeting, HandshakeResponse } from '../protocol/handshake.js';
import type { ClientAccount, GreetingTemplate } from './session-services.js';

/** The greeting mysqlda sends: the backends' version and status, only the capabilities mysqlda honours. */
export function buildGreeting(template: GreetingTemplate, connectionId: number, scramble: Buffer): Greeting {
  return {
    serverVersion: template.serverVersion,
    connectionId,
    scramble,
    // LONG_PASSWORD is MariaDB's CLIENT_MYSQL bit: set, it keeps MariaDB-only extensions off (see constants.ts).
    capabilities: ((PROXY_CAPABILITIES & template.capabilities) | Capability.LONG_PASSWORD | Capability.PROTOCOL_41 | Capability.PLUGIN_AUTH | Capability.SECURE_CONNECTION) >>> 0,
    charset: template.charset,
    statusFlags: template.statusFlags,
    authPluginName: NATIVE_PASSWORD_PLUGIN,
  };
}

/** Whether the client answered with a plugin other than mysql_native_password and must be switched. */
export function needsAuthSwitch(response: HandshakeResponse): boolean {
  return (response.capabilities & Capability.PLUGIN_AUTH) !== 0 && response.authPluginName !== null && response.authPluginName !== NATIVE_PASSWORD_PLUGIN;
}

export type AuthOutcome = { ok: true; account: ClientAccount } | { ok: false; error: ProxyError };

/** Checks user, password and the database named at connect, with MySQL's own error codes and wording. */
export function checkLogin(
  response: HandshakeResponse,
  token: Buffer,
  scramble: Buffer,
  account: ClientAccount | undefined,
  clientHost: string,
): AuthOutcome {
  const denied = (): AuthOutcome => ({ ok: false, error: ProxyErrors.accessDenied(response.user, clientHost, token.length > 0) });
  if (!account) return denied();
  if (!verifyNativePassword(token, scramble, account.passwordHash)) return denied();
  if (response.database !== null && response.database !== account.database) {
    return { ok: false, error: ProxyErrors.unknownDatabase(response.database) };
  }
  return { ok: true, account };
}
