/**
 * What the admin surfaces (SQL admin statements, the HTTP listener) may read and do. server.ts implements it;
 * the admin modules depend on this interface only.
 */
import type { ProxyStatus, ReloadResult } from '../observability/status.js';
import type { SessionSummary } from '../session/client-session.js';

export type FailbackOutcome = { ok: true; moved: boolean; message: string } | { ok: false; error: string };

export interface AdminControl {
  status(): ProxyStatus;
  sessions(): SessionSummary[];
  /**
   * Moves a library to one of its servers (by default its first): the operator's failback. With a shared failover
   * state store it is stored for every proxy before it resolves. `force` overrides the replication-aware failover
   * modes' refusals (docs/replication-failover.md).
   */
  failback(library: string, to?: string, force?: boolean): Promise<FailbackOutcome>;
  reload(): Promise<ReloadResult>;
  /** Ready to serve: the directory is loaded and every library has a server that is up; `draining` while stopping. */
  readiness(): { ready: boolean; reason: string; draining?: boolean; degraded?: string };
  /** In a worker of a group (server.workers > 1): the whole group, asked of the primary; the admin statements use it. */
  group?: GroupControl;
}

/** The group's view and actions, for a worker of a group: every worker's sessions, a reload and failback of all. */
export interface GroupControl {
  status(): Promise<ProxyStatus>;
  sessions(): Promise<SessionSummary[]>;
  failback(library: string, to?: string, force?: boolean): Promise<FailbackOutcome>;
  reload(): Promise<ReloadResult>;
}
