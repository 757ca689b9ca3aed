/**
 * A server program the bench starts as a child process (the proxy, haproxy) and waits for until it accepts TCP
 * connections on its port. Its pid is what /proc is read for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const TAIL_BYTES = 4096;
const POLL_MS = 5;
const STOP_TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartOptions {
  /** For messages: 'mysqlda', 'haproxy'. */
  name: string;
  command: string;
  args: string[];
  port: number;
  timeoutMs?: number;
}

export class ListeningProcess {
  /** Milliseconds from spawn to the first accepted connection. */
  readonly startMs: number;
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    startMs: number,
  ) {
    this.startMs = startMs;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Spawns the program and resolves once its port accepts a connection (polled every 5 ms). */
  static async start(options: StartOptions): Promise<ListeningProcess> {
    const began = performance.now();
    const child = spawn(options.command, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-TAIL_BYTES));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    const deadline = began + (options.timeoutMs ?? 30_000);
    while (performance.now() < deadline) {
      if (spawnError) throw new Error(`${options.name}: cannot run ${options.command}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${options.name} exited with ${child.exitCode ?? child.signalCode} before listening:\n${output}`);
      }
      if (await accepts(options.port)) {
        const started = new ListeningProcess(options.name, child, performance.now() - began);
        started.output = output;
        child.stdout!.off('data', keep).on('data', (chunk: Buffer) => started.keep(chunk));
        child.stderr!.off('data', keep).on('data', (chunk: Buffer) => started.keep(chunk));
        return started;
      }
      await sleep(POLL_MS);
    }
    child.kill('SIGKILL');
    throw new Error(`${options.name} did not listen on 127.0.0.1:${options.port} within ${options.timeoutMs ?? 30_000} ms:\n${output}`);
  }

  /** The last few KB the program wrote (stdout and stderr), for error messages. */
  get outputTail(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (a clean stop: a --cpu-prof profile is written then), SIGKILL after 15 s; resolves once it has exited. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString('utf8')).slice(-TAIL_BYTES);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
