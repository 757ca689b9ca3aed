import type net from 'node:net';
import tls from 'node:tls';
import type { BackendConnection } from '../backend/backend-connection.js';
import type { LibraryConfig } from '../config/types.js';
import { clip, CLIPPED_VALUE_BYTES } from '../log/clip.js';
import { generateScramble } from '../protocol/auth.js';
import { CommandSplitter, Verdict } from '../protocol/command-splitter.js';
import { commandName, isKnownCommand, isPassedCommand } from '../protocol/client-commands.js';
import { Command, ServerStatus } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { encodeErr, encodeOk, type ErrPacket } from '../protocol/generic-packets.js';
import { encodePacket, type Packet } from '../protocol/packet.js';
import type { ResponseTracker } from '../protocol/response-tracker.js';
import { mayBeExtensionSql, parseExtensionSql, type ReadRequest } from '../routing/extension-sql.js';
import { ChangeUserExchange, type ChangeUserHost } from './change-user.js';
import { sessionAuthContext } from './auth-context.js';
import { ClientInput, endClientSocket } from './client-input.js';
import { ClientLogin, type LoginHost, type LoginResult } from './client-login.js';
import { runExtension, selectLibrary } from './extension-commands.js';
import { isSettingStatement, parseKill, startsWithProxyKeyword } from './lobby-policy.js';
import { findLibrary } from './library-connection.js';
import { SessionBackend, TAG_RESET_CONNECTION } from './session-backend.js';
import { Lobby } from './lobby.js';
import { replyError, type SessionAction } from './session-action.js';
import { SessionGuards, tooLargeToCheck } from './session-guards.js';
import { SessionHistory } from './session-history.js';
import { killByConnectionId, killRunningStatement } from './session-kill.js';
import type { ClientAccount, KillableSession, SessionServices } from './session-services.js';
import { PauseReason, Splice, type SpliceOwner } from './splice.js';
import { readLagBound } from './read-routing.js';
import { connectWhenAvailable, endRelocation, lostBackendFate, relocationAfterLoss, relocationStep, reportMove, routesAnew, type Relocation } from './session-relocation.js';
import { uncarriedStateOf } from './uncarried-state.js';
import { StatementBroker } from './statement-broker.js';
import { encodeLocalAnswer, type LocalAnswer } from './local-answers.js';
import { logSlowStatement, type SlowStatement } from './statement-clock.js';
import { IdleWatch } from './idle-watch.js';
import { TrafficReport } from './traffic-report.js';
import type { SessionSummary } from './session-summary.js';
import { LOBBY_LABEL } from '../observability/command-durations.js';

/**
 * The phases of a client session; enter() makes every change of phase, with its log line and event.
 *
 *   phase          the client's bytes are                        entered from                   leaves to
 *   login          greeting, TLS, authentication (client-login)  a new connection               lobby, closed
 *   lobby          commands; set-up chatter on a lobby server    login, changing-user           spliced, changing-user, closed
 *   spliced        commands, spliced onto the library's server   lobby, spliced, changing-user  spliced, changing-user, closed
 *   changing-user  COM_CHANGE_USER's exchange (change-user.ts)   lobby, spliced                 the phase it left, closed
 *   closed         dropped                                       any                            -
 *
 * Within lobby and spliced, the command path (CommandPath): reading -> handling -> reading for a command handled
 * here; reading -> discarding -> handling -> reading for a packet too large to keep.
 */
type Phase =
  | { name: 'login'; login: ClientLogin }
  | InLobby
  | Spliced
  | { name: 'changing-user'; exchange: ChangeUserExchange; resume: InLobby | Spliced }
  /** `route`: where the session was, for its last report; `reason` and `level`: its log line. */
  | { name: 'closed'; route: Spliced | null; reason: string; level: 'info' | 'warn' };

type InLobby = { name: 'lobby' };

/**
 * On a library: its key; `read`: a read route's lag bound (read-routing.ts), null for the current server; a pending
 * move to another server (session-relocation.ts).
 */
type Spliced = { name: 'spliced'; library: string; key: string; read: number | null; relocation: Relocation | null };

/**
 * Where the command path of a lobby or spliced session is (MaxScale's RoutingState): reading commands, reading
 * through a packet too large to keep (answered with `error` once it has passed), or handling a command here
 * while what the client sends behind it waits. LOCAL INFILE data and auth exchanges are the tracker's.
 */
type CommandPath = { state: 'reading' } | { state: 'discarding'; error: ProxyError } | { state: 'handling' };

const READING: CommandPath = { state: 'reading' };
const HANDLING: CommandPath = { state: 'handling' };
const LOBBY: InLobby = { name: 'lobby' };

/** Why a lobby server could not be had. */
const NO_LOBBY_SERVER = 'no server answers for set-up statements';

/** Statements longer than this are never extension SQL, so they are never held back to be read whole. */
const MAX_INTERCEPTED_QUERY = 4096;

/**
 * Bytes a client may send behind a command still being handled before its socket stops being read. Reading on
 * meanwhile lets the session see a client that closes while a command waits; the bound keeps a pipelining
 * client's memory small.
 */
const MAX_HELD_BACKLOG = 65_536;

export type { SessionSummary } from './session-summary.js';

