import type net from 'node:net';
import tls from 'node:tls';
import type { BackendConnection, CommandResult, ConnectionShape } from '../backend/backend-connection.js';
import type { LibraryConfig } from '../config/types.js';
import { clip, CLIPPED_VALUE_BYTES } from '../log/clip.js';
import { generateScramble } from '../protocol/auth.js';
import { CommandSplitter, Verdict } from '../protocol/command-splitter.js';
import { commandName, isKnownCommand, isPassedCommand } from '../protocol/client-commands.js';
import { Command, MAX_PACKET_PAYLOAD, ServerStatus } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { encodeErr, encodeOk, type ErrPacket } from '../protocol/generic-packets.js';
import { encodePacket, type Packet } from '../protocol/packet.js';
import type { ResponseTracker } from '../protocol/response-tracker.js';
import { mayBeExtensionSql, parseExtensionSql, type ExtensionCommand } from '../routing/extension-sql.js';
import { adoptReadBuffer, ReadBuffer } from '../socket/read-buffer.js';
import { ChangeUserExchange, type ChangeUserHost } from './change-user.js';
import { sessionAuthContext } from './auth-context.js';
import type { AuthContext } from './client-auth.js';
import { ClientLogin, type LoginHost, type LoginResult } from './client-login.js';
import { runExtension, selectLibrary, type ExtensionHost } from './extension-commands.js';
import { isSettingStatement, parseKill, startsWithProxyKeyword } from './lobby-policy.js';
import { acquireLobbyServer, connectLibrary, findLibrary } from './library-connection.js';
import { Lobby, type LobbyHost } from './lobby.js';
import { SessionHistory } from './session-history.js';
import { killByConnectionId, killRunningStatement, type KillHost } from './session-kill.js';
import type { ClientAccount, KillableSession, SessionServices } from './session-services.js';
import { PauseReason, Splice, type SpliceOwner } from './splice.js';
import type { QueryRate } from '../guard/query-rate.js';
import type { SessionRules } from '../guard/sql-rules.js';
import { StatementBroker, type StatementHost } from './statement-broker.js';
import { statementText, type SlowStatement } from './statement-clock.js';
import { LOBBY_LABEL } from '../observability/command-durations.js';

/**
 * The phases of a client session. READY covers both the lobby (no library yet) and the splice; which one is
 * told by `route`.
 */
type Phase =
  /** Greeting, TLS, authentication: see client-login.ts. */
  | { name: 'login'; login: ClientLogin }
  | { name: 'ready' }
  /** COM_CHANGE_USER's authentication exchange, on a ready session: see change-user.ts. */
  | { name: 'changing-user'; exchange: ChangeUserExchange }
  | { name: 'closed' };

/** Response tags (ResponseTracker) that are not settings proposals. */
const TAG_RESET_CONNECTION = -1;

/** Statements longer than this are never extension SQL, so they are never held back to be read whole. */
const MAX_INTERCEPTED_QUERY = 4096;

/** How long a closed session waits for its client to acknowledge the close before dropping the socket. */
const CLOSE_GRACE_MS = 1_000;

/**
 * Bytes a client may send behind a command still being handled before its socket stops being read. Reading on
 * meanwhile lets the session see a client that closes while a command waits; the bound keeps a pipelining
 * client's memory small.
 */
const MAX_HELD_BACKLOG = 65_536;

export interface SessionSummary {
  id: number;
  client: string;
  user: string | null;
  library: string | null;
  key: string | null;
  server: string | null;
  startedAt: number;
  bytesFromClient: number;
  bytesToClient: number;
}

/**
 * One client connection: greeting and authentication, then the lobby (connection set-up chatter answered
 * from a real server, data statements refused), then, after `select library`, the splice onto a pooled
 * backend connection of the key's library, where packets pass untouched and only the start of each client
 * command is looked at.
 *
 * Longer than the style guide's ~400 lines on purpose: what is left here (phases, the command path, routing,
 * COM_CHANGE_USER, moving off a server) all reads and changes the same few fields (phase, backlog, route, the
 * splice), and each part moved out so far needed a host interface about as long as the code it took along. The
 * parts that stand alone live beside it (splice, login, lobby, statement broker, extension commands, KILL).
 */
export class ClientSession implements KillableSession {
  readonly id: number;
  readonly startedAt = Date.now();
  private phase: Phase;
  private readonly scramble = generateScramble();
  private readonly clientAddress: string;
  user: string | null = null;
  /** The kind of refusal that ends the session, for RepeatedFailures (a client can repeat it at will). */
  private refusal: string | null = null;

  private shape: ConnectionShape = { capabilities: 0, charset: 0 };
  /** The capabilities the client and mysqlda agreed on at login. */
  private clientCapabilities = 0;
  private deprecateEof = false;
  /** The backend connection the session is on and the bytes both ways (splice.ts). */
  private readonly splice: Splice;
  private route: { library: string; key: string } | null = null;
  private readonly history = new SessionHistory();
  /** The session as its parts see it (statement broker, lobby, extension SQL, KILL). */
  private readonly host: StatementHost & LobbyHost & ExtensionHost & KillHost & SpliceOwner;
  private readonly broker: StatementBroker;
  private readonly lobby: Lobby;

  private readonly splitter: CommandSplitter;
  private backlog: Buffer | null = null;
  /**
   * Chunks read behind a backlog that is still short of a whole intercepted packet (CommandSplitter's `needed`):
   * joined once when enough has arrived, not copied again with every read.
   */
  private held: { chunks: Buffer[]; bytes: number; needed: number } = { chunks: [], bytes: 0, needed: 0 };
  /** The client socket's reads when not 'data' events (plain TCP): the scratch buffer until routed, then its own. */
  private input: ReadBuffer | null = null;
  /** The backlog is a view of the client socket's reused read buffer (valid until the next read). */
  private backlogBorrowed = false;
  private pumping = false;
  /** The client sent COM_QUIT: nothing more is owed to it. */
  private quitting = false;
  private lastCommandSequence = 0;

  private bytesFromClient = 0;
  private commands = 0;
  /** Traffic already reported to observers (events are per library, emitted when the session leaves it). */
  private reported = { commands: 0, bytesIn: 0, bytesOut: 0 };
  private account: ClientAccount | null = null;
  /** The account's query rate (users[].max_queries_per_second), or null: no check per command. */
  private rate: QueryRate | null = null;
  /** The SQL rules for this account and library, or null: no check per statement. */
  private rules: SessionRules | null = null;
  /** What the client sent and when it was last seen busy, for client_idle_timeout_s (see idleSince). */
  private idleMark = { bytes: -1, since: 0 };
  /** The error for a packet the splitter discards (too large for the lobby, too large to check against rules). */
  private discardError: ProxyError | null = null;

