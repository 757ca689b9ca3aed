/**
 * KILL [QUERY|CONNECTION] of mysqlda's connection ids (the id clients see in the greeting, which Connector/J's
 * cancel and the CLI's Ctrl-C use), and stopping a session's running statement on its server.
 */
import { BackendConnection } from '../backend/backend-connection.js';
import { DEFAULT_CHARSET } from '../protocol/constants.js';
import { ProxyErrors } from '../protocol/error-codes.js';
import { REPLY_OK, replyError, type SessionAction } from './session-action.js';
import type { GroupKill, GroupKillOutcome, KillableSession, SessionServices } from './session-services.js';

/** Who sends the KILL: the session itself (as other sessions see it), whether its account is an admin, whether it is routed. */
export interface Killer {
  readonly session: KillableSession;
  readonly admin: boolean;
  readonly routed: boolean;
}

/**
 * KILL of one of mysqlda's connection ids: once the killer's earlier answers are out, the statement on that
 * session's backend is killed, and for KILL CONNECTION the session is closed. Allowed for the same user or an
 * admin account. Null when the id is not mysqlda's and a routed session should pass the statement to its
 * server (a backend thread id from SHOW PROCESSLIST).
 *
 * In a worker of a group, an id another worker issued is asked of that worker (through the primary) first: it is
 * passed to the server (`passOn`) only when no session of the group has it, as one process does with an id it
 * does not know; if the group cannot be asked it is refused with 1094 rather than risk killing an unrelated
 * backend thread.
 */
export function killByConnectionId(
  services: SessionServices,
  killer: Killer,
  request: { query: boolean; id: number },
  passOn: SessionAction | null = null,
): SessionAction | null {
  const target = services.findSession?.(request.id);
  if (target) return { kind: 'when-idle', decide: () => kill(killer, target, request) };
  if (services.killInGroup && services.ownsConnectionId && !services.ownsConnectionId(request.id)) {
    const ask = services.killInGroup.bind(services);
    return { kind: 'when-idle', decide: () => killElsewhere(services, ask, killer, request, passOn) };
  }
  return killer.routed ? null : replyError(ProxyErrors.unknownThread(request.id));
}

async function killElsewhere(
  services: SessionServices,
  ask: (request: GroupKill) => Promise<GroupKillOutcome>,
  killer: Killer,
  request: { query: boolean; id: number },
  passOn: SessionAction | null,
): Promise<SessionAction> {
  let outcome: GroupKillOutcome;
  try {
    outcome = await ask({ ...request, user: killer.session.user, admin: killer.admin, by: killer.session.id });
  } catch (err) {
    services.logger.warn({ session: killer.session.id, id: request.id }, `KILL ${request.id}: the worker that issued the id cannot be asked (${(err as Error).message})`);
    return replyError(ProxyErrors.unknownThread(request.id));
  }
  if (outcome === 'killed') return REPLY_OK;
  if (outcome === 'not_owner') return replyError(ProxyErrors.notThreadOwner(request.id));
  return killer.routed && passOn ? passOn : replyError(ProxyErrors.unknownThread(request.id));
}

/** The owning worker's side of a KILL sent to another worker of the group. */
export async function killForGroup(services: SessionServices, request: GroupKill): Promise<GroupKillOutcome> {
  const target = services.findSession?.(request.id);
  if (!target) return 'unknown';
  if (target.user !== request.user && !request.admin) return 'not_owner';
  await target.killQuery();
  if (!request.query) target.close(`killed by session ${request.by} of another worker`, 'warn');
  return 'killed';
}

async function kill(killer: Killer, target: KillableSession, request: { query: boolean; id: number }): Promise<SessionAction> {
  const { session } = killer;
  if (target.user !== session.user && !killer.admin) return replyError(ProxyErrors.notThreadOwner(request.id));
  if (target === session && !request.query) return { kind: 'close', reason: 'killed itself (KILL CONNECTION)' };
  await target.killQuery();
  if (!request.query) target.close(`killed by session ${session.id}`, 'warn');
  return REPLY_OK;
}

/** Stops the statement `backend` is running, with KILL QUERY over a connection of its own to the same server. */
export async function killRunningStatement(services: SessionServices, backend: BackendConnection, session: number): Promise<void> {
  try {
    const killer = await BackendConnection.connect(backend.server, { capabilities: 0, charset: DEFAULT_CHARSET }, services.config().pool.connectTimeoutMs);
    await killer.execute(Buffer.from(`\x03KILL QUERY ${backend.threadId}`, 'latin1'));
    killer.close();
  } catch (err) {
    services.logger.warn({ session, server: backend.address }, `could not kill the running statement: ${(err as Error).message}`);
  }
}
