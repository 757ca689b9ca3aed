/**
 * The supervisor (mysqlda's monitor): keeps its workers serving — one, or server.workers of them sharing the
 * listening port — restarts each with back-off when it dies, without touching the others, and gives up with an
 * error on a crash loop. It holds the pid file and serves the control socket, relaying status and reload to the
 * workers. It never serves clients itself, so a crash in the proxy never takes it down. With several workers it is
 * the group's primary: it answers their asks (see group-primary.ts) and speaks for the group as a whole.
 *
 * The group: idle → starting → running → stopping → stopped. Each worker's slot: starting → serving → (it dies)
 * restarting → starting → … .
 */
import type { Logger } from '../log/logger.js';
import type { ProxyStatus, ReloadResult } from '../server.js';
import type { SessionSummary } from '../session/client-session.js';
import type { GroupKill, GroupKillOutcome } from '../session/session-services.js';
import type { DaemonStatus, GroupWorkerStatus, WorkerPhase } from './control-protocol.js';
import type { FailbackReply, MetricsJson, WorkerReply, WorkerRequest, WorkerSettings } from './ipc-messages.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import type { SelfCommand } from './self-command.js';
import { WorkerProcess, type AskHandler, type WorkerStart } from './worker-process.js';

/**
 * A worker gets this long to close its sessions and flush before SIGKILL, counted after the drain it announces
 * (server.drain_timeout_s); mysqlda -a stop waits 5 s longer than that.
 */
const WORKER_STOP_TIMEOUT_MS = 25_000;
const STATUS_TIMEOUT_MS = 5_000;
const RELOAD_TIMEOUT_MS = 120_000;

type GroupPhase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

type SlotPhase =
  | { name: 'starting'; worker: WorkerProcess }
  | { name: 'serving'; worker: WorkerProcess }
  | { name: 'restarting'; timer: NodeJS.Timeout }
  | { name: 'stopping'; worker: WorkerProcess | null };

interface Slot {
  readonly index: number;
  phase: SlotPhase;
  restarts: number;
  lastExit: string | null;
  readonly policy: RestartPolicy;
}

export interface SupervisorOptions {
  self: SelfCommand;
  settings: WorkerSettings;
  logger: Logger;
  version: string;
  restartPolicy?: Partial<RestartPolicyOptions>;
  /** server.workers (default 1: one worker, started as before, with no group in between). */
  workers?: number;
  /** With workers > 1: the primary's answers to its workers' asks. */
  onAsk?: AskHandler;
  /** 'foreground': a --no-daemon primary (status says so). */
  mode?: DaemonStatus['mode'];
  /** With workers > 1: the group's status from its serving workers' (group-status.ts). */
  describeGroup?: (statuses: ProxyStatus[]) => ProxyStatus | null;
}

export class Supervisor {
  private phase: GroupPhase = 'idle';
  private slots: Slot[] = [];
  private readonly startedAt = new Date();
  private settleFinished!: (code: number) => void;
  /** The supervisor's exit status: 0 after a requested stop, 1 after a crash loop or a failed start. */
  readonly finished = new Promise<number>((resolve) => (this.settleFinished = resolve));

  constructor(private readonly options: SupervisorOptions) {}

  get size(): number {
    return this.options.workers ?? 1;
  }