  constructor(
    private socket: net.Socket,
    private readonly services: SessionServices,
    private readonly onClosed: (session: ClientSession) => void,
    greetingDelayMs = 0,
  ) {
    this.id = services.nextConnectionId();
    this.clientAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.splitter = new CommandSplitter(this.classify);
    this.host = new ClientSession.Host(this);
    this.broker = new StatementBroker(this.host);
    this.lobby = new Lobby(this.host, this.history);
    this.splice = new Splice(socket, this.host, services.statementTiming, LOBBY_LABEL);
    socket.setNoDelay(true);
    this.listenToClient(socket);
    const login = new ClientLogin(this.loginHost(), socket, this.scramble);
    this.phase = { name: 'login', login };
    services.events.emit('client-connected', { client: this.clientAddress });
    login.greet(this.id, greetingDelayMs);
  }

  summary(): SessionSummary {
    return {
      id: this.id,
      client: this.clientAddress,
      user: this.user,
      library: this.route?.library ?? null,
      key: this.route?.key ?? null,
      server: this.route && this.backend ? this.backend.address : null,
      startedAt: this.startedAt,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.splice.bytesToClient,
    };
  }

  get closed(): boolean {
    return this.phase.name === 'closed';
  }

  /** Ends the session: the backend goes back to its pool when idle (reset there), else it is destroyed. */
  close(reason: string, level: 'info' | 'warn' = 'info'): void {
    const left = this.phase;
    if (left.name === 'closed') return;
    // A session refused in the middle of a COM_CHANGE_USER was in: it reports its traffic and its end like any other.
    const wasReady = left.name === 'ready' || left.name === 'changing-user';
    this.phase = { name: 'closed' };
    if (left.name === 'login') left.login.stop();
    if (this.account) this.services.frontDoor.leave(this.account.user);
    if (this.relocation) clearTimeout(this.relocation.timer);
    this.splice.clock.stop();
    this.releaseBackend();
    this.splice.releaseWaiters();
    this.backlog = null;
    this.held = { chunks: [], bytes: 0, needed: 0 };
    if (this.quitting && this.socket.writableLength === 0) {
      // After COM_QUIT the client expects nothing more: the socket closes at once, as MySQL's does, without the
      // half-close and the wait for the client's FIN that a refused or failed session needs for its last ERR.
      this.socket.destroy();
    } else if (!this.socket.destroyed) {
      // End politely (a queued ERR still goes out), but never let a silent peer hold the socket open.
      // The timer goes once the socket has closed: a pending timer keeps the whole session alive, and thousands of
      // sessions a second kept for the grace period reach V8's old space, where only a full collection frees them.
      const socket = this.socket;
      const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
      socket.once('close', () => clearTimeout(grace));
      socket.end();
      // A session paused while handling its last command (COM_QUIT) would never read the client's FIN: the socket,
      // with everything it references, would wait out the grace period. Whatever still arrives is dropped.
      socket.resume();
    }
    if (wasReady) {
      this.reportTraffic();
      this.services.events.emit('session-closed', { session: this.id, library: this.route?.library ?? null, durationMs: Date.now() - this.startedAt });
    }
    if (wasReady || level === 'warn') {
      const fields = {
        session: this.id,
        client: this.clientAddress,
        user: this.user,
        library: this.route?.library ?? null,
        durationMs: Date.now() - this.startedAt,
        bytesIn: this.bytesFromClient,
        bytesOut: this.splice.bytesToClient,
      };
      const message = `session closed: ${clip(reason, 4 * CLIPPED_VALUE_BYTES)}`;
      // Refusals and failures before login are the client's to repeat: logged once per address, kind and interval.
      const failures = level === 'warn' && (this.refusal !== null || !wasReady) ? this.services.repeatedFailures : undefined;
      if (failures) failures.report(this.clientAddress.slice(0, this.clientAddress.lastIndexOf(':')), this.refusal ?? message, fields, message);
      else this.services.logger[level](fields, message);
    }
    this.onClosed(this);
  }

  /** Reports the traffic since the last report against the library the session is on. */
  private reportTraffic(): void {
    const { commands, bytesFromClient: bytesIn } = this;
    const bytesOut = this.splice.bytesToClient;
    const delta = { commands: commands - this.reported.commands, bytesIn: bytesIn - this.reported.bytesIn, bytesOut: bytesOut - this.reported.bytesOut };
    this.reported = { commands, bytesIn, bytesOut };
    if (delta.commands || delta.bytesIn || delta.bytesOut) this.services.events.emit('traffic', { library: this.route?.library ?? null, ...delta });
  }

  // ---- the client socket and the login -----------------------------------------------------------

  private listenToClient(socket: net.Socket): void {
    this.readIntoScratch(socket);
    if (this.input === null) socket.on('data', this.onClientData);
    socket.on('error', (err) => this.close(`client socket error: ${err.message}`));
    socket.on('close', () => this.close('client closed the connection'));
  }

  private readonly onClientData = (chunk: Buffer): void => void this.receive(chunk, false);

  /** Client bytes read into a reused buffer (plain TCP). True when a borrowed chunk stays referenced. */
  private readonly onClientRead = (chunk: Buffer, borrowed: boolean): boolean => this.receive(chunk, borrowed);

  /**
   * Until it is routed, a plain TCP client reads into the process-wide scratch buffer and each chunk is copied
   * (login and set-up statements are small): no 64 KB buffer per read, as 'data' events allocate, and none held
   * by an idle client. Only where clients cannot ask for TLS: an upgrade takes the socket's reads over.
   */
  private readIntoScratch(socket: net.Socket): void {
    if (this.services.config().tls === null) this.adoptClientReads(socket, new ReadBuffer().readIntoScratch());
  }

  /** Switches the client socket from 'data' events to `input`; changes nothing where that cannot be done. */
  private adoptClientReads(socket: net.Socket, input: ReadBuffer): void {
    input.setReader(this.onClientRead);
    if (!adoptReadBuffer(socket, input)) return;
    this.input = input;
    socket.off('data', this.onClientData);
    socket.once('close', () => input.release());
  }

