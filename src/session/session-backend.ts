/**
 * The backend side of a client session: the connection it is on (none, a lobby server before routing, or one of
 * its library's), how it gets one and gives it back, and the status flags of the replies mysqlda makes itself.
 * The bytes to and from that connection go through the splice.
 */
import type { BackendConnection, ConnectionShape } from '../backend/backend-connection.js';
import type { LibraryConfig } from '../config/types.js';
import { ServerStatus } from '../protocol/constants.js';
import { acquireLobbyServer, connectLibrary, findLibrary, READ_ONLY, type CarryOver, type LibraryConnection } from './library-connection.js';
import type { Lobby } from './lobby.js';
import type { SessionHistory } from './session-history.js';
import type { SessionServices } from './session-services.js';
import type { Splice } from './splice.js';
import type { StatementBroker } from './statement-broker.js';

/** Response tags (ResponseTracker) that are not settings proposals. */
export const TAG_RESET_CONNECTION = -1;

export class SessionBackend {
  /** What a backend connection must match: the client's stream-shaping capabilities and charset. */
  shape: ConnectionShape = { capabilities: 0, charset: 0 };
  /** The lobby server closed under the idle session: the next one is given the session's settings first. */
  private lobbyLost = false;

  constructor(
    private readonly splice: Splice,
    private readonly services: SessionServices,
    private readonly session: { readonly id: number; readonly closed: boolean },
    private readonly history: SessionHistory,
    private readonly lobby: Lobby,
    private readonly broker: StatementBroker,
  ) {}

  /** The status flags of a reply made here (`routed`: on a library, where no lobby BEGIN waits). */
  status(routed: boolean): number {
    const tracker = this.splice.tracker;
    if (!tracker) return this.lobby.status;
    // A BEGIN sent in the lobby waits for the library connection: the lobby server never saw it.
    return !routed && this.lobby.pendingBegin ? tracker.statusFlags | ServerStatus.IN_TRANS : tracker.statusFlags;
  }

  attach(connection: BackendConnection): void {
    this.splice.attach(connection);
    this.broker.backendChanged();
  }

  /** Gives the connection, if any, back to its pool (reset there when idle, else destroyed). */
  release(): void {
    const backend = this.detach();
    if (backend) void this.services.pools.release(backend.connection, backend.idle);
  }

  /** Gives up a connection whose server closed it: never pooled again (it may still read as alive until 'close'). */
  discard(): void {
    const backend = this.detach();
    if (backend) void this.services.pools.release(backend.connection, false);
  }

  /** Takes the connection off the session (its status flags stay for the lobby's replies); `idle`: whether it may be pooled. */
  detach(): { connection: BackendConnection; idle: boolean } | null {
    if (this.splice.tracker) this.lobby.status = this.splice.tracker.statusFlags;
    return this.splice.detach();
  }

  /**
   * A connection to run on: the one attached, else a lobby server (any library's), acquired now. 'none' when no
   * server answers; 'closed' when the session closed meanwhile (the server goes back).
   */
  async ensure(): Promise<'attached' | 'none' | 'closed'> {
    if (this.splice.connection) return 'attached';
    const connection = await acquireLobbyServer(this.services, this.shape);
    if (this.session.closed) {
      if (connection) void this.services.pools.release(connection, true);
      return 'closed';
    }
    if (!connection) return 'none';
    if (this.lobbyLost && !(await this.replaySettings(connection))) return 'none';
    this.lobbyLost = false;
    this.attach(connection);
    return 'attached';
  }

  /** The lobby server closed while the session was idle (its connection already released). */
  lobbyServerLost(): void {
    this.lobbyLost = true;
  }

  /** Runs the session's settings on a new lobby server; false (the connection goes back) when one fails. */
  private async replaySettings(connection: BackendConnection): Promise<boolean> {
    for (const payload of this.history.replayList()) {
      if ((await connection.execute(payload)).ok) continue;
      void this.services.pools.release(connection, connection.alive);
      return false;
    }
    return true;
  }

  /** A connection of the library with the session's settings (and a lobby BEGIN) applied, or the error to answer. */
  connect(library: LibraryConfig, carry?: CarryOver): Promise<LibraryConnection> {
    return connectLibrary(this.services, library, this.shape, this.history, this.lobby, carry);
  }

  /**
   * After COM_CHANGE_USER: a clean connection with `shape`, of the session's library (null: in the lobby, where
   * the lobby server simply goes back), read-only again for a read route (`readMaxLagSeconds`). False when none
   * could be had.
   */
  async renew(shape: ConnectionShape, library: string | null, readMaxLagSeconds: number | null = null): Promise<boolean> {
    const current = this.detach();
    const sameShape = shape.charset === this.shape.charset;
    this.shape = shape;
    if (!current) return true;
    if (library === null) {
      void this.services.pools.release(current.connection, current.idle);
      return true;
    }
    let connection: BackendConnection | null = null;
    if (sameShape && (await current.connection.reset())) connection = current.connection;
    else void this.services.pools.release(current.connection, current.idle);
    const config = findLibrary(this.services, library);
    if (!connection && config) {
      try {
        connection = readMaxLagSeconds === null
          ? await this.services.pools.acquireForLibrary(config, shape)
          : (await this.services.pools.acquireForRead(config, shape, readMaxLagSeconds)).connection;
      } catch {
        return false;
      }
    }
    if (!connection) return false;
    if (readMaxLagSeconds !== null && !(await connection.execute(READ_ONLY)).ok) {
      void this.services.pools.release(connection, connection.alive);
      return false;
    }
    this.attach(connection);
    return true;
  }

  /** A response to a command sent with a tag has ended: a setting to keep, or the client's own reset. */
  responseEnded(tag: number, ok: boolean): void {
    if (tag === TAG_RESET_CONNECTION) {
      if (ok) {
        this.history.clear();
        this.broker.clear();
      }
      return;
    }
    if (!this.history.settle(tag, ok)) {
      this.services.logger.warn({ session: this.session.id }, `more than ${this.history.limit} session settings; the oldest are not carried over`);
    }
  }
}
