/**
 * What the session's parts (the lobby, the statement broker, extension SQL, KILL, the guardrails) decide about a
 * command mysqlda handles itself, for ClientSession to carry out: they return a value, one place acts on it.
 * Only commands handled here make one; the splice's forwarded packets never do.
 */
import type { CommandResult } from '../backend/backend-connection.js';
import type { ProxyError } from '../protocol/error-codes.js';
import type { ErrPacket } from '../protocol/generic-packets.js';
import type { Packet } from '../protocol/packet.js';
import type { LocalColumn } from '../protocol/result-set.js';
import type { ExtensionCommand, ReadRequest } from '../routing/extension-sql.js';

export type SessionAction =
  /** Nothing goes to the client (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
  | { kind: 'none' }
  /** The replies: sent once every earlier answer has reached the client, numbered after the command's packet. */
  | { kind: 'reply-ok'; affectedRows?: number }
  | { kind: 'reply-error'; error: ProxyError | ErrPacket }
  /** An answer already made (prepare-OK and its definitions). */
  | { kind: 'reply-packets'; payloads: Buffer[] }
  /** A text result set made here, with the session's status flags. */
  | { kind: 'reply-rows'; columns: LocalColumn[]; rows: (string | number | null)[][] }
  /** `show library`'s one row (library, key, server), in the text or the binary protocol. */
  | { kind: 'show-library'; binary: boolean }
  /** To the session's server (a lobby server before routing), its answer relayed; `tag`: see ResponseTracker. */
  | { kind: 'forward'; packet: Packet; tag: number }
  /** Onto a backend connection of the library, then OK (`key` null: fixed routing by library; `read`: `for read`). */
  | { kind: 'route'; library: string; key: string | null; read?: ReadRequest }
  /** An extension command to run (extension-commands.ts), bound from a prepared statement. */
  | { kind: 'extension'; command: ExtensionCommand }
  /** Decided once every earlier answer has reached the client, from the status flags then. */
  | { kind: 'when-idle'; decide: (status: number) => SessionAction | Promise<SessionAction> }
  /** A command run on the session's server for mysqlda itself (a lobby server is acquired first), then decided. */
  | { kind: 'run-aside'; payload: Buffer; decide: (result: CommandResult) => SessionAction }
  /** The session ends (KILL CONNECTION of its own id). */
  | { kind: 'close'; reason: string };

export const NOTHING: SessionAction = { kind: 'none' };
export const REPLY_OK: SessionAction = { kind: 'reply-ok' };

export function replyError(error: ProxyError | ErrPacket): SessionAction {
  return { kind: 'reply-error', error };
}
