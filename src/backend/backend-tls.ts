/**
 * TLS options for a backend connection, from a server's `tls` setting. The CA, certificate and key files are
 * read once per loaded configuration (a reload reads them again, so rotated files are picked up).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { BackendTlsConfig, ServerConfig } from '../config/types.js';

const contexts = new WeakMap<BackendTlsConfig, tls.SecureContext>();

function secureContextFor(config: BackendTlsConfig): tls.SecureContext {
  let context = contexts.get(config);
  if (!context) {
    const read = (file: string | null) => (file === null ? undefined : readFileSync(file));
    // Without a CA file, Node's bundled root CAs apply (a managed database with a publicly signed certificate).
    context = tls.createSecureContext({ ca: read(config.caFile), cert: read(config.certFile), key: read(config.keyFile) });
    contexts.set(config, context);
  }
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
