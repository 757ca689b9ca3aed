/**
 * One worker process as the supervisor holds it: spawned with an IPC channel, told its settings, asked for status
 * and reloads, stopped. Its stderr is kept (the last lines) so that a crash Node reports there — an out-of-memory
 * abort, say — is logged with its reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import type { Logger } from '../log/logger.js';
import {
  isMessage,
  type PrimaryAnswer,
  type PrimaryAsk,
  type SupervisorMessage,
  type WorkerMessage,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSettings,
} from './ipc-messages.js';
import type { SelfCommand } from './self-command.js';

export type WorkerStart = { ok: true; listen: string } | { ok: false; reason: string };

/** The primary's answers to a group worker's asks (server.workers > 1). */
export type AskHandler = (ask: PrimaryAsk) => Promise<PrimaryAnswer>;

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** For the log and `status`: "exited with status 1: cannot start: …", "killed by SIGKILL". */
  description: string;
}

const STDERR_TAIL_LINES = 20;

export class WorkerProcess {
  /** Settles once: `ready`, or `start-failed` (or an exit) before it. */
  readonly started: Promise<WorkerStart>;
  readonly exited: Promise<WorkerExit>;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (reply: WorkerReply) => void>();
  private nextId = 1;
  private startFailure: string | null = null;
  private stderrTail: string[] = [];
  /** While stopping: the SIGKILL that ends a worker that does not exit in time. */
  private killTimer: NodeJS.Timeout | null = null;

  private constructor(child: ChildProcess, settings: WorkerSettings, logger: Logger, onAsk?: AskHandler) {
    const forked = onAsk !== undefined;
    this.child = child;
    let settle!: (start: WorkerStart) => void;
    this.started = new Promise((resolve) => (settle = resolve));
    child.on('message', (message: unknown) => {
      if (!isMessage<WorkerMessage>(message)) return;
      // A cluster worker reads its channel from the start and drops what comes before it listens: it says when.
      if (message.type === 'awaiting-start' && forked) this.send({ type: 'start', settings });
      if (message.type === 'ready') settle({ ok: true, listen: message.listen });
      if (message.type === 'start-failed') {
        this.startFailure = message.reason;
        settle({ ok: false, reason: message.reason });
      }
      if (message.type === 'draining' && this.killTimer) this.extendStop(message.timeoutMs);
      if (message.type === 'ask') {
        const { id } = message;
        const answered = onAsk ? onAsk(message.ask) : Promise.resolve<PrimaryAnswer>({ ok: false, message: 'this worker is not part of a group' });
        void answered.then((answer) => this.send({ type: 'answer', id, answer }));
      }
      if (message.type === 'reply') {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.keepStderr(chunk));
    }
    // A spawn failure (ENOENT, EAGAIN) comes as 'error' and then 'exit'/'close' with no code.
    child.on('error', (error) => logger.error({ err: error }, `worker process error: ${error.message}`));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        const exit = { code, signal, description: this.describeExit(code, signal) };
        settle({ ok: false, reason: exit.description });
        for (const [id, reply] of this.pending) reply({ type: 'reply', id, ok: false, error: `the worker ${exit.description}` });
        this.pending.clear();
        resolve(exit);
      });
    });
    if (!forked) this.send({ type: 'start', settings });
  }

  /** Starts `self --daemon-role worker`, in the supervisor's process group, with its settings. */
  static spawn(self: SelfCommand, settings: WorkerSettings, logger: Logger): WorkerProcess {
    const child = spawn(self.file, [...self.args, '-f', settings.configPath, '-a', 'start', '--daemon-role', 'worker'], {
      cwd: settings.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new WorkerProcess(child, settings, logger);
  }

  /**
   * Starts a worker of a group with Node's cluster module, so that every worker accepts on the one listening port.
   * Round-robin: the primary accepts and hands each connection to the next worker, which spreads clients evenly;
   * with SCHED_NONE the kernel wakes whichever worker it likes, and on Linux a few workers take most connections.
   * Accepting is per connection, not per packet: the splice runs in the worker with no hop in between.
   * NODE_CLUSTER_SCHED_POLICY=none (Node's own variable) still chooses the kernel's way, for measuring both.
   */
  static fork(self: SelfCommand, settings: WorkerSettings, logger: Logger, onAsk: AskHandler): WorkerProcess {
    if (process.env.NODE_CLUSTER_SCHED_POLICY !== 'none') cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.setupPrimary({
      exec: self.args[0],
      args: [...self.args.slice(1), '-f', settings.configPath, '-a', 'start', '--daemon-role', 'worker'],
      cwd: settings.cwd,
      // A --no-daemon primary's workers log to the same stdout; a daemon's keep their output for the crash report.
      stdio: settings.logFile === null ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new WorkerProcess(cluster.fork().process, settings, logger, onAsk);
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** Relays a control request; a worker that exits or does not answer in time gives an error reply. */
  request(command: WorkerRequest, timeoutMs: number): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ type: 'reply', id, ok: false, error: `the worker did not answer within ${Math.round(timeoutMs / 1000)} s` });
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send({ type: 'request', id, command });
    });
  }

  reopenLog(): void {
    this.send({ type: 'reopen-log' });
  }

  /**
   * Asks for a clean stop; SIGKILL after `timeoutMs`, or after the drain the worker announces plus `timeoutMs`
   * when that is later. Resolves once it has exited.
   */
  async stop(timeoutMs: number): Promise<WorkerExit> {
    this.stopTimeoutMs = timeoutMs;
    this.send({ type: 'stop' });
    this.killTimer = setTimeout(() => this.kill(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(this.killTimer);
    return exit;
  }

  private stopTimeoutMs = 0;

  /** The worker drains its sessions for up to `drainMs` first: the kill waits for that too. */
  private extendStop(drainMs: number): void {
    clearTimeout(this.killTimer!);
    this.killTimer = setTimeout(() => this.kill(), drainMs + this.stopTimeoutMs);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private send(message: SupervisorMessage): void {
    if (this.child.connected) this.child.send(message, (error) => void error);
  }

  private keepStderr(chunk: string): void {
    const lines = chunk.split('\n').filter((line) => line.trim() !== '');
    this.stderrTail = [...this.stderrTail, ...lines].slice(-STDERR_TAIL_LINES);
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
    if (this.startFailure !== null) return `${how}: cannot start: ${this.startFailure}`;
    const stderr = this.stderrTail.join(' | ');
    return stderr === '' ? how : `${how}; its last output: ${stderr}`;
  }
}
