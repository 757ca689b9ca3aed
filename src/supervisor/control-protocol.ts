/**
 * The control channel between the `mysqlda` command and a running mysqlda: one JSON object per line over the
 * Unix socket beside the pid file (mode 0600). A request is answered by exactly one response line.
 * Pure: types, encoding and a line splitter.
 */
import type { ProxyStatus, ReloadResult } from '../server.js';

export type ControlRequest = { command: 'status' } | { command: 'reload' };

export type ControlResponse =
  | { ok: true; status: DaemonStatus }
  | { ok: true; reload: ReloadResult }
  | { ok: false; error: string };

/** The worker's life, as the supervisor sees it. */
export type WorkerPhase = 'starting' | 'serving' | 'restarting' | 'stopping';

export interface WorkerStatus {
  pid: number | null;
  phase: WorkerPhase;
  /** Restarts since the daemon started. */
  restarts: number;
  /** How the last worker ended, e.g. "killed by SIGKILL", or null if none has. */
  lastExit: string | null;
}

/** One worker of a group (server.workers > 1). */
export interface GroupWorkerStatus extends WorkerStatus {
  slot: number;
  /** Its client sessions open now; null when it did not answer. */
  sessions: number | null;
}

/** What `mysqlda -a status` prints. */
export interface DaemonStatus {
  /** 'daemon': supervisor and worker; 'foreground': one process (--no-daemon). */
  mode: 'daemon' | 'foreground';
  /** mysqlda's version, as the running program knows it. */
  version: string;
  /** The process named by the pid file. */
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  configPath: string;
  /** null: logging to stdout. */
  logFile: string | null;
  /** null in foreground mode with one worker; with several, the first (all of them are in `workers`). */
  worker: WorkerStatus | null;
  /** With server.workers > 1: every worker of the group, in slot order; `proxy` is then the whole group. */
  workers?: GroupWorkerStatus[];
  /** The proxy's own status; null while no worker serves. */
  proxy: ProxyStatus | null;
}

/** Longest line either side accepts; a status with thousands of libraries still fits. */
export const MAX_CONTROL_LINE = 4 * 1024 * 1024;

export function encodeLine(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

export function parseRequest(line: string): ControlRequest {
  const value: unknown = JSON.parse(line);
  const command = (value as { command?: unknown } | null)?.command;
  if (command === 'status' || command === 'reload') return { command };
  throw new Error(`unknown request ${JSON.stringify(command ?? line.slice(0, 80))}`);
}

/** Splits a byte stream into lines; keeps an unfinished line for the next chunk. */
export class LineSplitter {
  private pending = '';

  /** The complete lines in `chunk` (and before it). Throws when a line grows past MAX_CONTROL_LINE. */
  push(chunk: string): string[] {
    const parts = (this.pending + chunk).split('\n');
    this.pending = parts.pop() ?? '';
    if (this.pending.length > MAX_CONTROL_LINE) throw new Error('control line too long');
    return parts.filter((line) => line.trim() !== '');
  }
}
