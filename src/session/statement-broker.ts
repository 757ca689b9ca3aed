import type { CommandResult } from '../backend/backend-connection.js';
import { Command, MAX_PACKET_PAYLOAD, ServerStatus } from '../protocol/constants.js';
import { Verdict } from '../protocol/command-splitter.js';
import { ProxyErrors } from '../protocol/error-codes.js';
import type { Packet } from '../protocol/packet.js';
import {
  bindPlaceholders,
  countPlaceholders,
  encodePrepareOk,
  parseExecute,
  statementIdOf,
} from '../protocol/prepared-statements.js';
import type { LocalColumn } from '../protocol/result-set.js';
import { parseExtensionSql } from '../routing/extension-sql.js';
import { LocalStatements, type LocalStatement } from './local-statements.js';
import { classifyLobbyQuery, LobbyAction } from './lobby-policy.js';
import { NOTHING, REPLY_OK, replyError, type SessionAction } from './session-action.js';
import type { SessionHistory } from './session-history.js';
import { LAST_PREPARED_STATEMENT_ID, UNUSABLE_STATEMENT_ID, VirtualStatements, type VirtualStatement } from './statement-ids.js';

export const SHOW_LIBRARY_COLUMNS: LocalColumn[] = [{ name: 'library' }, { name: 'key' }, { name: 'server' }];

/**
 * Server-side prepared statements of one session. Clients get statement ids of mysqlda's own: statements the
 * proxy answers itself (extension SQL, lobby settings), and statements prepared on the session's server under a
 * virtual id that is prepared again, lazily, on each new backend connection after a switch of library.
 */
export class StatementBroker {
  private readonly local = new LocalStatements();
  private readonly virtual = new VirtualStatements();

  constructor(
    /** The session's settings: a setting prepared before routing is recorded there when it runs. */
    private readonly history: SessionHistory,
  ) {}

