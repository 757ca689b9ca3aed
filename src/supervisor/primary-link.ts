/**
 * A group worker's line to its primary (server.workers > 1): numbered asks over the IPC channel, each settled by
 * the `answer` with its id, or rejected when the channel is closed, closes, or no answer comes in time.
 */
import { isMessage, type PrimaryAnswer, type PrimaryAsk, type SupervisorMessage, type WorkerMessage } from './ipc-messages.js';

/** The part of `process` (a forked child) the link uses; tests pass an EventEmitter. */
export interface IpcChannel {
  readonly connected: boolean;
  send?(message: unknown, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** An ask takes this long at most: the owner's fsync is well under it, a stuck primary is not. */
const ASK_TIMEOUT_MS = 10_000;

interface Pending {
  resolve(answer: PrimaryAnswer): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class PrimaryLink {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  readonly location: string;

  constructor(
    private readonly channel: IpcChannel,
    primaryPid: number,
    private readonly timeoutMs = ASK_TIMEOUT_MS,
  ) {
    this.location = `primary pid ${primaryPid}`;
    channel.on('message', this.onMessage);
    channel.on('disconnect', this.onDisconnect);
  }

  connected(): boolean {
    return this.channel.connected;
  }

  ask<A extends PrimaryAnswer = PrimaryAnswer>(ask: PrimaryAsk): Promise<A> {
    if (!this.channel.connected || !this.channel.send) return Promise.reject(new Error('the channel to the primary is closed'));
    const id = this.nextId++;
    return new Promise<A>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (answer: PrimaryAnswer) => void, reject, timer });
      const message: WorkerMessage = { type: 'ask', id, ask };
      this.channel.send!(message, (error) => {
        if (error) this.settle(id, error);
      });
    });
  }

  /** Stops listening; asks still waiting are rejected. */
  close(): void {
    this.channel.off('message', this.onMessage);
    this.channel.off('disconnect', this.onDisconnect);
    this.onDisconnect();
  }

  private readonly onMessage = (message: unknown): void => {
    if (!isMessage<SupervisorMessage>(message) || message.type !== 'answer') return;
    this.settle(message.id, message.answer);
  };

  private readonly onDisconnect = (): void => {
    for (const id of [...this.pending.keys()]) this.settle(id, new Error('the primary has gone'));
  };

  private settle(id: number, outcome: PrimaryAnswer | Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}