/**
 * One client connection: greeting and authentication, then the lobby (connection set-up chatter answered
 * from a real server, data statements refused), then, after `select library`, the splice onto a pooled
 * backend connection of the key's library, where packets pass untouched and only the start of each client
 * command is looked at.
 *
 * The state machine and the carrying out of what its parts decide: the lobby, the statement broker, extension
 * SQL, KILL and the guardrails return a SessionAction, which carryOut() acts on. Longer than the style guide's
 * ~400 lines: the phases, the command path, routing and moving off a server all read and change the same few
 * fields (phase, command path, the splice, the client input), and parting them again would bring back the
 * callback interfaces the returned actions replaced. What stands alone lives beside it (client-input, splice,
 * login, lobby, statement broker, extension commands, KILL, guards, relocation, read routes, uncarried state).
 */
export class ClientSession implements KillableSession {
  readonly id: number;
  readonly startedAt = Date.now();
  /** Set by enter(), which the constructor calls first. */
  private phase!: Phase;
  private path: CommandPath = READING;
  /** mysqlda is stopping (drain()): across phases, since a session in a transaction may still route. */
  private draining = false;
  private readonly scramble = generateScramble();
  private readonly clientAddress: string;
  user: string | null = null;
  /** The kind of refusal that ends the session, for RepeatedFailures (a client can repeat it at will). */
  private refusal: string | null = null;

  /** The capabilities the client and mysqlda agreed on at login. */
  private clientCapabilities = 0;
  private deprecateEof = false;
  /** The backend connection the session is on and the bytes both ways (splice.ts). */
  private readonly splice: Splice;
  private readonly history = new SessionHistory();
  private readonly broker: StatementBroker;
  private readonly lobby: Lobby;
  private readonly guards: SessionGuards;
  /** Which backend connection the session is on, and how it gets one (session-backend.ts). */
  private readonly backendSide: SessionBackend;

  private readonly splitter: CommandSplitter;
  private readonly input: ClientInput;
  private lastCommandSequence = 0;

  private bytesFromClient = 0;
  private commands = 0;
  /** Traffic events are per library, emitted when the session leaves it. */
  private readonly traffic = new TrafficReport();
  private account: ClientAccount | null = null;
  private readonly idleWatch = new IdleWatch();
  /** State the session holds on its server that a new server cannot be given (uncarried-state.ts), or null. */
  private uncarried: string | null = null;

  constructor(
    private socket: net.Socket,
    private readonly services: SessionServices,
    private readonly onClosed: (session: ClientSession) => void,
    greetingDelayMs = 0,
  ) {
    this.id = services.nextConnectionId();
    this.clientAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.splitter = new CommandSplitter(this.classify);
    this.broker = new StatementBroker(this.history);
    this.lobby = new Lobby(this.history);
    this.guards = new SessionGuards(services);
    this.splice = new Splice(socket, new ClientSession.SpliceEvents(this), services.statementTiming, LOBBY_LABEL);
    this.backendSide = new SessionBackend(this.splice, services, this, this.history, this.lobby, this.broker);
    this.input = new ClientInput(this.onClientData, this.onClientRead);
    socket.setNoDelay(true);
    this.input.listen(socket, services.config().tls === null);
    socket.on('error', (err) => this.close(`client socket error: ${err.message}`));
    socket.on('close', () => this.close('client closed the connection'));
    const login = new ClientLogin(this.loginHost(), socket, this.scramble);
    this.enter({ name: 'login', login });
    login.greet(this.id, greetingDelayMs);
  }

  // ---- phases ------------------------------------------------------------------------------------

  /** Every change of phase, with what it tells the log and observers. */
  private enter(next: Phase): void {
    const left: Phase | undefined = this.phase;
    this.phase = next;
    const { logger, events } = this.services;
    switch (next.name) {
      case 'login':
        return void events.emit('client-connected', { client: this.clientAddress });
      case 'lobby':
        if (left?.name !== 'login') return;
        logger.info({ session: this.id, client: this.clientAddress, user: this.user, tls: this.socket instanceof tls.TLSSocket }, 'session opened');
        return void events.emit('session-opened', { session: this.id, user: this.user! });
      case 'spliced': {
        if (left?.name !== 'lobby' && left?.name !== 'spliced') return; // back from a COM_CHANGE_USER
        if (left.name === 'spliced') endRelocation(left.relocation);
        const previous = left.name === 'spliced' ? left.library : null;
        logger.info({ session: this.id, key: next.key || null, library: next.library, server: this.backend?.address }, 'session routed');
        return void events.emit('session-routed', { session: this.id, library: next.library, previous });
      }
      case 'changing-user':
        return;
      case 'closed':
        // A session refused in the middle of a COM_CHANGE_USER was in: it reports its traffic and its end like any other.
        if (left?.name !== 'login') {
          this.reportTraffic();
          events.emit('session-closed', { session: this.id, library: next.route?.library ?? null, durationMs: Date.now() - this.startedAt });
        }
        if (left?.name !== 'login' || next.level === 'warn') this.logClose(next, left?.name !== 'login');
    }
  }

