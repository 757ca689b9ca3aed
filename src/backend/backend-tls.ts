/**
 * TLS options for a backend connection, from a server's `tls` setting. The CA, certificate and key files are read
 * when first needed and again whenever one of them changes on disk (checked at each new backend connection, which
 * pooling makes rare), so a rotated certificate is used without a reload.
 */
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { BackendTlsConfig, ServerConfig } from '../config/types.js';

const contexts = new Map<string, { stamp: string; context: tls.SecureContext }>();

function filesOf(config: BackendTlsConfig): string[] {
  return [config.caFile, config.certFile, config.keyFile].filter((file): file is string => file !== null);
}

function secureContextFor(config: BackendTlsConfig): tls.SecureContext {
  const key = tlsKey(config);
  const stamp = filesOf(config)
    .map((file) => {
      const { ino, size, mtimeMs } = statSync(file);
      return `${ino}:${size}:${mtimeMs}`;
    })
    .join(',');
  const cached = contexts.get(key);
  if (cached && cached.stamp === stamp) return cached.context;
  const read = (file: string | null) => (file === null ? undefined : readFileSync(file));
  // Without a CA file, Node's bundled root CAs apply (a managed database with a publicly signed certificate).
  const context = tls.createSecureContext({ ca: read(config.caFile), cert: read(config.certFile), key: read(config.keyFile) });
  contexts.set(key, { stamp, context });
  return context;
}

/** Options for tls.connect over the server's TCP socket; throws when a configured file cannot be read. */
export function backendTlsOptions(server: ServerConfig & { tls: BackendTlsConfig }, socket: net.Socket): tls.ConnectionOptions {
  const { mode } = server.tls;
  return {
    socket,
    secureContext: secureContextFor(server.tls),
    rejectUnauthorized: mode !== 'required',
    // SNI takes host names only; the identity check below works for both names and addresses.
    servername: net.isIP(server.host) ? undefined : server.host,
    checkServerIdentity: mode === 'verify_identity' ? (_name, cert) => tls.checkServerIdentity(server.host, cert) : () => undefined,
  };
}

/** A short text telling two TLS settings apart (pool keys). */
export function tlsKey(config: BackendTlsConfig | null): string {
  return config === null ? 'tcp' : `tls:${config.mode}:${config.caFile ?? ''}:${config.certFile ?? ''}:${config.keyFile ?? ''}`;
}