  /** Starts every worker. A worker that cannot start at first is not retried: the operator sees why at once. */
  async start(): Promise<WorkerStart> {
    if (this.phase !== 'idle') return { ok: false, reason: 'stopped before the first worker started' };
    this.phase = 'starting';
    const workers: WorkerProcess[] = [];
    for (let index = 0; index < this.size; index++) {
      const worker = this.spawnWorker(index, null);
      workers.push(worker);
      this.slots.push({ index, phase: { name: 'starting', worker }, restarts: 0, lastExit: null, policy: new RestartPolicy(this.options.restartPolicy) });
    }
    const starts = await Promise.all(workers.map((worker) => worker.started));
    // A stop that came meanwhile has stopped the workers and finishes by itself.
    if ((this.phase as GroupPhase) !== 'starting') return { ok: false, reason: 'stopped before the workers started' };
    const failed = starts.find((start) => !start.ok);
    if (failed) {
      // The others are stopped too: a group serves whole or not at all.
      for (const worker of workers) worker.kill();
      await Promise.all(workers.map((worker) => worker.exited));
      this.finish(1);
      return failed;
    }
    this.phase = 'running';
    for (const slot of this.slots) if (slot.phase.name === 'starting') slot.phase = { name: 'serving', worker: slot.phase.worker };
    return starts[0];
  }

  /** Stops every worker cleanly (SIGTERM, SIGINT, mysqlda -a stop). A second call kills them at once. */
  async stop(reason: string): Promise<void> {
    switch (this.phase) {
      case 'idle':
        this.log.notice(`${reason}: stopping before the first worker started`);
        this.finish(0);
        return;
      case 'starting':
      case 'running': {
        this.phase = 'stopping';
        const stopping: Promise<unknown>[] = [];
        for (const slot of this.slots) {
          const phase = slot.phase;
          if (phase.name === 'restarting') {
            clearTimeout(phase.timer);
            slot.phase = { name: 'stopping', worker: null };
          } else if (phase.name === 'starting' || phase.name === 'serving') {
            this.log.notice(`${reason}: stopping the worker (pid ${phase.worker.pid})`);
            slot.phase = { name: 'stopping', worker: phase.worker };
            stopping.push(phase.worker.stop(WORKER_STOP_TIMEOUT_MS));
          }
        }
        await Promise.all(stopping);
        this.log.notice('mysqlda stopped');
        this.finish(0);
        return;
      }
      case 'stopping':
        this.log.warn(`${reason} again while stopping: killing the workers`);
        this.killWorker();
        return;
      case 'stopped':
        return;
    }
  }

  async status(): Promise<DaemonStatus> {
    const replies = await this.askServing('status', STATUS_TIMEOUT_MS);
    const statuses = replies.map((reply) => (reply?.ok && 'status' in reply ? reply.status : null));
    const workers: GroupWorkerStatus[] = this.slots.map((slot, i) => ({
      slot: slot.index,
      pid: this.workerOf(slot)?.pid ?? null,
      phase: this.slotPhase(slot),
      restarts: slot.restarts,
      lastExit: slot.lastExit,
      sessions: statuses[i]?.sessions.open ?? null,
    }));
    const first = workers[0] ?? { pid: null, phase: this.phase === 'stopping' ? 'stopping' : 'starting', restarts: 0, lastExit: null };
    const base: DaemonStatus = {
      mode: this.options.mode ?? 'daemon',
      version: this.options.version,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      configPath: this.options.settings.configPath,
      logFile: this.options.settings.logFile,
      worker: { pid: first.pid, phase: first.phase, restarts: first.restarts, lastExit: first.lastExit },
      proxy: statuses[0] ?? null,
    };
    if (this.size === 1) return base;
    const serving = statuses.filter((status): status is ProxyStatus => status !== null);
    const describe = this.options.describeGroup ?? ((all: ProxyStatus[]) => all[0] ?? null);
    return { ...base, workers, proxy: describe(serving) };
  }

  /** Every serving worker's status (the group's primary merges them). */
  async workerStatuses(): Promise<ProxyStatus[]> {
    const replies = await this.askServing('status', STATUS_TIMEOUT_MS);
    return replies.flatMap((reply) => (reply?.ok && 'status' in reply ? [reply.status] : []));
  }

  async sessions(): Promise<SessionSummary[]> {
    const replies = await this.askServing('sessions', STATUS_TIMEOUT_MS);
    return replies.flatMap((reply) => (reply?.ok && 'sessions' in reply ? reply.sessions : []));
  }

