/**
 * The lobby: a logged-in session before `select library`. Connection set-up chatter runs on a lobby server (any
 * library's server), settings are recorded to be carried over to the library connection, a BEGIN waits for that
 * connection, data statements are refused (lobby-policy.ts decides which is which), and admin accounts run
 * admin statements here.
 */
import { ServerStatus } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { encodeOk, type ErrPacket } from '../protocol/generic-packets.js';
import { encodePacket, encodePackets, type Packet } from '../protocol/packet.js';
import { encodeTextResultSet } from '../protocol/result-set.js';
import { classifyLobbyQuery, LobbyAction } from './lobby-policy.js';
import type { SessionHistory } from './session-history.js';
import type { AdminReply, ClientAccount, SessionServices } from './session-services.js';

/** What the lobby needs from its client session. */
export interface LobbyHost {
  readonly services: SessionServices;
  account(): ClientAccount | null;
  isClosed(): boolean;
  /** Resolves when every response forwarded so far has reached the client. */
  waitIdle(): Promise<void>;
  /** Runs a set-up command on a lobby server (acquired on first need), its answer relayed to the client. */
  forwardToLobby(packet: Packet, tag: number): Promise<void>;
  /** Gives the lobby server, if any, back to its pool. */
  releaseBackend(): void;
  currentStatus(): number;
  deprecateEof(): boolean;
  replyOk(sequenceId: number): void;
  replyError(sequenceId: number, error: ProxyError | ErrPacket): void;
  write(bytes: Buffer): void;
}

/** What a session does with statements before routing, and what it keeps meanwhile. */
export class Lobby {
  /** BEGIN sent in the lobby: started on the library connection once one is chosen. */
  pendingBegin: Buffer | null = null;
  /** Status flags for replies made while no backend is attached. */
  status: number = ServerStatus.AUTOCOMMIT;

  constructor(
    private readonly host: LobbyHost,
    /** The session's settings: the lobby records them, the library connection replays them. */
    private readonly history: SessionHistory,
  ) {}

  /** Forgets a pending BEGIN and the lobby's status (a new user, a reset). */
  clear(): void {
    this.pendingBegin = null;
    this.status = ServerStatus.AUTOCOMMIT;
  }

  /** A COM_QUERY before routing that is neither extension SQL nor a KILL of a mysqlda id. */
  async query(sql: string, packet: Packet): Promise<void> {
    const { host } = this;
    const account = host.account();
    if (account?.admin && host.services.admin) {
      await host.waitIdle();
      const reply = await host.services.admin(sql, account.user);
      if (reply) return this.sendAdminReply(reply, packet.sequenceId + 1);
    }
    switch (classifyLobbyQuery(sql)) {
      case LobbyAction.RUN:
        return host.forwardToLobby(packet, 0);
      case LobbyAction.RECORD:
        return host.forwardToLobby(packet, this.history.propose(packet.payload));
      case LobbyAction.BEGIN:
        await host.waitIdle();
        this.pendingBegin = Buffer.from(packet.payload);
        this.status |= ServerStatus.IN_TRANS;
        return host.replyOk(packet.sequenceId + 1);
      case LobbyAction.END_TRANSACTION:
        await host.waitIdle();
        this.pendingBegin = null;
        this.status &= ~ServerStatus.IN_TRANS;
        return host.replyOk(packet.sequenceId + 1);
      case LobbyAction.REJECT:
        await host.waitIdle();
        return host.replyError(packet.sequenceId + 1, ProxyErrors.noLibrarySelected());
    }
  }

  /** COM_RESET_CONNECTION before routing: settings and a pending BEGIN are dropped, the lobby server goes back. */
  async reset(packet: Packet): Promise<void> {
    await this.host.waitIdle();
    // The lobby server goes first: letting it go copies its status flags into the lobby's, which start afresh here.
    this.host.releaseBackend();
    this.history.clear();
    this.clear();
    return this.host.replyOk(packet.sequenceId + 1);
  }

  private sendAdminReply(reply: AdminReply, sequenceId: number): void {
    const { host } = this;
    if (host.isClosed()) return;
    if (reply.kind === 'error') return host.replyError(sequenceId, reply.error);
    if (reply.kind === 'ok') {
      host.write(encodePacket(encodeOk(host.currentStatus(), reply.affectedRows ?? 0), sequenceId));
      return;
    }
    const columns = reply.columns.map((name) => ({ name }));
    host.write(encodePackets(encodeTextResultSet(columns, reply.rows, host.currentStatus(), host.deprecateEof()), sequenceId));
  }
}
