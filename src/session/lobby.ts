/**
 * The lobby: a logged-in session before `select library`. Connection set-up chatter runs on a lobby server (any
 * library's server), settings are recorded to be carried over to the library connection, a BEGIN waits for that
 * connection, data statements are refused (lobby-policy.ts decides which is which), and admin accounts run
 * admin statements here.
 */
import { ServerStatus } from '../protocol/constants.js';
import { ProxyErrors } from '../protocol/error-codes.js';
import type { Packet } from '../protocol/packet.js';
import { classifyLobbyQuery, LobbyAction } from './lobby-policy.js';
import { REPLY_OK, replyError, type SessionAction } from './session-action.js';
import type { SessionHistory } from './session-history.js';
import type { AdminReply, ClientAccount, SessionServices } from './session-services.js';

/** What a session does with statements before routing, and what it keeps meanwhile. */
export class Lobby {
  /** BEGIN sent in the lobby: started on the library connection once one is chosen. */
  pendingBegin: Buffer | null = null;
  /** Status flags for replies made while no backend is attached. */
  status: number = ServerStatus.AUTOCOMMIT;

  constructor(
    /** The session's settings: the lobby records them, the library connection replays them. */
    private readonly history: SessionHistory,
  ) {}

  /** Forgets a pending BEGIN and the lobby's status (a new user, a reset). */
  clear(): void {
    this.pendingBegin = null;
    this.status = ServerStatus.AUTOCOMMIT;
  }

  /**
   * A COM_QUERY before routing that is neither extension SQL nor a KILL of a mysqlda id. An admin account's
   * statement goes to the admin module first, once earlier answers are out; what it does not answer follows the
   * lobby policy.
   */
  query(sql: string, packet: Packet, account: ClientAccount | null, services: SessionServices): SessionAction {
    if (!account?.admin || !services.admin) return this.policy(sql, packet);
    return {
      kind: 'when-idle',
      decide: async () => {
        const reply = await services.admin!(sql, account.user);
        return reply ? adminAnswer(reply) : this.policy(sql, packet);
      },
    };
  }

  /** COM_RESET_CONNECTION before routing (the lobby server already given back): settings and a pending BEGIN go. */
  reset(): void {
    this.history.clear();
    this.clear();
  }

  private policy(sql: string, packet: Packet): SessionAction {
    switch (classifyLobbyQuery(sql)) {
      case LobbyAction.RUN:
        return { kind: 'forward', packet, tag: 0 };
      case LobbyAction.RECORD:
        return { kind: 'forward', packet, tag: this.history.propose(packet.payload) };
      case LobbyAction.BEGIN:
        return {
          kind: 'when-idle',
          decide: () => {
            this.pendingBegin = Buffer.from(packet.payload);
            this.status |= ServerStatus.IN_TRANS;
            return REPLY_OK;
          },
        };
      case LobbyAction.END_TRANSACTION:
        return {
          kind: 'when-idle',
          decide: () => {
            this.pendingBegin = null;
            this.status &= ~ServerStatus.IN_TRANS;
            return REPLY_OK;
          },
        };
      case LobbyAction.REJECT:
        return replyError(ProxyErrors.noLibrarySelected());
    }
  }
}

function adminAnswer(reply: AdminReply): SessionAction {
  if (reply.kind === 'error') return replyError(reply.error);
  if (reply.kind === 'ok') return { kind: 'reply-ok', affectedRows: reply.affectedRows ?? 0 };
  return { kind: 'reply-rows', columns: reply.columns.map((name) => ({ name })), rows: reply.rows };
}