  /** The session moved to another backend connection. */
  backendChanged(): void {
    this.virtual.forgetBackend();
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the server closed every statement. */
  clear(): void {
    this.virtual.clear();
  }

  /** The SQL of the statement prepared on the current backend connection under `backendId`, if the session made it. */
  sqlOfBackendStatement(backendId: number): string | null {
    return this.virtual.findByBackendId(backendId)?.prepare.toString('utf8', 1) ?? null;
  }

  /**
   * The splice's decision for a statement command of a routed session: renamed in place and forwarded (the
   * common case, no copy), or held back for `handle`. Null for commands that are not about statements.
   */
  classify(command: number, buf: Buffer, start: number, headLength: number, payloadLength: number): Verdict | null {
    switch (command) {
      case Command.STMT_PREPARE:
        // Prepared through the proxy, so the client's statement id survives a switch of library.
        return Verdict.INTERCEPT;
      case Command.STMT_EXECUTE:
      case Command.STMT_CLOSE:
      case Command.STMT_RESET:
      case Command.STMT_SEND_LONG_DATA:
      case Command.STMT_FETCH: {
        if (headLength < 5) return Verdict.INTERCEPT;
        const id = buf.readUInt32LE(start + 1);
        if (id === LAST_PREPARED_STATEMENT_ID) return Verdict.FORWARD;
        const statement = this.virtual.get(id);
        if (payloadLength >= MAX_PACKET_PAYLOAD) {
          // A packet of 16 MB or more cannot be held back whole: renamed in place, or sent under an id no server
          // hands out so the server refuses it instead of running another statement.
          buf.writeUInt32LE(statement?.backendId ?? UNUSABLE_STATEMENT_ID, start + 1);
          if (statement && command === Command.STMT_EXECUTE) VirtualStatements.noteTypes(statement, buf, start, headLength);
          return Verdict.FORWARD;
        }
        if (!statement || statement.backendId === null) return Verdict.INTERCEPT;
        buf.writeUInt32LE(statement.backendId, start + 1);
        if (command === Command.STMT_EXECUTE) VirtualStatements.noteTypes(statement, buf, start, headLength);
        else if (command === Command.STMT_CLOSE) this.virtual.delete(id);
        return Verdict.FORWARD;
      }
      default:
        return null;
    }
  }

  /**
   * COM_STMT_PREPARE: extension SQL (anywhere) and, before a library is chosen, settings become statements
   * mysqlda answers itself; other statements are prepared on the session's server (the lobby server for
   * reads before routing); data statements before routing are refused.
   */
  prepare(packet: Packet, routed: boolean, deprecateEof: boolean): SessionAction {
    const sql = packet.payload.toString('utf8', 1);
    const paramCount = countPlaceholders(sql);
    const asExtension = parseExtensionSql(bindPlaceholders(sql, new Array(paramCount).fill('x'), false));
    if (asExtension) {
      if (!asExtension.ok) return replyError(ProxyErrors.invalidExtensionSql(asExtension.message));
      const columns = asExtension.command.kind === 'show_library' ? SHOW_LIBRARY_COLUMNS : [];
      return localPrepareOk(this.local.add({ sql, paramCount, columns, kind: 'extension' }), deprecateEof);
    }
    if (routed) return this.prepareOnBackend(packet);
    switch (classifyLobbyQuery(sql)) {
      case LobbyAction.RUN:
        return this.prepareOnBackend(packet);
      case LobbyAction.RECORD:
        return localPrepareOk(this.local.add({ sql, paramCount, columns: [], kind: 'setting' }), deprecateEof);
      default:
        return replyError(ProxyErrors.noLibrarySelected());
    }
  }

  /** COM_STMT_EXECUTE / SEND_LONG_DATA / CLOSE / RESET / FETCH held back by classify (or sent in the lobby). */
  handle(packet: Packet): SessionAction {
    if (packet.payload.length < 5) return replyError(ProxyErrors.badHandshake());
    const local = this.local.get(statementIdOf(packet.payload));
    return local ? this.runLocal(local, packet) : this.runVirtual(packet);
  }

  /** Prepares on the session's server and answers with a virtual id. */
  private prepareOnBackend(packet: Packet): SessionAction {
    return {
      kind: 'run-aside',
      payload: packet.payload,
      decide: (result: CommandResult) => {
        if (!result.ok) return replyError(result.error ?? ProxyErrors.unknownStatement(0));
        const [prepareOk, ...definitions] = result.packets;
        const statement = this.virtual.add(packet.payload, prepareOk.readUInt16LE(7), prepareOk.readUInt32LE(1));
        const renamed = Buffer.from(prepareOk);
        renamed.writeUInt32LE(statement.id, 1);
        return { kind: 'reply-packets', payloads: [renamed, ...definitions] };
      },
    };
  }

  /**
   * An unknown id, or a statement not yet prepared on this backend connection (the session switched library
   * since): prepared again first, then sent on under its backend id, with its parameter types if the client
   * relies on having sent them before.
   */
  private runVirtual(packet: Packet): SessionAction {
    const command = packet.payload[0];
    const statement = this.virtual.get(statementIdOf(packet.payload));
    const silent = command === Command.STMT_CLOSE || command === Command.STMT_SEND_LONG_DATA;
    if (!statement) return silent ? NOTHING : replyError(ProxyErrors.unknownStatement(statementIdOf(packet.payload)));
    if (command === Command.STMT_CLOSE && statement.backendId === null) {
      this.virtual.delete(statement.id);
      return NOTHING;
    }
    if (statement.backendId !== null) return this.sendVirtual(statement, packet);
    return {
      kind: 'run-aside',
      payload: statement.prepare,
      decide: (result: CommandResult) => {
        if (!result.ok) return silent ? NOTHING : replyError(result.error ?? ProxyErrors.unknownStatement(statement.id));
        statement.backendId = result.packets[0].readUInt32LE(1);
        return this.sendVirtual(statement, packet);
      },
    };
  }

  /** The command under the statement's backend id, to the server. */
  private sendVirtual(statement: VirtualStatement, packet: Packet): SessionAction {
    const command = packet.payload[0];
    let payload: Buffer = Buffer.from(packet.payload);
    payload.writeUInt32LE(statement.backendId!, 1);
    if (command === Command.STMT_EXECUTE) {
      VirtualStatements.noteTypes(statement, payload, 0, payload.length);
      payload = VirtualStatements.withTypes(statement, payload);
    } else if (command === Command.STMT_CLOSE) this.virtual.delete(statement.id);
    return { kind: 'forward', packet: { sequenceId: packet.sequenceId, payload }, tag: 0 };
  }

  /** A statement mysqlda answers itself: extension SQL run with its bound values, or a setting run as text. */
  private runLocal(statement: LocalStatement, packet: Packet): SessionAction {
    const command = packet.payload[0];
    if (command === Command.STMT_CLOSE) {
      this.local.delete(statement.id);
      return NOTHING;
    }
    if (command === Command.STMT_SEND_LONG_DATA) return NOTHING; // no reply, by the protocol
    if (command === Command.STMT_RESET) return REPLY_OK;
    if (command === Command.STMT_FETCH) return replyError(ProxyErrors.noCursor());
    let values: (string | null)[];
    try {
      const request = parseExecute(packet.payload, statement.paramCount, statement.paramTypes);
      statement.paramTypes = request.types;
      values = request.values;
    } catch (err) {
      return replyError(ProxyErrors.invalidExtensionSql((err as Error).message));
    }
    if (statement.kind === 'setting') {
      // Bound with the escaping the server uses once earlier statements have run (NO_BACKSLASH_ESCAPES).
      return {
        kind: 'when-idle',
        decide: (status) => {
          const text = bindPlaceholders(statement.sql, values, !(status & ServerStatus.NO_BACKSLASH_ESCAPES));
          const payload = Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(text, 'utf8')]);
          return { kind: 'forward', packet: { sequenceId: packet.sequenceId, payload }, tag: this.history.propose(payload) };
        },
      };
    }
    const parsed = parseExtensionSql(bindPlaceholders(statement.sql, values, false));
    if (!parsed) return replyError(ProxyErrors.invalidExtensionSql('the bound statement is not a mysqlda statement'));
    if (!parsed.ok) return replyError(ProxyErrors.invalidExtensionSql(parsed.message));
    if (parsed.command.kind === 'show_library') return { kind: 'show-library', binary: true };
    return { kind: 'extension', command: parsed.command };
  }
}

function localPrepareOk(statement: LocalStatement, deprecateEof: boolean): SessionAction {
  return { kind: 'reply-packets', payloads: encodePrepareOk(statement.id, statement.columns, statement.paramCount, deprecateEof) };
}