  private receive(chunk: Buffer, borrowed: boolean): boolean {
    this.bytesFromClient += chunk.length;
    if (this.phase.name === 'ready') {
      if (this.backlog) {
        const held = this.held;
        if (this.backlog.length + held.bytes + chunk.length < held.needed) {
          held.chunks.push(borrowed ? Buffer.from(chunk) : chunk);
          held.bytes += chunk.length;
          if (this.pumping && this.backlog.length + held.bytes > MAX_HELD_BACKLOG) this.splice.pause(PauseReason.HANDLING_COMMAND);
          return false;
        }
        this.backlog = this.joinHeld(chunk);
        this.backlogBorrowed = false;
      } else {
        this.backlog = chunk;
        this.backlogBorrowed = borrowed;
      }
      this.pump();
      // Bytes behind a command still being handled wait in the backlog; the socket stops reading until it is done.
      // Pausing only then, not for every command handled here, spares two epoll_ctl calls per `select library`.
      if (this.pumping && this.backlog && this.backlog.length > MAX_HELD_BACKLOG) this.splice.pause(PauseReason.HANDLING_COMMAND);
      if (this.backlogBorrowed) {
        // Bytes waiting behind a command handled here outlive this read: they are copied.
        if (this.backlog) this.backlog = Buffer.from(this.backlog);
        this.backlogBorrowed = false;
      }
      // Forwarded bytes still queued for the backend reference the read buffer.
      return borrowed && this.splice.backendHoldsWrites();
    }
    this.onAuthenticationData(borrowed ? Buffer.from(chunk) : chunk);
    return false;
  }

  /** The backlog, the chunks held behind it and `chunk` (if any), as one buffer. */
  private joinHeld(chunk?: Buffer): Buffer {
    const held = this.held;
    const parts = [this.backlog!, ...held.chunks];
    if (chunk) parts.push(chunk);
    this.held = { chunks: [], bytes: 0, needed: 0 };
    return Buffer.concat(parts);
  }

  /** Bytes of the login or of a COM_CHANGE_USER exchange. */
  private onAuthenticationData(chunk: Buffer): void {
    const phase = this.phase;
    if (phase.name === 'login') phase.login.receive(chunk);
    else if (phase.name === 'changing-user') phase.exchange.receive(chunk);
  }

  /** The phase, read without TypeScript's narrowing (handlers called in between may change it). */
  private phaseName(): Phase['name'] {
    return this.phase.name;
  }

  /** The context of a COM_CHANGE_USER's authentication: the greeting's scramble, this socket. */
  private authContext(): AuthContext {
    return sessionAuthContext(this.services, this.scramble, {
      secure: this.socket instanceof tls.TLSSocket,
      clientHost: this.socket.remoteAddress ?? 'unknown',
    });
  }

  /** The login's view of the session (dropped with the login once the client is in). */
  private loginHost(): LoginHost {
    return {
      services: this.services,
      clientAddress: this.clientAddress,
      write: (bytes) => void this.splice.writeClient(bytes),
      refuse: (error, sequenceId, reason) => this.refuseLogin(error, sequenceId, reason),
      close: (reason, level) => this.close(reason, level),
      stopReading: () => {
        this.socket.removeListener('data', this.onClientData);
        this.socket.pause();
      },
      secured: (socket) => {
        this.socket = socket;
        socket.on('data', this.onClientData);
        this.splice.setClient(socket);
      },
      loggedIn: (result) => this.loggedIn(result),
    };
  }

  /** The login accepted the client: the session is ready, in the lobby or (fixed routing) on its library. */
  private loggedIn({ account, capabilities, shape, deprecateEof, sequenceId, pipelined }: LoginResult): void {
    this.clientCapabilities = capabilities;
    this.shape = shape;
    this.deprecateEof = deprecateEof;
    this.account = account;
    this.user = account.user;
    this.refreshGuards();
    this.splice.clock.setTimeout(account.queryTimeoutMs ?? 0);
    this.phase = { name: 'ready' };
    this.services.logger.info({ session: this.id, client: this.clientAddress, user: this.user, tls: this.socket instanceof tls.TLSSocket }, 'session opened');
    this.services.events.emit('session-opened', { session: this.id, user: account.user });
    const { library, key } = account;
    if (library === null && key === null) {
      this.splice.writeClient(encodePacket(encodeOk(this.lobby.status), sequenceId));
    } else {
      // An account with fixed routing is spliced before it hears OK, so its very first statement runs on the library.
      this.pumping = true; // commands pipelined behind the login wait until the session is spliced
      void this.routeAtLogin(library, key, sequenceId).finally(() => {
        this.pumping = false;
        this.splice.unpause(PauseReason.HANDLING_COMMAND);
        this.pump();
      });
    }
    // Commands sent right behind the login (pipelining clients) go to the command path.
    if (this.phaseName() !== 'ready' || pipelined.length === 0) return;
    this.backlog = this.backlog ? Buffer.concat([pipelined, this.backlog]) : pipelined;
    this.pump();
  }

  private async routeAtLogin(library: string | null, key: string | null, sequenceId: number): Promise<void> {
    const routed = key !== null ? await selectLibrary(this.host, key, sequenceId) : await this.routeToLibrary(library!, null, sequenceId);
    if (!routed && !this.closed) this.close('fixed routing of the account failed', 'warn');
  }

  /**
   * Once routed, a plain TCP client is read into one reused buffer instead of a fresh one per 'data' event (the
   * splice's main allocation); clients still in the lobby hold no buffer. TLS sockets, Node versions where this
   * is not possible, and a socket with bytes already buffered keep 'data' events.
   */
  private readIntoReusedBuffer(): void {
    if (this.input !== null) return this.input.ownBuffer();
    if (!(this.socket instanceof tls.TLSSocket)) this.adoptClientReads(this.socket, new ReadBuffer());
  }

  private refuseLogin(error: ProxyError, sequenceId: number, reason: string): void {
    this.services.events.emit('client-rejected', { client: this.clientAddress, reason });
    this.splice.writeClient(encodePacket(encodeErr(error), sequenceId));
    this.refusal = `login refused with error ${error.code}`;
    this.close(reason, 'warn');
  }

  // ---- the command path ------------------------------------------------------------------------

