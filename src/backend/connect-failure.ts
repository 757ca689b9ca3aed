/**
 * What a failed backend connect says about the server, which decides what happens next: a server that answered
 * (even with an error) is alive and a library never fails over because of it; a server nobody listens on is down.
 */
import { BackendError } from './backend-connection.js';

export type ConnectFailureKind =
  /** Nothing answers on the port, or the server hung up during the handshake: it is down. */
  | 'unreachable'
  /** No answer within the timeout, or a network error that may pass (DNS): counts toward health.fail_threshold. */
  | 'uncertain'
  /** The server answered with an error (login refused, too many connections, odd handshake): it is alive. */
  | 'answered'
  /** mysqlda's own pool is full or closed: says nothing about the server. */
  | 'pool';

/** MySQL errors that prove the server is alive but has no room: ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS. */
export const SERVER_FULL_ERRORS: ReadonlySet<number> = new Set([1040, 1203]);

const UNREACHABLE_CODES = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/;

/**
 * Classifies an error from BackendPools.acquire / BackendConnection.connect. BackendError has no machine-readable
 * kind yet, so the message is read (the wording is that of backend-connection.ts and connection-pool.ts).
 */
export function classifyConnectFailure(error: unknown): ConnectFailureKind {
  if (!(error instanceof BackendError)) return 'unreachable';
  if (error.serverError) return 'answered';
  const message = error.message;
  if (/ are busy$|^pool is closed$/.test(message)) return 'pool';
  if (/ timed out after /.test(message)) return 'uncertain';
  if (/^cannot connect to /.test(message)) return UNREACHABLE_CODES.test(message) ? 'unreachable' : 'uncertain';
  if (/ closed the connection during the handshake$/.test(message)) return 'unreachable';
  return 'answered';
}
