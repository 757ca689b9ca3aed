import { describe, expect, it } from 'vitest';
import type { MysqldaConfig } from '../../src/config/types.js';
import { cachingSha2Digest, generateScramble, nativePasswordHash } from '../../src/protocol/auth.js';
import { sessionAuthContext } from '../../src/session/auth-context.js';
import type { ClientAccount } from '../../src/session/session-services.js';

describe('sessionAuthContext', () => {
  const root: ClientAccount = { user: 'ctx-root', passwordHash: nativePasswordHash('root-pw'), database: 'db', library: null, key: null, admin: true };
  const app: ClientAccount = { user: 'ctx-app', passwordHash: nativePasswordHash('app-pw'), database: 'db', library: null, key: null, admin: false };
  const services = {
    config: () => ({ auth: { user: 'ctx-root', password: 'root-pw' } }) as MysqldaConfig,
    findAccount: (user: string) => [root, app].find((account) => account.user === user),
  };

  it('carries the greeting\'s scramble and the socket\'s TLS state and host', () => {
    const scramble = generateScramble();
    const context = sessionAuthContext(services, scramble, { secure: true, clientHost: '10.0.0.9' });
    expect(context).toMatchObject({ scramble, secure: true, clientHost: '10.0.0.9' });
  });

  it('knows the auth block\'s account for caching_sha2\'s fast path from the first login, and shares the cache between sessions', () => {
    const first = sessionAuthContext(services, generateScramble(), { secure: false, clientHost: 'h' });
    expect(first.findAccount('ctx-app')).toBe(app);
    expect(first.sha2Cache.get(app)).toBeUndefined(); // other accounts prove their password in full first
    expect(first.findAccount('ctx-root')).toBe(root);
    const second = sessionAuthContext(services, generateScramble(), { secure: false, clientHost: 'h' });
    expect(second.sha2Cache).toBe(first.sha2Cache);
    expect(second.sha2Cache.get(root)).toEqual(cachingSha2Digest('root-pw'));
  });
});
