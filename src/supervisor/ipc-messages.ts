/**
 * Messages over Node's IPC channels: `mysqlda -a start` ⇄ the supervisor it detaches (one report), and the
 * supervisor ⇄ its workers (start settings, relayed control requests, stop, log reopen). With server.workers > 1
 * a worker also asks its primary (`ask` → `answer`): keys of the save files, the failover state, the group's view.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { StateAnswer, StateAsk } from '../backend/state-store-asks.js';
import type { LogLevel } from '../log/logger.js';
import type { ProxyStatus, ReloadResult } from '../observability/status.js';
import type { SessionSummary } from '../session/client-session.js';
import type { GroupKill, GroupKillOutcome } from '../session/session-services.js';
import type { DirectoryAnswer, DirectoryAsk } from '../store/directory-asks.js';

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
  /** null: the inherited stdout (a --no-daemon primary). */
  logFile: string | null;
  /** With server.workers > 1: this worker's place in the group (0-based) and the group's size. */
  group?: { slot: number; size: number };
}

export type WorkerRequest =
  | 'status'
  | 'reload'
  | 'sessions'
  | 'metrics'
  | { failback: { library: string; to: string | null; force?: boolean } }
  /** KILL of a session of this worker, sent by a session of another one. */
  | { kill: GroupKill };

/** One process's metrics as prom-client's getMetricsAsJSON() gives them, to be summed by the primary. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type SupervisorMessage =
  | { type: 'start'; settings: WorkerSettings }
  | { type: 'request'; id: number; command: WorkerRequest }
  /** Drain and close every session, flush the save files, exit 0. */
  | { type: 'stop' }
  | { type: 'reopen-log' }
  | { type: 'answer'; id: number; answer: PrimaryAnswer };

export type WorkerReply =
  | { type: 'reply'; id: number; ok: true; status: ProxyStatus }
  | { type: 'reply'; id: number; ok: true; reload: ReloadResult }
  | { type: 'reply'; id: number; ok: true; sessions: SessionSummary[] }
  | { type: 'reply'; id: number; ok: true; metrics: MetricsJson }
  | { type: 'reply'; id: number; ok: true; failback: FailbackReply }
  | { type: 'reply'; id: number; ok: true; kill: GroupKillOutcome }
  | { type: 'reply'; id: number; ok: false; error: string };

export type FailbackReply = { ok: true; moved: boolean; message: string } | { ok: false; error: string };

/** What a worker of a group asks the primary: the save files' directory, the failover state, the whole group. */
export type GroupAsk =
  | { op: 'group-status' }
  | { op: 'group-sessions' }
  | { op: 'group-reload' }
  | { op: 'group-failback'; library: string; to: string | null; force?: boolean }
  /** KILL of a connection id another worker issued: the primary asks that worker. */
  | { op: 'group-kill'; kill: GroupKill };

export type GroupAnswer =
  | { ok: true; op: 'group-status'; status: ProxyStatus }
  | { ok: true; op: 'group-sessions'; sessions: SessionSummary[] }
  | { ok: true; op: 'group-reload'; reload: ReloadResult }
  | { ok: true; op: 'group-failback'; failback: FailbackReply }
  | { ok: true; op: 'group-kill'; outcome: GroupKillOutcome }
  | { ok: false; message: string };

export type PrimaryAsk = DirectoryAsk | StateAsk | GroupAsk;
export type PrimaryAnswer = DirectoryAnswer | StateAnswer | GroupAnswer;

export type WorkerMessage =
  /** The worker listens for `start` now (a cluster worker's channel drops messages that come before). */
  | { type: 'awaiting-start' }
  | { type: 'ready'; listen: string }
  /** Sent before the worker exits because it could not start; the reason is for the operator. */
  | { type: 'start-failed'; reason: string }
  /** Told to stop, the worker drains its sessions for up to `timeoutMs` before it closes them and exits. */
  | { type: 'draining'; timeoutMs: number }
  /** A worker of a group asks the primary; answered by an `answer` with the same id. */
  | { type: 'ask'; id: number; ask: PrimaryAsk }
  | WorkerReply;

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
