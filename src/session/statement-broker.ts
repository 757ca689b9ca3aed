import type { CommandResult } from '../backend/backend-connection.js';
import { Command, MAX_PACKET_PAYLOAD, ServerStatus } from '../protocol/constants.js';
import { Verdict } from '../protocol/command-splitter.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { ErrPacket } from '../protocol/generic-packets.js';
import { encodePackets, type Packet } from '../protocol/packet.js';
import {
  bindPlaceholders,
  countPlaceholders,
  encodeBinaryResultSet,
  encodePrepareOk,
  parseExecute,
  statementIdOf,
} from '../protocol/prepared-statements.js';
import type { LocalColumn } from '../protocol/result-set.js';
import { parseExtensionSql, type ExtensionCommand } from '../routing/extension-sql.js';
import { LocalStatements, type LocalStatement } from './local-statements.js';
import { classifyLobbyQuery, LobbyAction } from './lobby-policy.js';
import { LAST_PREPARED_STATEMENT_ID, UNUSABLE_STATEMENT_ID, VirtualStatements } from './statement-ids.js';

export const SHOW_LIBRARY_COLUMNS: LocalColumn[] = [{ name: 'library' }, { name: 'key' }, { name: 'server' }];

/** What the broker needs from its client session. */
export interface StatementHost {
  deprecateEof(): boolean;
  isRouted(): boolean;
  currentStatus(): number;
  /** Resolves when every response forwarded so far has reached the client. */
  waitIdle(): Promise<void>;
  /** A backend to run on (a lobby server before routing); false after answering an ERR. */
  ensureBackend(reply: number): Promise<boolean>;
  /** Runs a command on the backend for the proxy itself; null when the backend was lost. */
  runInternal(payload: Buffer): Promise<CommandResult | null>;
  /** Sends a command on to the backend, its answer relayed to the client. */
  forward(packet: Packet, tag: number): void;
  forwardToLobby(packet: Packet, tag: number): Promise<void>;
  /** Proposes a setting to carry over; the tag its response must carry. */
  proposeSetting(payload: Buffer): number;
  runExtension(command: ExtensionCommand, packet: Packet): Promise<void>;
  showLibraryRow(): (string | null)[];
  replyOk(sequenceId: number): void;
  replyError(sequenceId: number, error: ProxyError | ErrPacket): void;
  write(bytes: Buffer): void;
}

/**
 * Server-side prepared statements of one session. Clients get statement ids of mysqlda's own: statements the
 * proxy answers itself (extension SQL, lobby settings), and statements prepared on the session's server under a
 * virtual id that is prepared again, lazily, on each new backend connection after a switch of library.
 */
export class StatementBroker {
  private readonly local = new LocalStatements();
  private readonly virtual = new VirtualStatements();

  constructor(private readonly host: StatementHost) {}

