/**
 * How a session gets a backend connection: a lobby server (a server of the first library that answers) for its
 * set-up statements, or a connection of its own library with the session's settings, and a BEGIN sent in the
 * lobby, replayed on it before any of the client's statements.
 */
import { BackendError, type BackendConnection, type ConnectionShape } from '../backend/backend-connection.js';
import { classifyConnectFailure } from '../backend/connect-failure.js';
import type { LibraryConfig } from '../config/types.js';
import { Command } from '../protocol/constants.js';
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

/** `onReplica`: a read route served by a replica (false for the current server, also when a read route fell back). */
export type LibraryConnection = { ok: true; connection: BackendConnection; onReplica: boolean } | { ok: false; error: ProxyError | ErrPacket };

/** How the session is carried onto the connection, besides its settings. */
export interface CarryOver {
  /** A read route's lag bound (read-routing.ts): a fresh enough replica, read-only; null: the current server. */
  readMaxLagSeconds: number | null;
  /** The session's LAST_INSERT_ID() on the server it leaves (0: none to carry). */
  lastInsertId?: number;
}

/** Makes a read route's session read-only: a write gets the server's own error, on a replica or on the current server. */
export const READ_ONLY = queryPayload('SET SESSION TRANSACTION READ ONLY');

function queryPayload(sql: string): Buffer {
  return Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql, 'latin1')]);
}

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
  carry: CarryOver = { readMaxLagSeconds: null },
): Promise<LibraryConnection> {
  let connection: BackendConnection;
  let onReplica = false;
  try {
    if (carry.readMaxLagSeconds === null) connection = await services.pools.acquireForLibrary(library, shape);
    else ({ connection, onReplica } = await services.pools.acquireForRead(library, shape, carry.readMaxLagSeconds));
  } catch (err) {
    // A server that answered with an error (too many connections, a user limit) is alive: say what it said.
    if (err instanceof BackendError && err.serverError && classifyConnectFailure(err) === 'answered') {
      return { ok: false, error: ProxyErrors.libraryRefused(library.name, err.server, err.serverError) };
    }
    return { ok: false, error: ProxyErrors.libraryUnavailable(library.name, (err as Error).message) };
  }
  const { pendingBegin } = lobby;
  const replay = [...history.replayList()];
  if (carry.lastInsertId) replay.push(queryPayload(`DO LAST_INSERT_ID(${carry.lastInsertId})`));
  if (carry.readMaxLagSeconds !== null) replay.push(READ_ONLY);
  if (pendingBegin) replay.push(pendingBegin);
  for (const payload of replay) {
    const result = await connection.execute(payload);
    if (!result.ok) {
      void services.pools.release(connection, connection.alive);
      const error: ErrPacket = result.error ?? ProxyErrors.connectionLost('lost connection while applying session settings');
      return { ok: false, error: { ...error, message: `Could not carry the session's settings over to library '${library.name}': ${error.message}` } };
    }
  }
  if (carry.lastInsertId) connection.tracker.lastInsertId = carry.lastInsertId;
  return { ok: true, connection, onReplica };
}