  /** Decides per client packet: pass through to the backend, or handle here (see CommandSplitter). */
  private readonly classify = (buf: Buffer, start: number, headLength: number, payloadLength: number, sequenceId: number): Verdict => {
    const tracker = this.tracker;
    if (tracker?.expectingClientData) {
      if (payloadLength === 0) tracker.clientDataEnded();
      return Verdict.FORWARD;
    }
    if (tracker?.expectingClientAuth) {
      tracker.clientAuthSent();
      return Verdict.FORWARD;
    }
    if (!this.route) {
      const limit = this.services.config().frontDoor.maxLobbyPacketBytes;
      if (payloadLength <= limit) return Verdict.INTERCEPT;
      // Set-up chatter is small: a larger packet is read through, never buffered, and answered with an error.
      this.discardError = ProxyErrors.lobbyPacketTooLarge(limit);
      return Verdict.DISCARD;
    }
    if (headLength === 0 || this.relocation) return Verdict.INTERCEPT;
    // While mysqlda drains, each command is decided in handleCommand: served in a transaction, else refused.
    if (this.draining) return Verdict.INTERCEPT;
    const command = buf[start];
    if (command >= Command.STMT_PREPARE && command <= Command.STMT_FETCH && command !== Command.SET_OPTION) {
      const verdict = this.broker.classify(command, buf, start, headLength, payloadLength);
      if (verdict === Verdict.INTERCEPT) return verdict;
      if (command === Command.STMT_PREPARE && this.rules !== null) {
        const ruled = this.checkRules(buf, start, payloadLength);
        if (ruled !== Verdict.FORWARD) return ruled;
      }
      if (this.rate !== null && !this.rate.tryTake(performance.now())) return Verdict.INTERCEPT;
      this.lastCommandSequence = sequenceId;
      this.commands++;
      this.splice.commandSent(buf, start, payloadLength, 0);
      return Verdict.FORWARD;
    }
    switch (command) {
      case Command.QUERY:
        if (
          payloadLength < MAX_INTERCEPTED_QUERY &&
          (mayBeExtensionSql(buf, start + 1) || startsWithProxyKeyword(buf, start + 1, start + headLength))
        ) {
          return Verdict.INTERCEPT;
        }
        if (this.rules !== null) {
          const ruled = this.checkRules(buf, start, payloadLength);
          if (ruled !== Verdict.FORWARD) return ruled;
        }
        break;
      case Command.INIT_DB:
      case Command.SET_OPTION:
      case Command.QUIT:
      case Command.CHANGE_USER:
      case Command.RESET_CONNECTION:
      case Command.PROCESS_KILL:
        return Verdict.INTERCEPT;
      default:
        // Server-administration commands and unknown codes are answered here, never sent (client-commands.ts).
        if (!isPassedCommand(command)) return Verdict.INTERCEPT;
    }
    if (this.rate !== null && !this.rate.tryTake(performance.now())) return Verdict.INTERCEPT;
    this.lastCommandSequence = sequenceId;
    this.commands++;
    this.splice.commandSent(buf, start, payloadLength, 0);
    return Verdict.FORWARD;
  };

  /**
   * A statement (COM_QUERY, COM_STMT_PREPARE) under SQL rules: FORWARD when it is whole in this read and no rule
   * refuses it (the common case, decided without buffering); INTERCEPT to be checked and answered by
   * handleCommand; DISCARD for a statement of 16 MB or more, which cannot be held to be checked.
   */
  private checkRules(buf: Buffer, start: number, payloadLength: number): Verdict {
    if (payloadLength >= MAX_PACKET_PAYLOAD) {
      this.discardError = ProxyErrors.ruleBlocked('Statement of 16 MB or more refused: too large to check against the SQL rules');
      this.services.events.emit('rule-blocked', { rule: '(too large to check)' });
      return Verdict.DISCARD;
    }
    if (buf.length - start < payloadLength) return Verdict.INTERCEPT;
    return this.rules!.blocking(buf.toString('utf8', start + 1, start + payloadLength)) ? Verdict.INTERCEPT : Verdict.FORWARD;
  }

  /**
   * Moves client bytes on: forwards what passes through, stops at each command handled here. Synchronous on
   * the splice's fast path; only a command handled here (extension SQL, lobby statements) goes asynchronous,
   * and the bytes behind it wait in the backlog until it is done.
   */
  private pump(): void {
    if (this.pumping) return;
    if (this.held.chunks.length > 0) this.backlog = this.joinHeld();
    while (this.backlog && this.phase.name === 'ready') {
      const input = this.backlog;
      const step = this.splitter.split(input);
      if (step.forwardBytes > 0) this.splice.forward(step.forwardBytes === input.length ? input : input.subarray(0, step.forwardBytes));
      this.backlog = step.consumed === input.length ? null : input.subarray(step.consumed);
      this.held.needed = step.needed;
      let handling: Promise<void>;
      if (step.discarded >= 0) {
        handling = this.answerDiscarded(step.discarded);
      } else if (step.command) {
        // The command is handled asynchronously: it must not be a view of a buffer the next read reuses.
        const command = this.backlogBorrowed ? { sequenceId: step.command.sequenceId, payload: Buffer.from(step.command.payload) } : step.command;
        handling = this.handleCommand(command);
      } else if (this.splitter.discarding && this.backlog) {
        continue; // the header of a discarded packet: its body follows in the backlog
      } else {
        return;
      }
      this.pumping = true;
      handling
        .catch((err: unknown) => {
          this.services.logger.error({ session: this.id, err }, 'unexpected error while handling a command');
          this.close(`internal error: ${(err as Error).message}`, 'warn');
        })
        .finally(() => {
          this.pumping = false;
          if (this.draining) void this.endIfIdleWhileDraining();
          this.splice.unpause(PauseReason.HANDLING_COMMAND);
          this.pump();
        });
      return;
    }
  }

  /** A packet the splitter read through without keeping it: answered with the error chosen when it was classified. */
  private async answerDiscarded(sequenceId: number): Promise<void> {
    const error = this.discardError ?? ProxyErrors.noLibrarySelected();
    this.discardError = null;
    await this.splice.waitIdle();
    if (!this.closed) this.replyError(sequenceId + 1, error);
  }

