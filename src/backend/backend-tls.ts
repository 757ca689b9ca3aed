/**
 * TLS options for a backend connection, from a server's `tls` setting. The CA, certificate and key files are read
 * again when they change on disk (src/socket/secure-context.ts), so a rotated certificate needs no reload.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { BackendTlsConfig } from '../config/types.js';
import { secureContextFromFiles } from '../socket/secure-context.js';

/** Options for tls.connect over the TCP socket to `host`; throws when a configured file cannot be read. */
export function backendTlsOptions(host: string, config: BackendTlsConfig, socket: net.Socket): tls.ConnectionOptions {
  const { mode } = config;
  return {
    socket,
    // Without a CA file, Node's bundled root CAs apply (a managed database with a publicly signed certificate).
    secureContext: secureContextFromFiles({ ca: config.caFile, cert: config.certFile, key: config.keyFile }),
    rejectUnauthorized: mode !== 'required',
    // SNI takes host names only; the identity check below works for both names and addresses.
    servername: net.isIP(host) ? undefined : host,
    checkServerIdentity: mode === 'verify_identity' ? (_name, cert) => tls.checkServerIdentity(host, cert) : () => undefined,
  };
}

/** A short text telling two TLS settings apart (pool keys). */
export function tlsKey(config: BackendTlsConfig | null): string {
  return config === null ? 'tcp' : `tls:${config.mode}:${config.caFile ?? ''}:${config.certFile ?? ''}:${config.keyFile ?? ''}`;
}
