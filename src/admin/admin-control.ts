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
   * Moves a library to one of its servers (by default its first): the operator's failback. `force` overrides the
   * replication-aware failover modes' refusals (docs/replication-failover.md).
   */
  failback(library: string, to?: string, force?: boolean): FailbackOutcome;
  reload(): Promise<ReloadResult>;
  /** Ready to serve: the directory is loaded and every library has a server that is up; `draining` while stopping. */
  readiness(): { ready: boolean; reason: string; draining?: boolean };
}