  private async handleCommand(packet: Packet): Promise<void> {
    const { payload } = packet;
    const command = payload.length > 0 ? payload[0] : -1;
    this.commands++;
    if (command === Command.QUIT) return this.quit();
    if (!isPassedCommand(command)) return this.refuseCommand(packet, command);
    if (this.draining && !(await this.admitWhileDraining(packet))) return;
    if (this.rate !== null && !(await this.waitForRate(packet))) return;
    if (this.relocation && !(await this.relocate(packet))) return;
    if (command === Command.QUERY) {
      const sql = payload.toString('utf8', 1);
      const extension = parseExtensionSql(sql);
      if (extension) {
        await this.splice.waitIdle();
        if (this.closed) return;
        if (!extension.ok) return this.replyError(packet.sequenceId + 1, ProxyErrors.invalidExtensionSql(extension.message));
        return runExtension(this.host, extension.command, packet);
      }
      const kill = parseKill(sql);
      if (kill && (await killByConnectionId(this.host, kill, packet))) return;
      if (await this.blockedByRule(sql, packet)) return;
      if (this.route) return this.forward(packet, isSettingStatement(sql) ? this.history.propose(payload) : 0);
      return this.lobby.query(sql, packet);
    }
    if (command === Command.STMT_PREPARE) {
      if (await this.blockedByRule(payload.toString('utf8', 1), packet)) return;
      return this.broker.prepare(packet);
    }
    if (command === Command.PROCESS_KILL) return this.processKill(packet);
    if (command >= Command.STMT_EXECUTE && command <= Command.STMT_FETCH && command !== Command.SET_OPTION) return this.broker.handle(packet);
    switch (command) {
      case Command.INIT_DB:
      case Command.SET_OPTION:
        return this.route ? this.forward(packet, this.history.propose(payload)) : this.forwardToLobby(packet, this.history.propose(payload));
      case Command.RESET_CONNECTION:
        if (this.route) return this.forward(packet, TAG_RESET_CONNECTION);
        return this.lobby.reset(packet);
      case Command.CHANGE_USER:
        return this.changeUser(packet);
      case Command.PING:
        if (this.route) return this.forward(packet, 0);
        await this.splice.waitIdle();
        return this.replyOk(packet.sequenceId + 1);
      case Command.STATISTICS:
        return this.route ? this.forward(packet, 0) : this.forwardToLobby(packet, 0);
      default:
        // Routed sessions reach here only for commands held back by a pending move: they pass through.
        if (this.route) return this.forward(packet, 0);
        await this.splice.waitIdle();
        return this.replyError(packet.sequenceId + 1, ProxyErrors.noLibrarySelected());
    }
  }

  /** A command mysqlda never sends to its servers (client-commands.ts): ERR, and the session goes on. */
  private async refuseCommand(packet: Packet, command: number): Promise<void> {
    await this.splice.waitIdle();
    if (this.closed) return;
    const error = isKnownCommand(command) ? ProxyErrors.commandRefused(commandName(command)) : ProxyErrors.unknownCommand(Math.max(command, 0));
    this.services.logger.warn({ session: this.id, client: this.clientAddress, user: this.user }, `refused ${commandName(Math.max(command, 0))}`);
    this.replyError(packet.sequenceId + 1, error);
  }

  /** COM_PROCESS_KILL: KILL CONNECTION by id, as the text statement (mysqlda's ids; a backend id when routed). */
  private async processKill(packet: Packet): Promise<void> {
    if (packet.payload.length < 5) {
      await this.splice.waitIdle();
      return this.replyError(packet.sequenceId + 1, ProxyErrors.badHandshake());
    }
    const id = packet.payload.readUInt32LE(1);
    if (await killByConnectionId(this.host, { query: false, id }, packet)) return;
    this.forward(packet, 0);
  }

  /**
   * The account's query rate: a command over it waits for its turn (server.max_throttle_ms at most) or is refused
   * with 1226. False when it was refused (or the session closed meanwhile).
   */
  private async waitForRate(packet: Packet): Promise<boolean> {
    const rate = this.rate!;
    const maxWaitMs = this.services.config().frontDoor.maxThrottleMs;
    const waitMs = rate.reserve(performance.now(), maxWaitMs);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (this.closed) return false;
    if (waitMs >= 0) return true;
    this.services.events.emit('client-refused', { reason: 'query_rate' });
    await this.splice.waitIdle();
    if (!this.closed) this.replyError(packet.sequenceId + 1, ProxyErrors.userLimitReached(this.user ?? '', 'max_queries_per_second', rate.perSecond));
    return false;
  }

  /** SQL rules: true when a rule refused the statement (the client has its error). */
  private async blockedByRule(sql: string, packet: Packet): Promise<boolean> {
    const rule = this.rules?.blocking(sql);
    if (!rule) return false;
    this.services.events.emit('rule-blocked', { rule: rule.name });
    await this.splice.waitIdle();
    if (!this.closed) this.replyError(packet.sequenceId + 1, ProxyErrors.ruleBlocked(rule.message));
    return true;
  }

  /** Takes the account's query rate and SQL rules from the front door (login, routing, reload, change of user). */
  refreshGuards(): void {
    const user = this.account?.user;
    this.rate = user === undefined ? null : this.services.frontDoor.rateOf(user);
    this.rules = user === undefined ? null : this.services.frontDoor.rulesFor(user, this.route?.library ?? null);
  }

  /**
   * client_idle_timeout_s, checked by a periodic sweep rather than a timer per command (nothing on the hot path):
   * a session counts as idle from the first sweep that finds no new bytes from its client and no command in
   * progress. Returns true when it closed the session.
   */
  closeIfIdle(now: number, timeoutMs: number): boolean {
    if (this.phase.name !== 'ready') return false;
    const busy = this.pumping || (this.tracker !== null && !this.tracker.idle);
    if (busy || this.bytesFromClient !== this.idleMark.bytes) {
      this.idleMark = { bytes: this.bytesFromClient, since: now };
      return false;
    }
    if (now - this.idleMark.since < timeoutMs) return false;
    // As MySQL after wait_timeout: the connection is closed without a word; the client sees it at its next command.
    this.close(`idle for more than ${Math.round(timeoutMs / 1000)} s (server.client_idle_timeout_s)`);
    return true;
  }

  private async quit(): Promise<void> {
    await this.splice.waitIdle();
    this.quitting = true;
    this.close('client quit');
  }

  // ---- COM_CHANGE_USER ---------------------------------------------------------------------------