  /** The library the session is on (kept through COM_CHANGE_USER, and for the report of a closed session). */
  private get route(): Spliced | null {
    const phase = this.phase;
    switch (phase.name) {
      case 'spliced':
        return phase;
      case 'changing-user':
        return phase.resume.name === 'spliced' ? phase.resume : null;
      case 'closed':
        return phase.route;
      default:
        return null;
    }
  }

  /** Lobby or spliced: the phases with a command path. */
  private get ready(): boolean {
    const { name } = this.phase;
    return name === 'spliced' || name === 'lobby';
  }

  get closed(): boolean {
    return this.phase.name === 'closed';
  }

  summary(): SessionSummary {
    const route = this.route;
    return {
      id: this.id,
      client: this.clientAddress,
      user: this.user,
      library: route?.library ?? null,
      key: route?.key ?? null,
      server: route && this.backend ? this.backend.address : null,
      startedAt: this.startedAt,
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.splice.bytesToClient,
    };
  }

  /** Ends the session: the backend goes back to its pool when idle (reset there), else it is destroyed. */
  close(reason: string, level: 'info' | 'warn' = 'info', quit = false): void {
    const left = this.phase;
    if (left.name === 'closed') return;
    const route = this.route;
    this.enter({ name: 'closed', route, reason, level });
    if (left.name === 'login') left.login.stop();
    if (this.account) this.services.frontDoor.leave(this.account.user);
    endRelocation(route?.relocation ?? null);
    this.splice.clock.stop();
    this.backendSide.release();
    this.splice.releaseWaiters();
    this.input.clear();
    endClientSocket(this.socket, quit);
    this.onClosed(this);
  }

  private logClose({ reason, level }: { reason: string; level: 'info' | 'warn' }, wasIn: boolean): void {
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
    const failures = level === 'warn' && (this.refusal !== null || !wasIn) ? this.services.repeatedFailures : undefined;
    if (failures) failures.report(this.clientAddress.slice(0, this.clientAddress.lastIndexOf(':')), this.refusal ?? message, fields, message);
    else this.services.logger[level](fields, message);
  }

  /** Reports the traffic since the last report against the library the session is on. */
  private reportTraffic(): void {
    this.traffic.report(this.services.events, this.route?.library ?? null, this.commands, this.bytesFromClient, this.splice.bytesToClient);
  }

  // ---- the client socket and the login -----------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => void this.receive(chunk, false);

  /** Client bytes read into a reused buffer (plain TCP). True when a borrowed chunk stays referenced. */
  private readonly onClientRead = (chunk: Buffer, borrowed: boolean): boolean => this.receive(chunk, borrowed);

  private receive(chunk: Buffer, borrowed: boolean): boolean {
    this.bytesFromClient += chunk.length;
    if (this.ready) {
      const input = this.input;
      const handling = this.path === HANDLING;
      if (!input.add(chunk, borrowed)) {
        if (handling && input.waiting > MAX_HELD_BACKLOG) this.splice.pause(PauseReason.HANDLING_COMMAND);
        return false;
      }
      this.pump();
      // Bytes behind a command still being handled wait in the backlog; the socket stops reading until it is done.
      // Pausing only then, not for every command handled here, spares two epoll_ctl calls per `select library`.
      if (this.path === HANDLING && input.waiting > MAX_HELD_BACKLOG) this.splice.pause(PauseReason.HANDLING_COMMAND);
      input.keep();
      // Forwarded bytes still queued for the backend reference the read buffer.
      return borrowed && this.splice.backendHoldsWrites();
    }
    this.onAuthenticationData(borrowed ? Buffer.from(chunk) : chunk);
    return false;
  }

  /** Bytes of the login or of a COM_CHANGE_USER exchange. */
  private onAuthenticationData(chunk: Buffer): void {
    const phase = this.phase;
    if (phase.name === 'login') phase.login.receive(chunk);
    else if (phase.name === 'changing-user') phase.exchange.receive(chunk);
  }

  /**
   * The login's view of the session (dropped with the login once the client is in). A host rather than a returned
   * action: the login is driven by the client's packets over several reads and by TLS events, and its calls are
   * the ends of that exchange, not answers to a call of the session's.
   */
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

  /** The login accepted the client: the session is in the lobby, and (fixed routing) goes on to its library. */
  private loggedIn({ account, capabilities, shape, deprecateEof, sequenceId, pipelined }: LoginResult): void {
    this.clientCapabilities = capabilities;
    this.backendSide.shape = shape;
    this.deprecateEof = deprecateEof;
    this.account = account;
    this.user = account.user;
    this.refreshGuards();
    this.splice.clock.setTimeout(account.queryTimeoutMs ?? 0);
    this.enter(LOBBY);
    const { library, key } = account;
    if (library === null && key === null) {
      this.splice.writeClient(encodePacket(encodeOk(this.lobby.status), sequenceId));
    } else {
      // An account with fixed routing is spliced before it hears OK, so its very first statement runs on the library.
      this.path = HANDLING; // commands pipelined behind the login wait until the session is spliced
      void this.routeAtLogin(library, key, sequenceId).finally(() => this.handled());
    }
    // Commands sent right behind the login (pipelining clients) go to the command path.
    if (!this.ready || pipelined.length === 0) return;
    this.input.unshift(pipelined);
    this.pump();
  }

