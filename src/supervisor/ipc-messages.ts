/**
 * Messages over Node's IPC channels: `mysqlda -a start` ⇄ the supervisor it detaches (one report), and the
 * supervisor ⇄ its worker (start settings, relayed control requests, stop, log reopen).
 */
import type { LogLevel } from '../log/logger.js';
import type { ProxyStatus, ReloadResult } from '../server.js';

/** The supervisor's one report to the `mysqlda -a start` that launched it. */
export type StartReport =
  | { type: 'started'; pid: number; listen: string; pidFile: string; logFile: string }
  | { type: 'start-failed'; reason: string };

/** What a worker serves: the supervisor's own view, so both log to the same file. */
export interface WorkerSettings {
  configPath: string;
  /** -s, resolved against cwd. */
  saveFile?: string;
  cwd: string;
  logLevel: LogLevel;
  logFile: string;
}

export type WorkerRequest = 'status' | 'reload';

export type SupervisorMessage =
  | { type: 'start'; settings: WorkerSettings }
  | { type: 'request'; id: number; command: WorkerRequest }
  /** Drain and close every session, flush the save files, exit 0. */
  | { type: 'stop' }
  | { type: 'reopen-log' };

export type WorkerReply =
  | { type: 'reply'; id: number; ok: true; status: ProxyStatus }
  | { type: 'reply'; id: number; ok: true; reload: ReloadResult }
  | { type: 'reply'; id: number; ok: false; error: string };

export type WorkerMessage =
  | { type: 'ready'; listen: string }
  /** Sent before the worker exits because it could not start; the reason is for the operator. */
  | { type: 'start-failed'; reason: string }
  /** Told to stop, the worker drains its sessions for up to `timeoutMs` before it closes them and exits. */
  | { type: 'draining'; timeoutMs: number }
  | WorkerReply;

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