  /**
   * COM_CHANGE_USER: a new login checked here, against mysqlda's accounts (change-user.ts). On success the
   * session starts afresh (settings, transaction and temporary tables gone) and stays on its library.
   */
  private async changeUser(packet: Packet): Promise<void> {
    await this.splice.waitIdle();
    if (this.closed) return;
    const login = { capabilities: this.clientCapabilities, charset: this.shape.charset };
    const exchange = ChangeUserExchange.open(this.changeUserHost(), packet, login, this.authContext());
    if (!exchange) return;
    this.phase = { name: 'changing-user', exchange };
    // Auth-switch answers arrive as packets of the exchange, not as commands.
    const early = this.backlog ? this.joinHeld() : null;
    this.backlog = null;
    this.splice.unpause(PauseReason.HANDLING_COMMAND);
    exchange.start(packet.sequenceId + 1);
    if (early) this.onAuthenticationData(early); // already counted in bytesFromClient when it was read
    await exchange.ended;
    this.splice.pause(PauseReason.HANDLING_COMMAND);
  }

  /** The COM_CHANGE_USER exchange's view of the session (dropped with the exchange). */
  private changeUserHost(): ChangeUserHost {
    return {
      services: this.services,
      clientAddress: this.clientAddress,
      write: (bytes) => void this.splice.writeClient(bytes),
      // Not a client turned away before login (client-rejected): the exchange reports the failed authentication.
      refuse: (error, sequenceId, reason) => {
        this.replyError(sequenceId, error);
        this.refusal = `COM_CHANGE_USER refused with error ${error.code}`;
        this.close(reason, 'warn');
      },
      accepted: (account, charset, sequenceId) => this.startAfresh(account, charset, sequenceId),
      // No pump here: the command path resumes when the COM_CHANGE_USER command itself is done.
      requeue: (bytes) => {
        if (bytes.length) this.backlog = this.backlog ? Buffer.concat([bytes, this.backlog]) : bytes;
      },
    };
  }

  /** COM_CHANGE_USER accepted the new user: the session starts afresh, on a clean backend connection. */
  private async startAfresh(account: ClientAccount, charset: number, sequenceId: number): Promise<void> {
    this.phase = { name: 'ready' };
    const previous = this.account;
    this.account = null;
    if (previous) this.services.frontDoor.leave(previous.user);
    const overLimit =
      this.services.frontDoor.checkAccountHost(account.user, this.socket.remoteAddress) ?? this.services.frontDoor.enter(account, this.socket.remoteAddress);
    if (overLimit) {
      this.services.events.emit('client-refused', { reason: overLimit.code === 1130 ? 'host_not_allowed' : 'user_max_connections' });
      this.replyError(sequenceId, overLimit);
      return this.close(`COM_CHANGE_USER to '${account.user}' refused: ${overLimit.message}`, 'warn');
    }
    this.account = account;
    this.user = account.user;
    this.refreshGuards();
    this.splice.clock.setTimeout(account.queryTimeoutMs ?? 0);
    this.history.clear();
    this.broker.clear();
    this.lobby.clear();
    const renewed = await this.renewBackend({ ...this.shape, charset });
    if (renewed) this.replyOk(sequenceId);
    else {
      this.replyError(sequenceId, ProxyErrors.libraryUnavailable(this.route?.library ?? '(lobby)', 'could not reset the backend connection'));
      this.close('backend reset failed after COM_CHANGE_USER', 'warn');
    }
  }

  /** Gives the session a clean backend connection of its library with the given shape (after COM_CHANGE_USER). */
  private async renewBackend(shape: ConnectionShape): Promise<boolean> {
    const current = this.detachBackend();
    const sameShape = shape.charset === this.shape.charset;
    this.shape = shape;
    if (!current) return true;
    if (!this.route) {
      void this.services.pools.release(current.connection, current.idle);
      return true;
    }
    if (sameShape && (await current.connection.reset())) {
      this.attachBackend(current.connection);
      return true;
    }
    void this.services.pools.release(current.connection, current.idle);
    const library = findLibrary(this.services, this.route.library);
    if (!library) return false;
    try {
      this.attachBackend(await this.services.pools.acquireForLibrary(library, shape));
      return true;
    } catch {
      return false;
    }
  }

  // ---- backends: the lobby server, internal commands ------------------------------------------------

  /** A backend to run on: the library's when routed, else a lobby server (acquired on first need). */
  private async ensureBackend(reply: number): Promise<boolean> {
    if (this.backend) return true;
    const connection = await acquireLobbyServer(this.services, this.shape);
    if (this.closed) {
      if (connection) void this.services.pools.release(connection, true);
      return false;
    }
    if (!connection) {
      this.replyError(reply, ProxyErrors.libraryUnavailable('(any)', 'no server answers for set-up statements'));
      return false;
    }
    this.attachBackend(connection);
    return true;
  }

  /**
   * Runs one command on the attached backend for the proxy itself (its answer is not relayed), while the
   * session is idle. Null when the backend was lost (the session is then closed).
   */
  private async runInternal(payload: Buffer): Promise<CommandResult | null> {
    const result = await this.splice.runAside(payload);
    return this.closed ? null : result;
  }

  /** Stops the statement this session's backend is running (on behalf of KILL QUERY from another session). */
  async killQuery(): Promise<void> {
    const backend = this.backend;
    if (!backend || !this.tracker || this.tracker.idle) return;
    await killRunningStatement(this.services, backend, this.id);
  }

  private showLibraryRow(): (string | null)[] {
    return [this.route?.library ?? null, this.route?.key ?? null, this.route && this.backend ? this.backend.address : null];
  }

  /** Sends a whole intercepted command on to the attached backend. */
  private forward(packet: Packet, tag: number): void {
    if (!this.backend || !this.tracker) return;
    this.lastCommandSequence = packet.sequenceId;
    this.splice.commandSent(packet.payload, 0, packet.payload.length, tag);
    this.splice.forward(encodePacket(packet.payload, packet.sequenceId));
  }

  /** Runs a set-up command on a lobby server (any library's server), acquired on first need. */
  private async forwardToLobby(packet: Packet, tag: number): Promise<void> {
    if (!this.backend) {
      const connection = await acquireLobbyServer(this.services, this.shape);
      if (this.closed) {
        if (connection) void this.services.pools.release(connection, true);
        return;
      }
      if (!connection) {
        this.history.settle(tag, false);
        return this.replyError(packet.sequenceId + 1, ProxyErrors.libraryUnavailable('(any)', 'no server answers for set-up statements'));
      }
      this.attachBackend(connection);
    }
    this.forward(packet, tag);
  }