  private async routeAtLogin(library: string | null, key: string | null, sequenceId: number): Promise<void> {
    const action: SessionAction = key !== null ? await selectLibrary(this.services, this.id, key) : { kind: 'route', library: library!, key: null };
    let routed = false;
    if (this.closed) return;
    if (action.kind === 'route') routed = await this.routeToLibrary(action.library, action.key, sequenceId);
    else await this.carryOut(action, sequenceId);
    if (!routed && !this.closed) this.close('fixed routing of the account failed', 'warn');
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
    const phase = this.phase;
    if (phase.name !== 'spliced') {
      const limit = this.services.config().frontDoor.maxLobbyPacketBytes;
      if (payloadLength <= limit) return Verdict.INTERCEPT;
      // Set-up chatter is small: a larger packet is read through, never buffered, and answered with an error.
      return this.discard(ProxyErrors.lobbyPacketTooLarge(limit));
    }
    if (headLength === 0 || phase.relocation) return Verdict.INTERCEPT;
    // While mysqlda drains, each command is decided in handleCommand: served in a transaction, else refused.
    if (this.draining) return Verdict.INTERCEPT;
    const command = buf[start];
    const { guards } = this;
    if (command >= Command.STMT_PREPARE && command <= Command.STMT_FETCH && command !== Command.SET_OPTION) {
      const verdict = this.broker.classify(command, buf, start, headLength, payloadLength);
      if (verdict === Verdict.INTERCEPT) return verdict;
      if (command === Command.STMT_PREPARE && guards.rules !== null) {
        const ruled = guards.checkRules(buf, start, payloadLength);
        if (ruled !== Verdict.FORWARD) return ruled === Verdict.DISCARD ? this.discard(tooLargeToCheck()) : ruled;
      }
      if (guards.rate !== null && !guards.rate.tryTake(performance.now())) return Verdict.INTERCEPT;
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
        if (guards.rules !== null) {
          const ruled = guards.checkRules(buf, start, payloadLength);
          if (ruled !== Verdict.FORWARD) return ruled === Verdict.DISCARD ? this.discard(tooLargeToCheck()) : ruled;
        }
        // Once marked, the session stays marked until a reset: no more scanning.
        if (this.uncarried === null) this.uncarried = uncarriedStateOf(buf, start + 1, Math.min(start + payloadLength, buf.length));
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
    if (guards.rate !== null && !guards.rate.tryTake(performance.now())) return Verdict.INTERCEPT;
    this.lastCommandSequence = sequenceId;
    this.commands++;
    this.splice.commandSent(buf, start, payloadLength, 0);
    return Verdict.FORWARD;
  };

  /** A packet read through without being kept, to be answered with `error` once it has passed. */
  private discard(error: ProxyError): Verdict {
    this.path = { state: 'discarding', error };
    return Verdict.DISCARD;
  }

  /**
   * Moves client bytes on: forwards what passes through, stops at each command handled here. Synchronous on
   * the splice's fast path; only a command handled here (extension SQL, lobby statements) goes asynchronous,
   * and the bytes behind it wait in the backlog until it is done.
   */
  private pump(): void {
    if (this.path === HANDLING) return;
    const input = this.input;
    input.gather();
    while (input.backlog && this.ready) {
      const bytes = input.backlog;
      const step = this.splitter.split(bytes);
      if (step.forwardBytes > 0) this.splice.forward(step.forwardBytes === bytes.length ? bytes : bytes.subarray(0, step.forwardBytes));
      input.backlog = step.consumed === bytes.length ? null : bytes.subarray(step.consumed);
      input.needed = step.needed;
      let handling: Promise<void>;
      if (step.discarded >= 0) {
        const path = this.path;
        handling = this.answerDiscarded(path.state === 'discarding' ? path.error : ProxyErrors.noLibrarySelected(), step.discarded);
      } else if (step.command) {
        // The command is handled asynchronously: it must not be a view of a buffer the next read reuses.
        const command = input.borrowed ? { sequenceId: step.command.sequenceId, payload: Buffer.from(step.command.payload) } : step.command;
        handling = this.handleCommand(command);
      } else if (this.splitter.discarding && input.backlog) {
        continue; // the header of a discarded packet: its body follows in the backlog
      } else {
        return;
      }
      this.path = HANDLING;
      handling
        .catch((err: unknown) => {
          this.services.logger.error({ session: this.id, err }, 'unexpected error while handling a command');
          this.close(`internal error: ${(err as Error).message}`, 'warn');
        })
        .finally(() => this.handled());
      return;
    }
  }

  /** A command handled here is done: the command path reads on. */
  private handled(): void {
    this.path = READING;
    if (this.draining) void this.endIfIdleWhileDraining();
    this.splice.unpause(PauseReason.HANDLING_COMMAND);
    this.pump();
  }

  /** A packet the splitter read through without keeping it: answered with the error chosen when it was classified. */
  private async answerDiscarded(error: ProxyError, sequenceId: number): Promise<void> {
    await this.splice.waitIdle();
    if (!this.closed) this.replyError(sequenceId + 1, error);
  }

  private async handleCommand(packet: Packet): Promise<void> {
    const action = await this.dispatch(packet);
    if (action) await this.carryOut(action, packet.sequenceId + 1);
  }

  /**
   * What a command handled here comes to. The session's own commands (quit, change of user, reset, a move or a
   * drain in progress) are done here and come to null; the rest is decided by the session's parts.
   */
  private async dispatch(packet: Packet): Promise<SessionAction | null> {
    const { payload } = packet;
    const command = payload.length > 0 ? payload[0] : -1;
    this.commands++;
    if (command === Command.QUIT) return this.quit();
    if (!isPassedCommand(command)) return this.refuseCommand(command);
    if (this.draining && !(await this.admitWhileDraining(packet))) return null;
    if (this.guards.rate !== null) {
      const refused = await this.guards.throttle(this.user ?? '');
      if (this.closed) return null;
      if (refused) return refused;
    }
    const relocation = this.route?.relocation;
    if (relocation && !routesAnew(relocation, payload) && !(await this.relocate(packet))) return null;
    const routed = this.route !== null;
    if (command === Command.QUERY) return this.query(packet);
    if (command === Command.STMT_PREPARE) {
      this.uncarried ??= uncarriedStateOf(payload, 1, payload.length);
      return this.guards.blocked(payload.toString('utf8', 1)) ?? this.broker.prepare(packet, routed, this.deprecateEof);
    }
    if (command === Command.PROCESS_KILL) {
      if (payload.length < 5) return replyError(ProxyErrors.badHandshake());
      const passOn: SessionAction = { kind: 'forward', packet, tag: 0 };
      return this.kill({ query: false, id: payload.readUInt32LE(1) }, passOn) ?? passOn;
    }
    if (command >= Command.STMT_EXECUTE && command <= Command.STMT_FETCH && command !== Command.SET_OPTION) return this.broker.handle(packet);
    switch (command) {
      case Command.INIT_DB:
      case Command.SET_OPTION:
        return { kind: 'forward', packet, tag: this.history.propose(payload) };
      case Command.RESET_CONNECTION:
        if (routed) return { kind: 'forward', packet, tag: TAG_RESET_CONNECTION };
        return this.resetInLobby(packet);
      case Command.CHANGE_USER:
        return this.changeUser(packet);
      case Command.PING:
        return routed ? { kind: 'forward', packet, tag: 0 } : { kind: 'reply-ok' };
      case Command.STATISTICS:
        return { kind: 'forward', packet, tag: 0 };
      default:
        // Routed sessions reach here only for commands held back by a pending move: they pass through.
        return routed ? { kind: 'forward', packet, tag: 0 } : replyError(ProxyErrors.noLibrarySelected());
    }
  }

  /** COM_QUERY handled here: extension SQL, KILL of a mysqlda id, SQL rules, then the library's or the lobby's. */
  private query(packet: Packet): SessionAction {
    const sql = packet.payload.toString('utf8', 1);
    const extension = parseExtensionSql(sql);
    if (extension) return extension.ok ? { kind: 'extension', command: extension.command } : replyError(ProxyErrors.invalidExtensionSql(extension.message));
    const kill = parseKill(sql);
    const killed = kill && this.kill(kill, { kind: 'forward', packet, tag: 0 });
    if (killed) return killed;
    const blocked = this.guards.blocked(sql);
    if (blocked) return blocked;
    if (this.route) {
      this.uncarried ??= uncarriedStateOf(packet.payload, 1, packet.payload.length);
      return { kind: 'forward', packet, tag: isSettingStatement(sql) ? this.history.propose(packet.payload) : 0 };
    }
    return this.lobby.query(sql, packet, this.account, this.services);
  }

  private kill(request: { query: boolean; id: number }, passOn: SessionAction): SessionAction | null {
    return killByConnectionId(this.services, { session: this, admin: this.account?.admin ?? false, routed: this.route !== null }, request, passOn);
  }

  /** A command mysqlda never sends to its servers (client-commands.ts): ERR, and the session goes on. */
  private refuseCommand(command: number): SessionAction {
    const error = isKnownCommand(command) ? ProxyErrors.commandRefused(commandName(command)) : ProxyErrors.unknownCommand(Math.max(command, 0));
    return {
      kind: 'when-idle',
      decide: () => {
        this.services.logger.warn({ session: this.id, client: this.clientAddress, user: this.user }, `refused ${commandName(Math.max(command, 0))}`);
        return replyError(error);
      },
    };
  }

  /** COM_RESET_CONNECTION before routing: the lobby server goes back (its status flags with it), the lobby starts afresh. */
  private async resetInLobby(packet: Packet): Promise<SessionAction | null> {
    await this.splice.waitIdle();
    this.backendSide.release();
    this.lobby.reset();
    this.replyOk(packet.sequenceId + 1);
    return null;
  }

  private async quit(): Promise<null> {
    await this.splice.waitIdle();
    this.close('client quit', 'info', true);
    return null;
  }

  /** Carries out what a part of the session decided about a command; `reply` is the answer's sequence id. */
  private async carryOut(action: SessionAction, reply: number): Promise<void> {
    if (this.closed) return;
    switch (action.kind) {
      case 'none':
        return;
      case 'forward':
        return this.route ? this.forward(action.packet, action.tag) : this.forwardToLobby(action.packet, action.tag);
      case 'route':
        return void (await this.routeToLibrary(action.library, action.key, reply, action.read));
      case 'extension':
        await this.splice.waitIdle();
        if (this.closed) return;
        return this.carryOut(await runExtension(this.services, this.id, action.command), reply);
      case 'when-idle':
        await this.splice.waitIdle();
        if (this.closed) return;
        return this.carryOut(await action.decide(this.currentStatus()), reply);
      case 'run-aside': {
        await this.splice.waitIdle();
        if (this.closed || !(await this.ensureBackend(reply))) return;
        const result = await this.splice.runAside(action.payload);
        if (result && !this.closed) return this.carryOut(action.decide(result), reply);
        return;
      }
      case 'close':
        return this.close(action.reason);
      default:
        await this.splice.waitIdle();
        if (!this.closed) this.answer(action, reply);
    }
  }

  /** The answers made here. */
  private answer(action: LocalAnswer, reply: number): void {
    const context = { status: this.currentStatus(), deprecateEof: this.deprecateEof, route: () => this.showLibraryRow() };
    this.splice.writeClient(encodeLocalAnswer(action, reply, context));
  }

  /** client_idle_timeout_s (idle-watch.ts): true when it closed the session. */
  closeIfIdle(now: number, timeoutMs: number): boolean {
    if (!this.ready) return false;
    const busy = this.path === HANDLING || (this.tracker !== null && !this.tracker.idle);
    if (!this.idleWatch.expired(now, timeoutMs, this.bytesFromClient, busy)) return false;
    // As MySQL after wait_timeout: the connection is closed without a word; the client sees it at its next command.
    this.close(`idle for more than ${Math.round(timeoutMs / 1000)} s (server.client_idle_timeout_s)`);
    return true;
  }

  /** Takes the account's query rate and SQL rules from the front door (login, routing, reload, change of user). */
  refreshGuards(): void {
    this.guards.refresh(this.account?.user, this.route?.library ?? null);
  }

  // ---- COM_CHANGE_USER ---------------------------------------------------------------------------

  /**
   * COM_CHANGE_USER: a new login checked here, against mysqlda's accounts (change-user.ts). On success the
   * session starts afresh (settings, transaction and temporary tables gone) and stays on its library.
   */
  private async changeUser(packet: Packet): Promise<null> {
    await this.splice.waitIdle();
    const phase = this.phase;
    if (phase.name !== 'lobby' && phase.name !== 'spliced') return null;
    const login = { capabilities: this.clientCapabilities, charset: this.backendSide.shape.charset };
    const exchange = ChangeUserExchange.open(this.changeUserHost(), packet, login, this.authContext());
    if (!exchange) return null;
    this.enter({ name: 'changing-user', exchange, resume: phase });
    // Auth-switch answers arrive as packets of the exchange, not as commands.
    const early = this.input.takeAll();
    this.splice.unpause(PauseReason.HANDLING_COMMAND);
    exchange.start(packet.sequenceId + 1);
    if (early) this.onAuthenticationData(early); // already counted in bytesFromClient when it was read
    await exchange.ended;
    this.splice.pause(PauseReason.HANDLING_COMMAND);
    return null;
  }

  /** The context of a COM_CHANGE_USER's authentication: the greeting's scramble, this socket. */
  private authContext() {
    return sessionAuthContext(this.services, this.scramble, {
      secure: this.socket instanceof tls.TLSSocket,
      clientHost: this.socket.remoteAddress ?? 'unknown',
    });
  }

  /**
   * The COM_CHANGE_USER exchange's view of the session (dropped with the exchange). A host, as for the login:
   * the exchange reads the client's packets over several reads and ends by calling one of these.
   */
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
      requeue: (bytes) => this.input.unshift(bytes),
    };
  }

  /** COM_CHANGE_USER accepted the new user: the session starts afresh, on a clean backend connection. */
  private async startAfresh(account: ClientAccount, charset: number, sequenceId: number): Promise<void> {
    const phase = this.phase;
    if (phase.name === 'changing-user') this.enter(phase.resume);
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
    this.uncarried = null;
    const route = this.route;
    const renewed = await this.backendSide.renew({ ...this.backendSide.shape, charset }, route?.library ?? null, route?.read ?? null);
    if (renewed) this.replyOk(sequenceId);
    else {
      this.replyError(sequenceId, ProxyErrors.libraryUnavailable(this.route?.library ?? '(lobby)', 'could not reset the backend connection'));
      this.close('backend reset failed after COM_CHANGE_USER', 'warn');
    }
  }

  // ---- moving off a server (session-relocation.ts) ---------------------------------------------------

  /**
   * The session's server is no longer where its library's sessions belong (removed by reload, failed over,
   * failed back): at its next command outside a transaction the session moves to its library's current server,
   * settings replayed. A session still in a transaction at the deadline is closed: at once if idle, else with
   * ERR 7110 on its next command. Returns whether the session was on one of these servers.
   */
  moveOffServers(addresses: ReadonlySet<string>, graceMs: number, reason = 'its server was removed from the configuration'): boolean {
    const route = this.route;
    if (!this.backend || !route || this.closed || !addresses.has(this.backend.address) || route.relocation) return false;
    const timer = setTimeout(() => this.onRelocationDeadline(), graceMs);
    timer.unref();
    route.relocation = { kind: 'leave', deadline: Date.now() + graceMs, reason, timer };
    return true;
  }

  private onRelocationDeadline(): void {
    const relocation = this.route?.relocation;
    if (relocation?.kind !== 'leave' || this.closed) return;
    // Idle inside a transaction past the grace period: it would pin the old server, so the session ends here.
    if (this.tracker?.idle && this.tracker.inTransaction && this.path !== HANDLING) {
      this.close(`${relocation.reason}; transaction still open after the grace period`, 'warn');
    }
  }

  /**
   * Carries out a pending move before `packet` is handled. False when the command is answered here instead: the
   * session closed (grace period over inside a transaction, state that could not be carried, the library gone),
   * or, for a session whose server died, no server of the library could be had in time (7106; the next command
   * tries again).
   */
  private async relocate(packet: Packet): Promise<boolean> {
    await this.splice.waitIdle();
    const route = this.route;
    const relocation = route?.relocation;
    if (this.closed || !route || !relocation) return !this.closed;
    const library = findLibrary(this.services, route.library);
    const { tracker } = this;
    const facts = { library: route.library, read: route.read, configured: library !== undefined, inTransaction: tracker?.inTransaction ?? false };
    const step = relocationStep(relocation, { ...facts, lastInsertId: tracker?.lastInsertId ?? 0, connectTimeoutMs: this.services.config().pool.connectTimeoutMs, now: Date.now() });
    if (step.kind === 'stay') return true;
    if (step.kind === 'fail') {
      this.replyError(packet.sequenceId + 1, step.error);
      this.close(step.reason, 'warn');
      return false;
    }
    const connected = await connectWhenAvailable(() => this.backendSide.connect(library!, step.carry), this.services.events, step.waitMs, () => this.closed);
    if (this.closed) {
      if (connected.ok) void this.services.pools.release(connected.connection, true);
      return false;
    }
    if (!connected.ok) {
      // A lost server's session stays, its move pending: the next command tries again.
      this.replyError(packet.sequenceId + 1, connected.error);
      if (relocation.kind === 'leave') this.close('could not move off a removed server', 'warn');
      return false;
    }
    this.backendSide.release();
    this.backendSide.attach(connected.connection);
    endRelocation(relocation);
    route.relocation = null;
    reportMove(this.services.logger, this.services.events, relocation, { session: this.id, library: route.library, server: connected.connection.address });
    return true;
  }

  /**
   * The backend closed under the session. Idle outside a transaction, holding nothing that cannot be carried, the
   * session stays and moves on at its next command (failover masking); idle with such state, its next command gets
   * 2013. Otherwise it ends now, and the client hears 2013 if it waits for an answer.
   */
  private backendClosed(connection: BackendConnection): void {
    if (this.closed) return;
    const address = connection.address;
    const route = this.route;
    const library = route?.library ?? '(lobby)';
    const why = connection.failure ?? 'the server closed the connection';
    const { tracker, uncarried, draining } = this;
    const busy = this.path === HANDLING || !tracker || !tracker.idle;
    const fate = this.ready ? lostBackendFate({ busy, inTransaction: tracker?.inTransaction ?? false, uncarried, draining }) : { kind: 'close' as const };
    if (fate.kind === 'close') {
      if (tracker?.awaitingResponseStart) this.replyError(this.lastCommandSequence + 1, ProxyErrors.backendLost(library, address));
      return this.close(`backend ${address} of library ${library}: ${why}`, 'warn');
    }
    const lastInsertId = tracker?.lastInsertId ?? 0;
    this.backendSide.discard();
    // A lobby server: the next set-up statement takes another, with the session's settings.
    if (!route) return fate.kind === 'mask' ? this.backendSide.lobbyServerLost() : this.close(`lobby server ${address}: ${why}`, 'warn');
    endRelocation(route.relocation);
    route.relocation = relocationAfterLoss(fate, library, address, why, lastInsertId);
    this.services.logger.info({ session: this.id, library, server: address }, `${route.relocation.reason}; the session ${fate.kind === 'mask' ? 'moves on at its next command' : 'ends at its next command'}`);
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /**
   * mysqlda is stopping (SIGTERM, `-a stop`): the session ends at its first command boundary outside a
   * transaction. An answer in flight still reaches the client, a transaction may run to its COMMIT or ROLLBACK,
   * and a new command outside a transaction is refused with ERR 1053. The server ends what is left at its drain
   * timeout (shutDown). A session still logging in, or changing user, ends at once.
   */
  drain(): void {
    if (this.closed || this.draining) return;
    if (!this.ready) return this.close('mysqlda is shutting down');
    this.draining = true;
    void this.endIfIdleWhileDraining();
  }

  /** Ends the session now (drain timeout): ERR 1053 where the client can read it as an answer, then the close. */
  shutDown(reason: string): void {
    if (this.closed) return;
    const tracker = this.tracker;
    if (tracker?.awaitingResponseStart) this.replyError(this.lastCommandSequence + 1, ProxyErrors.serverShutdown());
    else if (this.path !== HANDLING && (!tracker || tracker.idle)) this.replyError(0, ProxyErrors.serverShutdown());
    this.close(reason, 'warn');
  }

  private async endIfIdleWhileDraining(): Promise<void> {
    await this.splice.waitIdle();
    if (this.closed || this.path === HANDLING || this.currentStatus() & ServerStatus.IN_TRANS) return;
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
  private async routeToLibrary(library: string, key: string | null, reply: number, request?: ReadRequest): Promise<boolean> {
    const route = this.route;
    const read = readLagBound(this.account, request);
    if (route?.library === library && route.read === read && this.backend) {
      if (key !== null) route.key = key;
      this.replyOk(reply);
      return true;
    }
    if (route && this.tracker?.inTransaction) {
      this.replyError(reply, ProxyErrors.switchInTransaction());
      return false;
    }
    const libraryConfig = findLibrary(this.services, library);
    if (!libraryConfig) {
      this.replyError(reply, ProxyErrors.libraryUnavailable(library, 'the library is not in the configuration'));
      return false;
    }
    const connection = await this.connectLibrary(libraryConfig, reply, read);
    if (!connection) return false;
    if (this.closed) {
      void this.services.pools.release(connection, true);
      return false;
    }
    this.backendSide.release();
    this.reportTraffic();
    this.backendSide.attach(connection);
    this.enter({ name: 'spliced', library, key: key ?? '', read, relocation: null });
    this.refreshGuards();
    this.splice.clock.routed(library);
    this.lobby.pendingBegin = null;
    this.input.readIntoReusedBuffer(this.socket);
    this.replyOk(reply);
    return true;
  }

  /** A backend connection of the library with the session's settings (and lobby BEGIN) applied, or null after replying ERR. */
  private async connectLibrary(library: LibraryConfig, reply: number, read: number | null): Promise<BackendConnection | null> {
    const connected = await this.backendSide.connect(library, { readMaxLagSeconds: read });
    if (connected.ok) return connected.connection;
    this.replyError(reply, connected.error);
    return null;
  }

  // ---- backend attachment and the splice ---------------------------------------------------------

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
      const outcome = await this.backendSide.ensure();
      if (outcome === 'closed') return;
      if (outcome === 'none') {
        this.history.settle(tag, false);
        return this.replyError(packet.sequenceId + 1, ProxyErrors.libraryUnavailable('(any)', NO_LOBBY_SERVER));
      }
    }
    this.forward(packet, tag);
  }

  /** A backend to run on: the library's when routed, else a lobby server (acquired on first need). */
  private async ensureBackend(reply: number): Promise<boolean> {
    const outcome = await this.backendSide.ensure();
    if (outcome === 'none') this.replyError(reply, ProxyErrors.libraryUnavailable('(any)', NO_LOBBY_SERVER));
    return outcome === 'attached';
  }

  private get backend(): BackendConnection | null {
    return this.splice.connection;
  }

  private get tracker(): ResponseTracker | null {
    return this.splice.tracker;
  }

  /** Stops the statement the session's backend is running (on behalf of KILL QUERY from another session). */
  async killQuery(): Promise<void> {
    const backend = this.backend;
    if (!backend || !this.tracker || this.tracker.idle) return;
    await killRunningStatement(this.services, backend, this.id);
  }

  private showLibraryRow(): (string | null)[] {
    const route = this.route;
    return [route?.library ?? null, route?.key ?? null, route && this.backend ? this.backend.address : null];
  }

  /** An answer took at least log.slow_query_ms: one log line. */
  private slowStatement(statement: SlowStatement): void {
    const where = { session: this.id, user: this.user, client: this.clientAddress, library: this.route?.library ?? null, server: this.backend?.address ?? null };
    logSlowStatement(this.services.logger, where, statement, (id) => this.broker.sqlOfBackendStatement(id));
  }

  /** The statement in flight ran for the account's query_timeout_ms: its server stops it and answers ERR 1317. */
  private statementOverdue(): void {
    const backend = this.backend;
    if (!backend || this.closed) return;
    const limit = this.account?.queryTimeoutMs;
    this.services.logger.notice({ session: this.id, user: this.user, server: backend.address, queryTimeoutMs: limit }, 'statement ran past query_timeout_ms: killing it');
    void killRunningStatement(this.services, backend, this.id);
  }

  // ---- replies made here ---------------------------------------------------------------------------

  private currentStatus(): number {
    return this.backendSide.status(this.route !== null);
  }

  private replyOk(sequenceId: number): void {
    this.splice.writeClient(encodePacket(encodeOk(this.currentStatus()), sequenceId));
  }

  private replyError(sequenceId: number, error: ProxyError | ErrPacket): void {
    this.splice.writeClient(encodePacket(encodeErr(error), sequenceId));
  }

  /**
   * What the splice tells the session. A host interface rather than returned actions: these are socket events
   * (an answer ended, the server closed) that arrive on their own, on the splice's per-packet path, where an
   * action object per event would allocate. A class rather than an object of arrow functions so that its
   * methods are shared by every session. Declared inside ClientSession, which lets it read the session's private
   * state.
   */
  private static readonly SpliceEvents = class implements SpliceOwner {
    constructor(readonly session: ClientSession) {}
    isClosed(): boolean {
      return this.session.closed;
    }
    responseEnded(tag: number, ok: boolean): void {
      if (tag === TAG_RESET_CONNECTION && ok) this.session.uncarried = null;
      this.session.backendSide.responseEnded(tag, ok);
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