  /** Every serving worker's metric series; a worker that does not answer is left out. */
  async metrics(): Promise<MetricsJson[]> {
    const replies = await this.askServing('metrics', STATUS_TIMEOUT_MS);
    return replies.flatMap((reply) => (reply?.ok && 'metrics' in reply ? [reply.metrics] : []));
  }

  /**
   * The group's failback, carried out by one serving worker: it stores the move in the failover state the group
   * shares (the primary's, or the MySQL directory's), and the other workers adopt it at their next poll. A worker
   * that holds the library waiting for an operator (a refused failover, or a promotion of its own that failed) is
   * the one asked: it alone can retry or force that promotion.
   */
  async failback(library: string, to: string | null, force = false): Promise<FailbackReply> {
    const serving = this.slots.filter((candidate) => candidate.phase.name === 'serving');
    const statuses = serving.length > 1 ? await this.askServing('status', STATUS_TIMEOUT_MS) : [];
    const waiting = this.slots.find((_, i) => {
      const reply = statuses[i];
      const phase = reply?.ok && 'status' in reply ? reply.status.libraries.find((other) => other.name === library)?.failover?.phase : undefined;
      return phase === 'promotion_failed' || phase === 'refused';
    });
    const slot = waiting ?? serving[0];
    if (!slot || slot.phase.name !== 'serving') return { ok: false, error: 'no worker is serving; nothing was moved' };
    const reply = await slot.phase.worker.request({ failback: { library, to, force } }, STATUS_TIMEOUT_MS);
    if (!reply.ok) return { ok: false, error: reply.error };
    return 'failback' in reply ? reply.failback : { ok: false, error: 'the worker answered something else' };
  }

  /**
   * KILL of a connection id, carried out by the worker that issued it (ids are slot + 1 + k·size). A worker that is
   * not serving has no sessions: the id is unknown. Rejects when that worker does not answer.
   */
  async kill(request: GroupKill): Promise<GroupKillOutcome> {
    const slot = this.slots.find((candidate) => candidate.index === (request.id - 1) % this.size);
    if (!slot || slot.phase.name !== 'serving') return 'unknown';
    const reply = await slot.phase.worker.request({ kill: request }, STATUS_TIMEOUT_MS);
    if (!reply.ok) throw new Error(reply.error);
    if (!('kill' in reply)) throw new Error('the worker answered something else');
    return reply.kill;
  }

  /** Relays the reload to every serving worker; ok only if each applied it (they read the same file). */
  async reload(): Promise<ReloadResult> {
    if (this.phase !== 'running' || !this.slots.some((slot) => slot.phase.name === 'serving')) {
      return { ok: false, message: `no worker is serving (${this.slotPhase(this.slots[0])}); nothing was reloaded, try again`, changes: [] };
    }
    const replies = await this.askServing('reload', RELOAD_TIMEOUT_MS);
    const results = replies.flatMap((reply): ReloadResult[] => {
      if (reply === null) return [];
      if (!reply.ok) return [{ ok: false, message: reply.error, changes: [] }];
      if (!('reload' in reply)) return [{ ok: false, message: 'the worker answered something else', changes: [] }];
      return [reply.reload];
    });
    const failed = results.find((result) => !result.ok);
    if (failed && this.size > 1 && results.some((result) => result.ok)) {
      return { ...failed, message: `${failed.message} (other workers applied it: they disagree until the next reload)` };
    }
    return failed ?? results[0] ?? { ok: false, message: 'no worker answered', changes: [] };
  }

  stopping(): boolean {
    return this.phase === 'stopping' || this.phase === 'stopped';
  }

  /** How many workers serve now, and how often one was restarted. */
  counts(): { serving: number; restarts: number } {
    return {
      serving: this.slots.filter((slot) => slot.phase.name === 'serving').length,
      restarts: this.slots.reduce((total, slot) => total + slot.restarts, 0),
    };
  }

