/**
 * KILL [QUERY|CONNECTION] of mysqlda's connection ids (the id clients see in the greeting, which Connector/J's
 * cancel and the CLI's Ctrl-C use), and stopping a session's running statement on its server.
 */
import { BackendConnection } from '../backend/backend-connection.js';
import { DEFAULT_CHARSET } from '../protocol/constants.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { ErrPacket } from '../protocol/generic-packets.js';
import type { Packet } from '../protocol/packet.js';
import type { ClientAccount, KillableSession, SessionServices } from './session-services.js';

/** What KILL needs from the session that sends it. */
export interface KillHost {
  readonly services: SessionServices;
  /** The session itself, as other sessions see it. */
  readonly session: KillableSession;
  account(): ClientAccount | null;
  isRouted(): boolean;
  /** Resolves when every response forwarded so far has reached the client. */
  waitIdle(): Promise<void>;
  replyOk(sequenceId: number): void;
  replyError(sequenceId: number, error: ProxyError | ErrPacket): void;
}

/**
 * KILL of one of mysqlda's connection ids: the statement on that session's backend is killed, and for KILL
 * CONNECTION the session is closed. Allowed for the same user or an admin account. Returns false when the id is
 * not mysqlda's and a routed session should pass the statement to its server (a backend thread id from SHOW
 * PROCESSLIST).
 */
export async function killByConnectionId(host: KillHost, request: { query: boolean; id: number }, packet: Packet): Promise<boolean> {
  const target = host.services.findSession?.(request.id);
  if (!target) {
    if (host.isRouted()) return false;
    await host.waitIdle();
    host.replyError(packet.sequenceId + 1, ProxyErrors.unknownThread(request.id));
    return true;
  }
  await host.waitIdle();
  const { session } = host;
  if (target.user !== session.user && !host.account()?.admin) {
    host.replyError(packet.sequenceId + 1, ProxyErrors.notThreadOwner(request.id));
    return true;
  }
  if (target === session && !request.query) {
    session.close('killed itself (KILL CONNECTION)');
    return true;
  }
  await target.killQuery();
  if (!request.query) target.close(`killed by session ${session.id}`, 'warn');
  host.replyOk(packet.sequenceId + 1);
  return true;
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
