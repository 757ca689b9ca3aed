import type { ServerConfig } from '../config/types.js';
import type { ErrPacket } from '../protocol/generic-packets.js';

export function serverAddress(server: ServerConfig): string {
  return `${server.host}:${server.port}`;
}

/** A backend connection could not be opened or logged in (connect-failure.ts tells what it says about the server). */
export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    message: string,
    readonly server: string,
    /** The server's own error, when it sent one (e.g. wrong credentials, too many connections). */
    readonly serverError?: ErrPacket,
  ) {
    super(message);
  }
}
