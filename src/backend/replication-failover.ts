/**
 * The replication-aware failover modes at run time (failover.mode, forwards[].failover_mode): each library's
 * failover phase, the decisions of failover-policy.ts applied to the health book, and the promotion run after a
 * move in promote mode. CurrentServers asks it where a library goes (decide) and whether the library may serve
 * from its current server (holdReason); the ordered mode stays CurrentServers' own list-order policy.
 */
import { serverKey } from '../config/diff.js';
import type { FailoverConfig, FailoverMode, LibraryConfig, ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { LibraryFailoverStatus } from '../observability/status.js';
import type { LibraryMove } from './current-servers.js';
import {
  candidateProblem,
  chooseMostAdvanced,
  followReadOnly,
  type FailoverDecision,
  type ServerFacts,
  type ServerTest,
} from './failover-policy.js';
import { promote, type PromotionLog, type PromotionPlan, type PromotionResult } from './promotion.js';
import type { ServerHealthBook } from './server-health.js';

/** One library's failover phase under a replication-aware mode. */
export type LibraryFailoverPhase =
  | { phase: 'serving' }
  /** Its current server is down and no candidate may take it without an operator's `force`. */
  | { phase: 'refused'; reason: string }
  /**
   * `elsewhere`: another proxy won the move and promotes; this one holds the library as well, until it sees the
   * target writable and no longer replicating, or until `until` (ms) has passed.
   */
  | { phase: 'promoting'; target: string; since: number; elsewhere?: { until: number } }
  | { phase: 'promotion_failed'; target: string; reason: string }
  /** follow_read_only: several servers are writable; the library stays where it is. */
  | { phase: 'split_brain'; writable: string[] };

export type PromotionRunner = (plan: PromotionPlan, log: PromotionLog) => Promise<PromotionResult>;

export type OperatorCheck = { ok: true; retried?: string } | { ok: false; error: string };

const SERVING: LibraryFailoverPhase = { phase: 'serving' };

/** How much longer than promote_timeout_s a promotion run by another proxy is waited for (steps 2-4, a check). */
const PROMOTION_BY_ANOTHER_PROXY_MARGIN_MS = 30_000;

export class ReplicationFailover {
  private readonly phases = new Map<string, LibraryFailoverPhase>();
  /** Bumped by every promotion started for a library: a late result of an older one is dropped. */
  private readonly generations = new Map<string, number>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private settings: FailoverConfig,
    private readonly health: ServerHealthBook,
    private readonly logger: Logger,
    private readonly runPromotion: PromotionRunner = promote,
  ) {}

  updateSettings(settings: FailoverConfig): void {
    this.settings = settings;
  }

  modeOf(library: LibraryConfig): FailoverMode {
    return library.failoverMode ?? this.settings.mode;
  }

  phaseOf(library: string): LibraryFailoverPhase {
    return this.phases.get(library) ?? SERVING;
  }

  /**
   * Where the library moves now under its mode, null to stay; undefined for the ordered mode (CurrentServers'
   * list-order policy decides).
   */
  decide(library: LibraryConfig, servers: readonly string[], current: string, excluded: ServerTest): FailoverDecision | null | undefined {
    this.followPromotionElsewhere(library.name, current);
    const mode = this.modeOf(library);
    if (mode === 'ordered') return undefined;
    if (mode === 'follow_read_only') return this.decideFollow(library, servers, current);
    const phase = this.phaseOf(library.name);
    if (this.health.status(current) !== 'down') {
      if (phase.phase === 'refused') this.setPhase(library.name, SERVING);
      return null;
    }
    const choice = chooseMostAdvanced(servers, current, this.factsOf, this.settings.maxLagSeconds, excluded);
    if (choice === null) {
      if (phase.phase === 'refused') this.setPhase(library.name, SERVING); // no candidate is up: nothing was refused
      return null;
    }
    if ('to' in choice) return { to: choice.to, reason: 'down' };
    const reason = `${current} is down and ${choice.refused}; serve from a server anyway with \`failback library ${library.name} to <host:port> force\``;
    if (phase.phase !== 'refused' || phase.reason !== reason) {
      this.logger.error({ library: library.name, server: current, mode }, `library ${library.name} does not fail over (failover.mode ${mode}): ${reason}`);
    }
    this.setPhase(library.name, { phase: 'refused', reason });
    return null;
  }

  /** Why the library may not serve from its current server now, or null. */
  holdReason(library: string): string | null {
    const phase = this.phaseOf(library);
    switch (phase.phase) {
      case 'refused':
        return phase.reason;
      case 'promoting':
        return `${phase.target} is being promoted to master${phase.elsewhere ? ' by another proxy' : ''} (since ${new Date(phase.since).toISOString()})`;
      case 'promotion_failed':
        return `the promotion of ${phase.target} failed: ${phase.reason}; retry with \`failback library ${library} to ${phase.target}\`, or serve from it as it is with \`failback library ${library} to ${phase.target} force\``;
      default:
        return null;
    }
  }

  /**
   * After every change of the library's current server. A move this proxy won (its compare-and-set stored it): an
   * automatic failover in promote mode promotes the server moved to. A move adopted from the shared failover state
   * (another proxy or worker won it) never starts a promotion here: its winner promotes, and this proxy holds the
   * library meanwhile (see adopted).
   */
  moved(library: LibraryConfig, move: LibraryMove): void {
    if (!move.won) {
      this.adopted(library, move);
      return;
    }
    if (move.reason === 'operator') return; // see operatorMoved
    if (move.reason === 'down' && this.modeOf(library) === 'promote') {
      this.startPromotion(library, move.to, false);
      return;
    }
    if (this.phaseOf(library.name).phase !== 'split_brain') this.setPhase(library.name, SERVING);
  }

  /**
   * Checks an operator's move of `library` to `target` before it is made. Under most_advanced and promote a
   * replica that lags or does not apply what it receives needs `force`. A move to the server a failed promotion was
   * for retries that promotion (`retried`: what the operator is told).
   */
  checkOperatorMove(library: LibraryConfig, current: string, target: string, force: boolean): OperatorCheck {
    const mode = this.modeOf(library);
    const phase = this.phaseOf(library.name);
    if (phase.phase === 'promotion_failed' && phase.target === target && current === target) {
      if (force) {
        this.logger.warn({ library: library.name, server: target }, `library ${library.name} serves from ${target} as it is: an operator forced it after its promotion failed (${phase.reason})`);
        this.setPhase(library.name, SERVING);
        return { ok: true, retried: `library ${library.name} serves from ${target} as it is (forced)` };
      }
      this.startPromotion(library, target, false);
      return { ok: true, retried: `the promotion of ${target} for library ${library.name} is retried` };
    }
    if (phase.phase === 'promoting' && !force) return { ok: false, error: `${phase.target} is being promoted; wait for it, or add \`force\`` };
    if (force || (mode !== 'most_advanced' && mode !== 'promote')) return { ok: true };
    const problem = candidateProblem(target, this.factsOf(target), this.settings.maxLagSeconds);
    return problem === null ? { ok: true } : { ok: false, error: `${problem}; add \`force\` to move it there anyway` };
  }

  /**
   * After an operator's move: in promote mode, a library that was waiting for an operator (a refused failover, a
   * failed promotion) promotes the server it moved to, `force` letting it skip the catch-up. Otherwise the move is
   * the operator's and nothing is promoted (a switchover is theirs too).
   */
  operatorMoved(library: LibraryConfig, move: LibraryMove, force: boolean): void {
    const waiting = ['refused', 'promotion_failed'].includes(this.phaseOf(library.name).phase);
    if (waiting && this.modeOf(library) === 'promote' && this.factsOf(move.to).replication?.replicating) {
      this.startPromotion(library, move.to, force);
      return;
    }
    this.setPhase(library.name, SERVING);
  }

  /**
   * Another proxy moved the library. Whatever this proxy held for it (a refusal, its own promotion) no longer
   * applies. In promote mode, a move off a server that is down onto one that still replicates is a failover whose
   * winner is promoting that server now: the library is held here too, so that no write reaches it before it is
   * the master.
   */
  private adopted(library: LibraryConfig, move: LibraryMove): void {
    this.generations.set(library.name, (this.generations.get(library.name) ?? 0) + 1); // drops a late result of ours
    const promoting =
      this.modeOf(library) === 'promote' && this.health.status(move.from) === 'down' && this.factsOf(move.to).replication?.replicating === true;
    if (!promoting) {
      if (this.phaseOf(library.name).phase !== 'split_brain') this.setPhase(library.name, SERVING);
      return;
    }
    const until = Date.now() + this.settings.promoteTimeoutSeconds * 1000 + PROMOTION_BY_ANOTHER_PROXY_MARGIN_MS;
    this.logger.notice({ library: library.name, server: move.to }, `library ${library.name}: another proxy moved it to ${move.to} and promotes it; held here until ${move.to} is seen writable and no longer replicating`);
    this.setPhase(library.name, { phase: 'promoting', target: move.to, since: Date.now(), elsewhere: { until } });
  }

  /** Ends the hold on a promotion run by another proxy once it shows, or once it has had its time. */
  private followPromotionElsewhere(library: string, current: string): void {
    const phase = this.phaseOf(library);
    if (phase.phase !== 'promoting' || !phase.elsewhere) return;
    const facts = this.factsOf(phase.target);
    const fields = { library, server: phase.target };
    if (current !== phase.target) {
      this.setPhase(library, SERVING);
    } else if (facts.status === 'up' && facts.readOnly === false && facts.replication?.replicating === false) {
      this.logger.notice(fields, `library ${library} serves from ${phase.target}, promoted by another proxy`);
      this.setPhase(library, SERVING);
    } else if (Date.now() >= phase.elsewhere.until) {
      this.logger.warn(fields, `library ${library}: ${phase.target} was not seen promoted in time (the promoting proxy may have failed: see its status); it serves from ${phase.target} as it is`);
      this.setPhase(library, SERVING);
    }
  }

  /** Forgets libraries no longer configured. */
  retain(libraries: readonly LibraryConfig[]): void {
    const names = new Set(libraries.map((library) => library.name));
    for (const name of [...this.phases.keys()]) if (!names.has(name)) this.phases.delete(name);
  }

  /** Resolves once promotions in flight have ended (close, tests). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private decideFollow(library: LibraryConfig, servers: readonly string[], current: string): FailoverDecision | null {
    const decision = followReadOnly(servers, current, this.factsOf);
    const phase = this.phaseOf(library.name);
    if (decision !== null && 'splitBrain' in decision) {
      const same = phase.phase === 'split_brain' && phase.writable.join() === decision.splitBrain.join();
      if (!same) {
        this.logger.error(
          { library: library.name, servers: decision.splitBrain },
          `library ${library.name}: ${decision.splitBrain.join(' and ')} are all writable (read_only = OFF); it stays on ${current} until only one is (failover.mode follow_read_only)`,
        );
      }
      this.setPhase(library.name, { phase: 'split_brain', writable: decision.splitBrain });
      return null;
    }
    if (phase.phase === 'split_brain') {
      this.logger.notice({ library: library.name }, `library ${library.name}: one writable server again`);
      this.setPhase(library.name, SERVING);
    }
    return decision;
  }

  private startPromotion(library: LibraryConfig, target: string, force: boolean): void {
    const generation = (this.generations.get(library.name) ?? 0) + 1;
    this.generations.set(library.name, generation);
    this.setPhase(library.name, { phase: 'promoting', target, since: Date.now() });
    const plan = this.planFor(library, target, force);
    if (plan === null) {
      this.setPhase(library.name, { phase: 'promotion_failed', target, reason: `${target} is not one of its servers` });
      return;
    }
    const fields = { library: library.name, server: target };
    this.logger.warn(fields, `library ${library.name}: promoting ${target} to master${force ? ' (forced)' : ''}; its other replicas: ${plan.replicas.map(serverKey).join(', ') || 'none up'}`);
    const log: PromotionLog = (level, message) => this.logger[level](fields, message);
    const run = this.runPromotion(plan, log)
      .catch((err: Error): PromotionResult => ({ ok: false, step: 'run', error: err.message }))
      .then((result) => {
        if (this.generations.get(library.name) !== generation) return;
        if (result.ok) {
          this.setPhase(library.name, SERVING);
          this.logger.warn(fields, `library ${library.name} serves from ${target}, its new master${result.notRepointed.length > 0 ? ` (not repointed: ${result.notRepointed.join(', ')})` : ''}`);
        } else {
          this.setPhase(library.name, { phase: 'promotion_failed', target, reason: `${result.step}: ${result.error}` });
        }
      });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** The promotion's servers with failover.user/pass (each server's own credentials when absent). */
  private planFor(library: LibraryConfig, target: string, force: boolean): PromotionPlan | null {
    // The failover account needs no access to the application's database: it logs in without one.
    const withCredentials = (server: ServerConfig): ServerConfig =>
      this.settings.user === null ? server : { ...server, user: this.settings.user, password: this.settings.password ?? '', database: '' };
    const server = library.servers.find((candidate) => serverKey(candidate) === target);
    if (!server) return null;
    const replicas = library.servers.filter((other) => {
      const address = serverKey(other);
      return address !== target && this.health.status(address) === 'up' && this.factsOf(address).replication?.replicating === true;
    });
    return {
      library: library.name,
      target: withCredentials(server),
      replicas: replicas.map(withCredentials),
      timeoutMs: this.settings.promoteTimeoutSeconds * 1000,
      force,
    };
  }

  private setPhase(library: string, phase: LibraryFailoverPhase): void {
    if (phase.phase === 'serving') this.phases.delete(library);
    else this.phases.set(library, phase);
  }

  private readonly factsOf = (server: string): ServerFacts => {
    const health = this.health.get(server);
    return { status: health.status, readOnly: health.readOnly, replication: health.replication, lastKnownLagSeconds: health.lastKnownLagSeconds ?? null };
  };
}

/** A library's mode and phase as /status shows them. */
export function failoverStatus(failover: { mode: FailoverMode } & LibraryFailoverPhase): LibraryFailoverStatus {
  switch (failover.phase) {
    case 'serving':
      return { mode: failover.mode, phase: 'serving' };
    case 'refused':
      return { mode: failover.mode, phase: 'refused', detail: failover.reason };
    case 'promoting':
      return { mode: failover.mode, phase: 'promoting', detail: `${failover.target} since ${new Date(failover.since).toISOString()}${failover.elsewhere ? ' (by another proxy)' : ''}` };
    case 'promotion_failed':
      return { mode: failover.mode, phase: 'promotion_failed', detail: `${failover.target}: ${failover.reason}` };
    case 'split_brain':
      return { mode: failover.mode, phase: 'split_brain', detail: failover.writable.join(', ') };
  }
}
