/**
 * What a session's authentication exchanges (its login, and any COM_CHANGE_USER later) work with: the scramble
 * of its greeting, whether its socket is TLS, and the process-wide caching_sha2_password cache and RSA keys.
 */
import { Sha2Cache, type AuthContext } from './client-auth.js';
import { processRsaKeys } from './rsa-keys.js';
import type { SessionServices } from './session-services.js';

/** caching_sha2_password's fast-path cache, shared by every session of the process. */
const sha2Cache = new Sha2Cache();

export function sessionAuthContext(
  services: Pick<SessionServices, 'config' | 'findAccount'>,
  scramble: Buffer,
  connection: { secure: boolean; clientHost: string },
): AuthContext {
  const config = services.config();
  return {
    scramble,
    secure: connection.secure,
    clientHost: connection.clientHost,
    findAccount: (user) => {
      const account = services.findAccount(user);
      // mysqlda's auth block holds the plaintext password: caching_sha2's fast path works from the first login.
      if (account && user === config.auth.user && !sha2Cache.get(account)) sha2Cache.remember(account, config.auth.password);
      return account;
    },
    sha2Cache,
    rsaKeys: processRsaKeys,
  };
}
