import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';
import type { TlsConfig } from '../config/types.js';

let cached: { stamp: string; context: tls.SecureContext } | null = null;

/**
 * The TLS context for client connections, read from the configured files and read again when they change
 * (a renewed certificate is picked up by new connections without a restart).
 */
export function secureContextFor(config: TlsConfig): tls.SecureContext {
  const stamp = [config.certFile, config.keyFile].map((file) => `${file}@${statSync(file).mtimeMs}`).join('|');
  if (cached?.stamp !== stamp) {
    cached = { stamp, context: tls.createSecureContext({ cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) }) };
  }
  return cached.context;
}