  /** After logrotate moved the file: each worker reopens its own descriptor. */
  reopenWorkerLog(): void {
    for (const slot of this.slots) this.workerOf(slot)?.reopenLog();
  }

  /** Last resort (the supervisor itself crashed): no worker left behind. */
  killWorker(): void {
    for (const slot of this.slots) {
      const phase = slot.phase;
      if (phase.name !== 'restarting') phase.worker?.kill();
    }
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /** One reply per slot, in slot order: null for a slot with no serving worker. */
  private askServing(command: WorkerRequest, timeoutMs: number): Promise<(WorkerReply | null)[]> {
    return Promise.all(this.slots.map((slot) => (slot.phase.name === 'serving' ? slot.phase.worker.request(command, timeoutMs) : null)));
  }

  private workerOf(slot: Slot): WorkerProcess | null {
    const phase = slot.phase;
    return phase.name === 'restarting' ? null : phase.worker;
  }

  private slotPhase(slot: Slot | undefined): WorkerPhase {
    if (slot === undefined) return this.phase === 'stopping' || this.phase === 'stopped' ? 'stopping' : 'starting';
    return slot.phase.name;
  }

  /** Starts the worker of slot `index`: at the group's start (slot null, not made yet) or as a restart. */
  private spawnWorker(index: number, slot: Slot | null): WorkerProcess {
    const { self, settings, logger } = this.options;
    const worker =
      this.size === 1
        ? WorkerProcess.spawn(self, settings, logger)
        : WorkerProcess.fork(self, { ...settings, group: { slot: index, size: this.size } }, logger, this.options.onAsk ?? unanswered);
    if (slot) slot.phase = { name: 'starting', worker };
    const which = this.size === 1 ? `worker pid ${worker.pid}` : `worker ${index} (pid ${worker.pid})`;
    this.log.info(`${which} starting`);
    void worker.started.then((started) => {
      if (!started.ok) return;
      this.log.notice({ workerPid: worker.pid, slot: index, listen: started.listen }, `${which} serving on ${started.listen}`);
      const current = this.slots[index];
      if (current && current.phase.name === 'starting' && current.phase.worker === worker && this.phase === 'running') {
        current.phase = { name: 'serving', worker };
      }
    });
    void worker.exited.then((exit) => {
      const current = this.slots[index];
      if (current) this.onWorkerExit(current, worker, exit.description);
    });
    return worker;
  }

  private onWorkerExit(slot: Slot, worker: WorkerProcess, description: string): void {
    const phase = slot.phase;
    // While the group starts, a failure is start()'s answer, not a crash to restart after.
    if ((phase.name !== 'starting' && phase.name !== 'serving') || phase.worker !== worker || this.phase !== 'running') return;
    slot.lastExit = description;
    const decision = slot.policy.recordCrash(Date.now());
    if (!decision.restart) {
      this.log.fatal(
        { workerPid: worker.pid, slot: slot.index, crashes: decision.recentCrashes },
        `crash loop: the worker died ${decision.recentCrashes} times within ${decision.windowMs / 1000} s ` +
          `(last: pid ${worker.pid} ${description}); mysqlda stops (exit status 1): fix the cause and start it again`,
      );
      this.exitCode = 1;
      void this.stop('crash loop');
      return;
    }
    this.log.error(
      { workerPid: worker.pid, slot: slot.index, restartInMs: decision.delayMs },
      `worker pid ${worker.pid} ${description}; restarting it in ${decision.delayMs} ms`,
    );
    const timer = setTimeout(() => {
      slot.restarts++;
      this.spawnWorker(slot.index, slot);
    }, decision.delayMs);
    slot.phase = { name: 'restarting', timer };
  }

  /** Set by a crash loop: the stop that follows ends with status 1. */
  private exitCode = 0;

  private finish(code: number): void {
    this.phase = 'stopped';
    this.settleFinished(Math.max(code, this.exitCode));
  }
}

const unanswered: AskHandler = async () => ({ ok: false, message: 'the primary does not answer asks' });