  // ---- moving off a server ---------------------------------------------------------------------

  /** Set when the session must leave its server: move at the next boundary, or give up at the deadline. */
  private relocation: { deadline: number; reason: string; timer: NodeJS.Timeout } | null = null;

  /**
   * The session's server is no longer where its library's sessions belong (removed by reload, failed over,
   * failed back): at its next command outside a transaction the session moves to its library's current server,
   * settings replayed. A session still in a transaction at the deadline is closed: at once if idle, else with
   * ERR 7110 on its next command. Returns whether the session was on one of these servers.
   */
  moveOffServers(addresses: ReadonlySet<string>, graceMs: number, reason = 'its server was removed from the configuration'): boolean {
    if (!this.backend || !this.route || !addresses.has(this.backend.address) || this.relocation) return false;
    const timer = setTimeout(() => this.onRelocationDeadline(), graceMs);
    timer.unref();
    this.relocation = { deadline: Date.now() + graceMs, reason, timer };
    return true;
  }

  private onRelocationDeadline(): void {
    if (!this.relocation || this.closed) return;
    // Idle inside a transaction past the grace period: it would pin the old server, so the session ends here.
    if (this.tracker?.idle && this.tracker.inTransaction && !this.pumping) {
      this.close(`${this.relocation.reason}; transaction still open after the grace period`, 'warn');
    }
  }

