/**
 * The supervisor (mysqlda's monitor): keeps one worker serving, restarts it with back-off when it dies, and gives
 * up with an error on a crash loop. It holds the pid file and serves the control socket, relaying status and
 * reload to the worker. It never serves clients itself, so a crash in the proxy never takes it down.
 *
 * Phases: starting → serving → (the worker dies) restarting → starting → … ; any of them → stopping → stopped.
 */
import type { Logger } from '../log/logger.js';
import type { ReloadResult } from '../server.js';
import type { DaemonStatus, WorkerPhase } from './control-protocol.js';
import type { WorkerSettings } from './ipc-messages.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import type { SelfCommand } from './self-command.js';
import { WorkerProcess, type WorkerStart } from './worker-process.js';

/**
 * A worker gets this long to close its sessions and flush before SIGKILL, counted after the drain it announces
 * (server.drain_timeout_s); mysqlda -a stop waits 5 s longer than that.
 */
const WORKER_STOP_TIMEOUT_MS = 25_000;
const STATUS_TIMEOUT_MS = 5_000;
const RELOAD_TIMEOUT_MS = 120_000;

type Phase =
  | { name: 'idle' }
  | { name: 'starting'; worker: WorkerProcess }
  | { name: 'serving'; worker: WorkerProcess }
  | { name: 'restarting'; timer: NodeJS.Timeout }
  | { name: 'stopping'; worker: WorkerProcess | null }
  | { name: 'stopped' };

export interface SupervisorOptions {
  self: SelfCommand;
  settings: WorkerSettings;
  logger: Logger;
  version: string;
  restartPolicy?: Partial<RestartPolicyOptions>;
}

export class Supervisor {
  private phase: Phase = { name: 'idle' };
  private readonly policy: RestartPolicy;
  private readonly startedAt = new Date();
  private restarts = 0;
  /** Until the first worker serves, its failure is start()'s answer, not a crash to restart after. */
  private hasServed = false;
  private lastExit: string | null = null;
  private settleFinished!: (code: number) => void;
  /** The supervisor's exit status: 0 after a requested stop, 1 after a crash loop. */
  readonly finished = new Promise<number>((resolve) => (this.settleFinished = resolve));

  constructor(private readonly options: SupervisorOptions) {
    this.policy = new RestartPolicy(options.restartPolicy);
  }

  /** Starts the first worker. A first worker that cannot start is not retried: the operator sees why at once. */
  async start(): Promise<WorkerStart> {
    if (this.phase.name !== 'idle') return { ok: false, reason: 'stopped before the first worker started' };
    const worker = this.spawnWorker();
    const started = await worker.started;
    if (!started.ok) {
      await worker.exited;
      this.finish(1);
    }
    return started;
  }

  /** Stops the worker cleanly (SIGTERM, SIGINT, mysqlda -a stop). A second call kills it at once. */
  async stop(reason: string): Promise<void> {
    const phase = this.phase;
    switch (phase.name) {
      case 'idle':
        this.log.notice(`${reason}: stopping before the first worker started`);
        this.finish(0);
        return;
      case 'starting':
      case 'serving':
        this.log.notice(`${reason}: stopping the worker (pid ${phase.worker.pid})`);
        this.phase = { name: 'stopping', worker: phase.worker };
        await phase.worker.stop(WORKER_STOP_TIMEOUT_MS);
        this.log.notice('mysqlda stopped');
        this.finish(0);
        return;
      case 'restarting':
        clearTimeout(phase.timer);
        this.log.notice(`${reason}: stopping (no worker was running)`);
        this.finish(0);
        return;
      case 'stopping':
        this.log.warn(`${reason} again while stopping: killing the worker`);
        phase.worker?.kill();
        return;
      case 'stopped':
        return;
    }
  }

  async status(): Promise<DaemonStatus> {
    const phase = this.phase;
    const worker = phase.name === 'starting' || phase.name === 'serving' ? phase.worker : null;
    const reply = phase.name === 'serving' ? await phase.worker.request('status', STATUS_TIMEOUT_MS) : null;
    return {
      mode: 'daemon',
      version: this.options.version,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      configPath: this.options.settings.configPath,
      logFile: this.options.settings.logFile,
      worker: { pid: worker?.pid ?? null, phase: this.workerPhase(), restarts: this.restarts, lastExit: this.lastExit },
      proxy: reply?.ok && 'status' in reply ? reply.status : null,
    };
  }

  async reload(): Promise<ReloadResult> {
    const phase = this.phase;
    if (phase.name !== 'serving') {
      return { ok: false, message: `no worker is serving (${this.workerPhase()}); nothing was reloaded, try again`, changes: [] };
    }
    const reply = await phase.worker.request('reload', RELOAD_TIMEOUT_MS);
    if (!reply.ok) return { ok: false, message: reply.error, changes: [] };
    if (!('reload' in reply)) return { ok: false, message: 'the worker answered something else', changes: [] };
    return reply.reload;
  }

  /** After logrotate moved the file: the worker reopens its own descriptor. */
  reopenWorkerLog(): void {
    const phase = this.phase;
    if (phase.name === 'starting' || phase.name === 'serving') phase.worker.reopenLog();
  }

  /** Last resort (the supervisor itself crashed): no worker left behind. */
  killWorker(): void {
    const phase = this.phase;
    if (phase.name === 'starting' || phase.name === 'serving' || phase.name === 'stopping') phase.worker?.kill();
  }

  private get log(): Logger {
    return this.options.logger;
  }

  private workerPhase(): WorkerPhase {
    switch (this.phase.name) {
      case 'idle':
      case 'starting':
        return 'starting';
      case 'serving':
        return 'serving';
      case 'restarting':
        return 'restarting';
      default:
        return 'stopping';
    }
  }

  private spawnWorker(): WorkerProcess {
    const worker = WorkerProcess.spawn(this.options.self, this.options.settings, this.log);
    this.phase = { name: 'starting', worker };
    this.log.info(`worker pid ${worker.pid} starting`);
    void worker.started.then((started) => {
      if (started.ok && this.phase.name === 'starting' && this.phase.worker === worker) {
        this.phase = { name: 'serving', worker };
        this.hasServed = true;
        this.log.notice({ workerPid: worker.pid, listen: started.listen }, `worker pid ${worker.pid} serving on ${started.listen}`);
      }
    });
    void worker.exited.then((exit) => this.onWorkerExit(worker, exit.description));
    return worker;
  }

  private onWorkerExit(worker: WorkerProcess, description: string): void {
    const phase = this.phase;
    if ((phase.name !== 'starting' && phase.name !== 'serving') || phase.worker !== worker || !this.hasServed) return;
    this.lastExit = description;
    const decision = this.policy.recordCrash(Date.now());
    if (!decision.restart) {
      this.log.fatal(
        { workerPid: worker.pid, crashes: decision.recentCrashes },
        `crash loop: the worker died ${decision.recentCrashes} times within ${decision.windowMs / 1000} s ` +
          `(last: pid ${worker.pid} ${description}); mysqlda stops (exit status 1): fix the cause and start it again`,
      );
      this.finish(1);
      return;
    }
    this.log.error(
      { workerPid: worker.pid, restartInMs: decision.delayMs },
      `worker pid ${worker.pid} ${description}; restarting it in ${decision.delayMs} ms`,
    );
    const timer = setTimeout(() => {
      this.restarts++;
      this.spawnWorker();
    }, decision.delayMs);
    this.phase = { name: 'restarting', timer };
  }

  private finish(code: number): void {
    this.phase = { name: 'stopped' };
    this.settleFinished(code);
  }
}
