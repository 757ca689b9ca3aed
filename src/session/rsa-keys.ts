import { generateKeyPairSync } from 'node:crypto';
import type { RsaKeyPair } from './client-auth.js';

let keys: RsaKeyPair | null = null;

/** The process's RSA key pair for caching_sha2_password without TLS, made on first need (once). */
export function processRsaKeys(): RsaKeyPair {
  if (!keys) {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    keys = {
      publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }
  return keys;
}
