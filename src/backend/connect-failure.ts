/**
 * What a failed backend connect says about the server, which decides what happens next: a server that answered
 * with an error packet (too many connections, a user limit, host blocked, access denied) is alive, and a library
 * never fails over because of it; a server nobody listens on, or one that says it is shutting down, is down.
 */
import { ServerErrorCode } from '../protocol/error-codes.js';
import { BackendError } from './backend-connection.js';

export type ConnectFailureKind =
  /** Nothing answers on the port, the server hung up during the handshake, or it is shutting down: it is down. */
  | 'unreachable'
  /** No answer within the timeout, or a network error that may pass (DNS): counts toward health.fail_threshold. */
  | 'uncertain'
  /** The server answered with an error (login refused, too many connections, odd handshake): it is alive. */
  | 'answered'
  /** mysqlda's own pool is full or closed: says nothing about the server. */
  | 'pool';

const UNREACHABLE_CODES = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE)\b/;

/**
 * Classifies an error from BackendPools.acquire / BackendConnection.connect. BackendError has no machine-readable
 * kind yet, so the message is read (the wording is that of backend-connection.ts and connection-pool.ts).
 */
export function classifyConnectFailure(error: unknown): ConnectFailureKind {
  if (!(error instanceof BackendError)) return 'unreachable';
  if (error.serverError) return error.serverError.code === ServerErrorCode.serverShutdown ? 'unreachable' : 'answered';
  const message = error.message;
  if (/ are busy$|^pool is closed$/.test(message)) return 'pool';
  if (/ timed out after /.test(message)) return 'uncertain';
  if (/^cannot connect to /.test(message)) return UNREACHABLE_CODES.test(message) ? 'unreachable' : 'uncertain';
  if (/ closed the connection during the handshake$/.test(message)) return 'unreachable';
  return 'answered';
}
