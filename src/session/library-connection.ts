/**
 * How a session gets a backend connection: a lobby server (a server of the first library that answers) for its
 * set-up statements, or a connection of its own library with the session's settings, and a BEGIN sent in the
 * lobby, replayed on it before any of the client's statements.
 */
import { BackendError, type BackendConnection, type ConnectionShape } from '../backend/backend-connection.js';
import { classifyConnectFailure } from '../backend/connect-failure.js';
import type { LibraryConfig } from '../config/types.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { ErrPacket } from '../protocol/generic-packets.js';
import type { SessionHistory } from './session-history.js';
import type { SessionServices } from './session-services.js';

/** The library of this name in the live configuration (a reload may have removed it). */
export function findLibrary(services: SessionServices, name: string): LibraryConfig | undefined {
  return services.config().libraries.find((candidate) => candidate.name === name);
}

/** A connection of the first library whose server answers, for set-up statements; null when none does. */
export async function acquireLobbyServer(services: SessionServices, shape: ConnectionShape): Promise<BackendConnection | null> {
  for (const library of services.config().libraries) {
    try {
      return await services.pools.acquireForLibrary(library, shape);
    } catch {
      // try the next library
    }
  }
  return null;
}

export type LibraryConnection = { ok: true; connection: BackendConnection } | { ok: false; error: ProxyError | ErrPacket };

/**
 * A connection of the library with the session's settings, then a pending BEGIN, applied; or the error the client
 * is answered with (no server answers, or the server refused a setting: the connection then goes back).
 */
export async function connectLibrary(
  services: SessionServices,
  library: LibraryConfig,
  shape: ConnectionShape,
  history: SessionHistory,
  lobby: { readonly pendingBegin: Buffer | null },
): Promise<LibraryConnection> {
  let connection: BackendConnection;
  try {
    connection = await services.pools.acquireForLibrary(library, shape);
  } catch (err) {
    // A server that answered with an error (too many connections, a user limit) is alive: say what it said.
    if (err instanceof BackendError && err.serverError && classifyConnectFailure(err) === 'answered') {
      return { ok: false, error: ProxyErrors.libraryRefused(library.name, err.server, err.serverError) };
    }
    return { ok: false, error: ProxyErrors.libraryUnavailable(library.name, (err as Error).message) };
  }
  const { pendingBegin } = lobby;
  const replay = pendingBegin ? [...history.replayList(), pendingBegin] : history.replayList();
  for (const payload of replay) {
    const result = await connection.execute(payload);
    if (!result.ok) {
      void services.pools.release(connection, connection.alive);
      const error: ErrPacket = result.error ?? ProxyErrors.connectionLost('lost connection while applying session settings');
      return { ok: false, error: { ...error, message: `Could not carry the session's settings over to library '${library.name}': ${error.message}` } };
    }
  }
  return { ok: true, connection };
}
