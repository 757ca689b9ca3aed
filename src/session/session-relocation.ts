/**
 * Moving a routed session to another server of its library: why it must move (Relocation, kept on the session's
 * route), whether it may when its server dies under it (failover masking), and the wait for the library's new
 * current server. client-session.ts carries the moves out.
 *
 *   relocation  entered when                                      the next command
 *   leave       its server left the library (reload, failover,    moves outside a transaction; inside one it runs
 *               failback) while the connection still works        where it is until the deadline, then gets 7110
 *   lost        its server closed the connection while the        waits up to connect_timeout_ms for the library's
 *               session was idle outside a transaction            current server, moves with its settings, prepared
 *                                                                 statements and LAST_INSERT_ID(); no server: 7106,
 *                                                                 and the next command tries again
 *   broken      the same, but the session held state a new        gets 2013 naming that state; the session ends
 *               server cannot be given (uncarried-state.ts)
 */
import type { ProxyEvents } from '../observability/proxy-events.js';
import { Command } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { mayBeExtensionSql, parseExtensionSql } from '../routing/extension-sql.js';
import type { Logger } from '../log/logger.js';
import type { CarryOver, LibraryConnection } from './library-connection.js';

export type Relocation =
  | { kind: 'leave'; reason: string; deadline: number; timer: NodeJS.Timeout }
  /** `lastInsertId`: the session's LAST_INSERT_ID() on the server that died, carried over. */
  | { kind: 'lost'; reason: string; lastInsertId: number }
  | { kind: 'broken'; reason: string; error: ProxyError };

/** A relocation is over (done, replaced, or the session closed): its deadline timer goes. */
export function endRelocation(relocation: Relocation | null): void {
  if (relocation?.kind === 'leave') clearTimeout(relocation.timer);
}

/** What a session was doing when its server connection closed under it. */
export interface LostBackendFacts {
  /** A command was on its way to the server, or its answer on its way back, or mysqlda was handling one. */
  busy: boolean;
  inTransaction: boolean;
  /** State it holds on the server that cannot be carried (uncarried-state.ts), or null. */
  uncarried: string | null;
  /** mysqlda is stopping: the session would end at its next boundary anyway. */
  draining: boolean;
}

export type LostBackendFate =
  /** Masked: the session stays, and its next command moves it to the library's current server. */
  | { kind: 'mask' }
  /** It ends now, as it always did: the client hears 2013 if it waits for an answer. Never a silent replay. */
  | { kind: 'close' }
  /** Idle, but moving would silently lose `what`: its next command gets 2013, then it ends. */
  | { kind: 'fail-next'; what: string };

export function lostBackendFate(facts: LostBackendFacts): LostBackendFate {
  if (facts.busy || facts.draining) return { kind: 'close' };
  if (facts.inTransaction) return { kind: 'fail-next', what: 'an open transaction' };
  if (facts.uncarried !== null) return { kind: 'fail-next', what: facts.uncarried };
  return { kind: 'mask' };
}

/** What a lost connection leaves the session: its relocation, by its fate (not 'close'). */
export function relocationAfterLoss(fate: Exclude<LostBackendFate, { kind: 'close' }>, library: string, server: string, why: string, lastInsertId: number): Relocation {
  const reason = `server ${server} of library ${library} closed the connection (${why})`;
  if (fate.kind === 'mask') return { kind: 'lost', reason, lastInsertId };
  return { kind: 'broken', reason: `${reason} while the session held ${fate.what}`, error: ProxyErrors.backendLostHolding(library, server, fate.what) };
}

/**
 * Whether a command chooses the session's route anew (`select library …`, in text): a lost server's move need not
 * come first, and must not stand in its way when the lost library has no server left.
 */
export function routesAnew(relocation: Relocation, payload: Buffer): boolean {
  if (relocation.kind !== 'lost' || payload[0] !== Command.QUERY || !mayBeExtensionSql(payload, 1)) return false;
  const parsed = parseExtensionSql(payload.toString('utf8', 1));
  return parsed !== null && parsed.ok && parsed.command.kind.startsWith('select_library');
}

/** What a pending relocation comes to at the session's next command. */
export type RelocationStep =
  /** Inside a transaction within the grace period: the command runs where the transaction is. */
  | { kind: 'stay' }
  /** The command is answered with `error` and the session ends (`reason`: its log line). */
  | { kind: 'fail'; error: ProxyError; reason: string }
  /** Onto a new connection of the library, waiting up to `waitMs` for one (a failover on its way). */
  | { kind: 'move'; carry: CarryOver; waitMs: number };

export interface RelocationFacts {
  library: string;
  /** The route's lag bound for reads (read-routing.ts), null for the current server. */
  read: number | null;
  /** Whether the library is still in the configuration. */
  configured: boolean;
  /** The connection the session still has (a `leave`): in a transaction, and its LAST_INSERT_ID(). */
  inTransaction: boolean;
  lastInsertId: number;
  connectTimeoutMs: number;
  now: number;
}

export function relocationStep(relocation: Relocation, facts: RelocationFacts): RelocationStep {
  if (relocation.kind === 'broken') return { kind: 'fail', error: relocation.error, reason: relocation.reason };
  if (relocation.kind === 'leave' && facts.inTransaction) {
    if (facts.now < relocation.deadline) return { kind: 'stay' };
    return { kind: 'fail', error: ProxyErrors.serverLeft(facts.library, relocation.reason), reason: `${relocation.reason}; transaction still open after the grace period` };
  }
  if (!facts.configured) {
    return {
      kind: 'fail',
      error: ProxyErrors.libraryUnavailable(facts.library, 'the library is not in the configuration'),
      reason: `${relocation.reason}; library ${facts.library} left the configuration`,
    };
  }
  const lost = relocation.kind === 'lost';
  return {
    kind: 'move',
    carry: { readMaxLagSeconds: facts.read, lastInsertId: lost ? relocation.lastInsertId : facts.lastInsertId },
    // A server that left the library still serves its sessions: the move is tried once, at once.
    waitMs: lost ? facts.connectTimeoutMs : 0,
  };
}

/** The log line (and, for a masked failure, the event) of a session that moved. */
export function reportMove(logger: Logger, events: ProxyEvents, relocation: Relocation, fields: { session: number; library: string; server: string }): void {
  if (relocation.kind !== 'lost') return logger.info(fields, 'session moved off a removed server');
  logger.info(fields, `session moved on after its server closed: ${relocation.reason}`);
  events.emit('session-masked', { library: fields.library });
}

/** ERR 7106: no server of the library answered (or the one that did refused): worth another try while failing over. */
const UNAVAILABLE = 7106;
/** Besides each failover and change of health, how often a waiting session tries again. */
const RETRY_MS = 100;

/**
 * A connection of the library, waiting up to `waitMs` while none can be had: a failover may be on its way (the
 * health book marks the dead server down after its checks, or at once when a connect is refused). `gone`: the
 * session closed meanwhile.
 */
export async function connectWhenAvailable(
  connect: () => Promise<LibraryConnection>,
  events: ProxyEvents,
  waitMs: number,
  gone: () => boolean,
): Promise<LibraryConnection> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await connect();
    if (result.ok || result.error.code !== UNAVAILABLE || gone() || Date.now() >= deadline) return result;
    await nextChange(events, Math.min(RETRY_MS, deadline - Date.now()));
  }
}

/** Resolves at the next failover or change of a server's health, or after `ms`. */
function nextChange(events: ProxyEvents, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      offFailover();
      offHealth();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    const offFailover = events.on('failover', done);
    const offHealth = events.on('server-health', done);
  });
}