  /**
   * Carries out a pending move off a removed server before `packet` is handled. False when the session was
   * closed instead (grace period over inside a transaction, or no server of the library answers).
   */
  private async relocate(packet: Packet): Promise<boolean> {
    await this.splice.waitIdle();
    if (this.closed || !this.relocation || !this.route) return !this.closed;
    if (this.tracker?.inTransaction) {
      // Still in a transaction: this command runs where the transaction is, until the grace period ends.
      if (Date.now() < this.relocation.deadline) return true;
      this.replyError(packet.sequenceId + 1, ProxyErrors.serverLeft(this.route.library, this.relocation.reason));
      this.close(`${this.relocation.reason}; transaction still open after the grace period`, 'warn');
      return false;
    }
    const library = findLibrary(this.services, this.route.library);
    const connection = library ? await this.connectLibrary(library, packet.sequenceId + 1) : null;
    if (!connection) {
      this.close('could not move off a removed server', 'warn');
      return false;
    }
    this.releaseBackend();
    this.attachBackend(connection);
    clearTimeout(this.relocation.timer);
    this.relocation = null;
    this.services.logger.info({ session: this.id, library: this.route.library, server: connection.address }, 'session moved off a removed server');
    return true;
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /** mysqlda is stopping: see drain(). */
  private draining = false;

  /**
   * mysqlda is stopping (SIGTERM, `-a stop`): the session ends at its first command boundary outside a
   * transaction. An answer in flight still reaches the client, a transaction may run to its COMMIT or ROLLBACK,
   * and a new command outside a transaction is refused with ERR 1053. The server ends what is left at its drain
   * timeout (shutDown). A session still logging in, or changing user, ends at once.
   */
  drain(): void {
    if (this.closed || this.draining) return;
    if (this.phase.name !== 'ready') return this.close('mysqlda is shutting down');
    this.draining = true;
    void this.endIfIdleWhileDraining();
  }

  /** Ends the session now (drain timeout): ERR 1053 where the client can read it as an answer, then the close. */
  shutDown(reason: string): void {
    if (this.closed) return;
    const tracker = this.tracker;
    if (tracker?.awaitingResponseStart) this.replyError(this.lastCommandSequence + 1, ProxyErrors.serverShutdown());
    else if (!this.pumping && (!tracker || tracker.idle)) this.replyError(0, ProxyErrors.serverShutdown());
    this.close(reason, 'warn');
  }

  private async endIfIdleWhileDraining(): Promise<void> {
    await this.splice.waitIdle();
    if (this.closed || this.pumping || this.currentStatus() & ServerStatus.IN_TRANS) return;
    // As MySQL 8 does when it closes a connection while stopping: an unsolicited ERR 1053 (sequence 0), then
    // the close. mysql2 reports it as the reason the connection ended; Connector/J reads it as the next answer.
    this.replyError(0, ProxyErrors.serverShutdown());
    this.close('mysqlda is shutting down');
  }

  /** A command while draining: served inside a transaction, else refused with ERR 1053 and the session ends. */
  private async admitWhileDraining(packet: Packet): Promise<boolean> {
    await this.splice.waitIdle();
    if (this.closed) return false;
    if (this.currentStatus() & ServerStatus.IN_TRANS) return true;
    this.replyError(packet.sequenceId + 1, ProxyErrors.serverShutdown());
    this.close('mysqlda is shutting down');
    return false;
  }

  // ---- routing -------------------------------------------------------------------------------

  /** Splices the session onto a backend connection of the library, then answers OK. True when routed. */
  private async routeToLibrary(library: string, key: string | null, reply: number): Promise<boolean> {
    if (this.route?.library === library && this.backend) {
      this.route = { library, key: key ?? this.route.key };
      this.replyOk(reply);
      return true;
    }
    if (this.route && this.tracker?.inTransaction) {
      this.replyError(reply, ProxyErrors.switchInTransaction());
      return false;
    }
    const libraryConfig = findLibrary(this.services, library);
    if (!libraryConfig) {
      this.replyError(reply, ProxyErrors.libraryUnavailable(library, 'the library is not in the configuration'));
      return false;
    }
    const connection = await this.connectLibrary(libraryConfig, reply);
    if (!connection) return false;
    if (this.closed) {
      void this.services.pools.release(connection, true);
      return false;
    }
    this.releaseBackend();
    const left = this.route?.library ?? null;
    this.reportTraffic();
    this.attachBackend(connection);
    this.route = { library, key: key ?? '' };
    this.refreshGuards();
    this.splice.clock.routed(library);
    this.lobby.pendingBegin = null;
    this.readIntoReusedBuffer();
    this.services.logger.info({ session: this.id, key, library, server: connection.address }, 'session routed');
    this.services.events.emit('session-routed', { session: this.id, library, previous: left });
    this.replyOk(reply);
    return true;
  }

  /** A backend connection of the library with the session's settings (and lobby BEGIN) applied, or null after replying ERR. */
  private async connectLibrary(library: LibraryConfig, reply: number): Promise<BackendConnection | null> {
    const connected = await connectLibrary(this.services, library, this.shape, this.history, this.lobby);
    if (connected.ok) return connected.connection;
    this.replyError(reply, connected.error);
    return null;
  }

  // ---- backend attachment and the splice ---------------------------------------------------------

  private attachBackend(connection: BackendConnection): void {
    this.splice.attach(connection);
    this.broker.backendChanged();
  }

  /** Gives the backend, if any, back to its pool (reset there when idle, else destroyed). */
  private releaseBackend(): void {
    const backend = this.detachBackend();
    if (backend) void this.services.pools.release(backend.connection, backend.idle);
  }

  /** Takes the backend off the session; `idle` tells whether it may be pooled again. */
  private detachBackend(): { connection: BackendConnection; idle: boolean } | null {
    if (this.tracker) this.lobby.status = this.tracker.statusFlags;
    return this.splice.detach();
  }

  private get backend(): BackendConnection | null {
    return this.splice.connection;
  }

  private get tracker(): ResponseTracker | null {
    return this.splice.tracker;
  }

  /** A response to a command sent with a tag has ended: a setting to keep, or the client's own reset. */
  private responseEnded(tag: number, ok: boolean): void {
    if (tag === TAG_RESET_CONNECTION) {
      if (ok) {
        this.history.clear();
        this.broker.clear();
      }
      return;
    }
    if (!this.history.settle(tag, ok)) {
      this.services.logger.warn({ session: this.id }, `more than ${this.history.limit} session settings; the oldest are not carried over`);
    }
  }

  /** An answer took at least log.slow_query_ms: one log line. */
  private slowStatement(statement: SlowStatement): void {
    this.services.logger.notice(
      {
        session: this.id,
        user: this.user,
        client: this.clientAddress,
        library: this.route?.library ?? null,
        server: this.backend?.address ?? null,
        durationMs: Math.round(statement.ms * 1000) / 1000,
        bytes: statement.bytes,
        statement: statementText(statement, (id) => this.broker.sqlOfBackendStatement(id)),
      },
      'slow statement',
    );
  }

  /** The statement in flight ran for the account's query_timeout_ms: its server stops it and answers ERR 1317. */
  private statementOverdue(): void {
    const backend = this.backend;
    if (!backend || this.closed) return;
    const limit = this.account?.queryTimeoutMs;
    this.services.logger.notice({ session: this.id, user: this.user, server: backend.address, queryTimeoutMs: limit }, 'statement ran past query_timeout_ms: killing it');
    void killRunningStatement(this.services, backend, this.id);
  }

  /** The backend closed under the session: the client hears why, if it waits for an answer, and the session ends. */
  private backendClosed(connection: BackendConnection): void {
    if (this.closed) return;
    const address = connection.address;
    const library = this.route?.library ?? '(lobby)';
    if (this.tracker?.awaitingResponseStart) {
      this.splice.writeClient(encodePacket(encodeErr(ProxyErrors.backendLost(library, address)), this.lastCommandSequence + 1));
    }
    this.close(`backend ${address} of library ${library}: ${connection.failure ?? 'the server closed the connection'}`, 'warn');
  }

  // ---- replies made here ---------------------------------------------------------------------------

  private currentStatus(): number {
    if (!this.tracker) return this.lobby.status;
    // A BEGIN sent in the lobby waits for the library connection: the lobby server never saw it.
    return this.route === null && this.lobby.pendingBegin ? this.tracker.statusFlags | ServerStatus.IN_TRANS : this.tracker.statusFlags;
  }

  private replyOk(sequenceId: number): void {
    this.splice.writeClient(encodePacket(encodeOk(this.currentStatus()), sequenceId));
  }

  private replyError(sequenceId: number, error: ProxyError | ErrPacket): void {
    this.splice.writeClient(encodePacket(encodeErr(error), sequenceId));
  }

  /**
   * The session's side of its parts' host interfaces. A class rather than an object of arrow functions so that its
   * methods are shared by every session: an idle client costs one small object here, not a closure per method.
   * Declared inside ClientSession, which lets it read the session's private state.
   */
  private static readonly Host = class implements StatementHost, LobbyHost, ExtensionHost, KillHost, SpliceOwner {
    constructor(readonly session: ClientSession) {}
    get services(): SessionServices {
      return this.session.services;
    }
    account(): ClientAccount | null {
      return this.session.account;
    }
    isClosed(): boolean {
      return this.session.closed;
    }
    isRouted(): boolean {
      return this.session.route !== null;
    }
    deprecateEof(): boolean {
      return this.session.deprecateEof;
    }
    currentStatus(): number {
      return this.session.currentStatus();
    }
    waitIdle(): Promise<void> {
      return this.session.splice.waitIdle();
    }
    ensureBackend(reply: number): Promise<boolean> {
      return this.session.ensureBackend(reply);
    }
    releaseBackend(): void {
      this.session.releaseBackend();
    }
    runInternal(payload: Buffer): Promise<CommandResult | null> {
      return this.session.runInternal(payload);
    }
    forward(packet: Packet, tag: number): void {
      this.session.forward(packet, tag);
    }
    forwardToLobby(packet: Packet, tag: number): Promise<void> {
      return this.session.forwardToLobby(packet, tag);
    }
    proposeSetting(payload: Buffer): number {
      return this.session.history.propose(payload);
    }
    runExtension(command: ExtensionCommand, packet: Packet): Promise<void> {
      return runExtension(this, command, packet);
    }
    routeToLibrary(library: string, key: string | null, reply: number): Promise<boolean> {
      return this.session.routeToLibrary(library, key, reply);
    }
    showLibraryRow(): (string | null)[] {
      return this.session.showLibraryRow();
    }
    replyOk(sequenceId: number): void {
      this.session.replyOk(sequenceId);
    }
    replyError(sequenceId: number, error: ProxyError | ErrPacket): void {
      this.session.replyError(sequenceId, error);
    }
    write(bytes: Buffer): void {
      this.session.splice.writeClient(bytes);
    }
    responseEnded(tag: number, ok: boolean): void {
      this.session.responseEnded(tag, ok);
    }
    backendClosed(connection: BackendConnection): void {
      this.session.backendClosed(connection);
    }
    slowStatement(statement: SlowStatement): void {
      this.session.slowStatement(statement);
    }
    statementOverdue(): void {
      this.session.statementOverdue();
    }
  };
}
