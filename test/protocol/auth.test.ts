import { describe, expect, it } from 'vitest';
import {
  CACHING_SHA2_PLUGIN,
  cachingSha2Token,
  clientAuthToken,
  NATIVE_PASSWORD_PLUGIN,
  nativePasswordToken,
  scramblePassword,
  unscramblePassword,
} from '../../src/protocol/auth.js';

const scramble = Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex');

describe('scramblePassword (caching_sha2_password full authentication, before RSA encryption)', () => {
  it('XORs "password\\0" with the scramble, byte for byte', () => {
    // 'pw\0' = 70 77 00, XOR 01 02 03
    expect(scramblePassword('pw', scramble).toString('hex')).toBe('717503');
  });

  it('is undone by the server side (unscramblePassword), for passwords longer than the scramble too', () => {
    for (const password of ['', 's3cret', 'ü-and-more-than-twenty-bytes-long']) {
      expect(unscramblePassword(scramblePassword(password, scramble), scramble)).toBe(password);
    }
  });
});

describe('clientAuthToken', () => {
  it('answers with the token of the plugin asked for, and null for a plugin mysqlda does not speak', () => {
    expect(clientAuthToken(NATIVE_PASSWORD_PLUGIN, 'calvin', scramble)).toEqual(nativePasswordToken('calvin', scramble));
    expect(clientAuthToken(CACHING_SHA2_PLUGIN, 'calvin', scramble)).toEqual(cachingSha2Token('calvin', scramble));
    expect(clientAuthToken(CACHING_SHA2_PLUGIN, 'calvin', scramble)!.length).toBe(32);
    expect(clientAuthToken('client_ed25519', 'calvin', scramble)).toBeNull();
  });
});