  /** The session moved to another backend connection. */
  backendChanged(): void {
    this.virtual.forgetBackend();
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the server closed every statement. */
  clear(): void {
    this.virtual.clear();
  }

  /** The SQL of the statement prepared on the current backend connection under `backendId`, if this session made it. */
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
  async prepare(packet: Packet): Promise<void> {
    const { host } = this;
    const sql = packet.payload.toString('utf8', 1);
    const reply = packet.sequenceId + 1;
    const paramCount = countPlaceholders(sql);
    const asExtension = parseExtensionSql(bindPlaceholders(sql, new Array(paramCount).fill('x'), false));
    if (asExtension) {
      await host.waitIdle();
      if (!asExtension.ok) return host.replyError(reply, ProxyErrors.invalidExtensionSql(asExtension.message));
      const columns = asExtension.command.kind === 'show_library' ? SHOW_LIBRARY_COLUMNS : [];
      return this.replyLocalPrepare(this.local.add({ sql, paramCount, columns, kind: 'extension' }), reply);
    }
    if (host.isRouted()) return this.prepareOnBackend(packet);
    switch (classifyLobbyQuery(sql)) {
      case LobbyAction.RUN:
        return this.prepareOnBackend(packet);
      case LobbyAction.RECORD:
        await host.waitIdle();
        return this.replyLocalPrepare(this.local.add({ sql, paramCount, columns: [], kind: 'setting' }), reply);
      default:
        await host.waitIdle();
        return host.replyError(reply, ProxyErrors.noLibrarySelected());
    }
  }

  /** COM_STMT_EXECUTE / SEND_LONG_DATA / CLOSE / RESET / FETCH held back by classify (or sent in the lobby). */
  handle(packet: Packet): Promise<void> {
    if (packet.payload.length < 5) {
      this.host.replyError(packet.sequenceId + 1, ProxyErrors.badHandshake());
      return Promise.resolve();
    }
    const local = this.local.get(statementIdOf(packet.payload));
    return local ? this.runLocal(local, packet) : this.runVirtual(packet);
  }

  /** Prepares on the session's server and answers with a virtual id. */
  private async prepareOnBackend(packet: Packet): Promise<void> {
    const { host } = this;
    const reply = packet.sequenceId + 1;
    await host.waitIdle();
    if (!(await host.ensureBackend(reply))) return;
    const result = await host.runInternal(packet.payload);
    if (!result) return;
    if (!result.ok) return host.replyError(reply, result.error ?? ProxyErrors.unknownStatement(0));
    const [prepareOk, ...definitions] = result.packets;
    const statement = this.virtual.add(packet.payload, prepareOk.readUInt16LE(7), prepareOk.readUInt32LE(1));
    const renamed = Buffer.from(prepareOk);
    renamed.writeUInt32LE(statement.id, 1);
    host.write(encodePackets([renamed, ...definitions], reply));
  }

  /**
   * An unknown id, or a statement not yet prepared on this backend connection (the session switched library
   * since): prepared again here, then sent on under its backend id, with its parameter types if the client
   * relies on having sent them before.
   */
  private async runVirtual(packet: Packet): Promise<void> {
    const { host } = this;
    const command = packet.payload[0];
    const reply = packet.sequenceId + 1;
    const statement = this.virtual.get(statementIdOf(packet.payload));
    const silent = command === Command.STMT_CLOSE || command === Command.STMT_SEND_LONG_DATA;
    if (!statement) {
      if (silent) return;
      await host.waitIdle();
      return host.replyError(reply, ProxyErrors.unknownStatement(statementIdOf(packet.payload)));
    }
    if (command === Command.STMT_CLOSE && statement.backendId === null) return this.virtual.delete(statement.id);
    if (statement.backendId === null) {
      await host.waitIdle();
      if (!(await host.ensureBackend(reply))) return;
      const result = await host.runInternal(statement.prepare);
      if (!result) return;
      if (!result.ok) return silent ? undefined : host.replyError(reply, result.error ?? ProxyErrors.unknownStatement(statement.id));
      statement.backendId = result.packets[0].readUInt32LE(1);
    }
    let payload: Buffer = Buffer.from(packet.payload);
    payload.writeUInt32LE(statement.backendId, 1);
    if (command === Command.STMT_EXECUTE) {
      VirtualStatements.noteTypes(statement, payload, 0, payload.length);
      payload = VirtualStatements.withTypes(statement, payload);
    } else if (command === Command.STMT_CLOSE) this.virtual.delete(statement.id);
    host.forward({ sequenceId: packet.sequenceId, payload }, 0);
  }

  /** A statement mysqlda answers itself: extension SQL run with its bound values, or a setting run as text. */
  private async runLocal(statement: LocalStatement, packet: Packet): Promise<void> {
    const { host } = this;
    const reply = packet.sequenceId + 1;
    const command = packet.payload[0];
    if (command === Command.STMT_CLOSE) return this.local.delete(statement.id);
    if (command === Command.STMT_SEND_LONG_DATA) return; // no reply, by the protocol
    await host.waitIdle();
    if (command === Command.STMT_RESET) return host.replyOk(reply);
    if (command === Command.STMT_FETCH) return host.replyError(reply, ProxyErrors.noCursor());
    let values: (string | null)[];
    try {
      const request = parseExecute(packet.payload, statement.paramCount, statement.paramTypes);
      statement.paramTypes = request.types;
      values = request.values;
    } catch (err) {
      return host.replyError(reply, ProxyErrors.invalidExtensionSql((err as Error).message));
    }
    if (statement.kind === 'setting') {
      const text = bindPlaceholders(statement.sql, values, !(host.currentStatus() & ServerStatus.NO_BACKSLASH_ESCAPES));
      const asQuery: Packet = { sequenceId: packet.sequenceId, payload: Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(text, 'utf8')]) };
      const tag = host.proposeSetting(asQuery.payload);
      return host.isRouted() ? host.forward(asQuery, tag) : host.forwardToLobby(asQuery, tag);
    }
    const parsed = parseExtensionSql(bindPlaceholders(statement.sql, values, false));
    if (!parsed) return host.replyError(reply, ProxyErrors.invalidExtensionSql('the bound statement is not a mysqlda statement'));
    if (!parsed.ok) return host.replyError(reply, ProxyErrors.invalidExtensionSql(parsed.message));
    if (parsed.command.kind === 'show_library') {
      host.write(encodePackets(encodeBinaryResultSet(SHOW_LIBRARY_COLUMNS, [host.showLibraryRow()], host.currentStatus(), host.deprecateEof()), reply));
      return;
    }
    return host.runExtension(parsed.command, packet);
  }

  private replyLocalPrepare(statement: LocalStatement, sequenceId: number): void {
    this.host.write(encodePackets(encodePrepareOk(statement.id, statement.columns, statement.paramCount, this.host.deprecateEof()), sequenceId));
  }
}
