/**
 * TLS contexts built from PEM files (client TLS, and TLS to backends), cached and rebuilt when one of the files
 * changes on disk: a renewed certificate is used by the next connection, without a restart or a reload. The check
 * is a stat per file and per new connection.
 */
import { readFileSync, statSync } from 'node:fs';
import tls from 'node:tls';

export interface PemFiles {
  /** CAs to trust instead of Node's bundled roots. */
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
}

const contexts = new Map<string, { stamp: string; context: tls.SecureContext }>();

/** Throws when a file cannot be read or does not hold what it should. */
export function secureContextFromFiles(files: PemFiles): tls.SecureContext {
  const paths = [files.ca ?? null, files.cert ?? null, files.key ?? null];
  const key = paths.join('\0');
  const stamp = paths
    .map((file) => {
      if (file === null) return '';
      const { ino, size, mtimeMs } = statSync(file);
      return `${ino}:${size}:${mtimeMs}`;
    })
    .join(',');
  const cached = contexts.get(key);
  if (cached && cached.stamp === stamp) return cached.context;
  const read = (file: string | null) => (file === null ? undefined : readFileSync(file));
  const context = tls.createSecureContext({ ca: read(paths[0]), cert: read(paths[1]), key: read(paths[2]) });
  contexts.set(key, { stamp, context });
  return context;
}
