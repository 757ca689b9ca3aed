/**
 * A worker's IPC channel and the primary at its other end, in one process: messages cross as JSON (as Node's
 * channel carries them) on a later turn of the event loop.
 */
import { EventEmitter } from 'node:events';
import type { IpcChannel } from '../../src/supervisor/primary-link.js';
import type { PrimaryAnswer, PrimaryAsk } from '../../src/supervisor/ipc-messages.js';

export interface IpcPair {
  channel: IpcChannel;
  /** Every ask the primary received, in order. */
  asks: PrimaryAsk[];
  /** Closes the channel as a primary that died would. */
  disconnect(): void;
  /** While held, asks are received but not answered. */
  hold(held: boolean): void;
}

export function ipcPair(answer: (ask: PrimaryAsk) => Promise<PrimaryAnswer>): IpcPair {
  const emitter = new EventEmitter();
  let connected = true;
  let held = false;
  const asks: PrimaryAsk[] = [];
  // A getter (Object.assign would copy its value once).
  Object.defineProperty(emitter, 'connected', { get: () => connected });
  const channel = Object.assign(emitter, {
    send(message: unknown, callback: (error: Error | null) => void): boolean {
      const copy = JSON.parse(JSON.stringify(message)) as { type: string; id: number; ask: PrimaryAsk };
      setImmediate(async () => {
        callback(null);
        if (copy.type !== 'ask') return;
        asks.push(copy.ask);
        if (held) return;
        const reply = JSON.parse(JSON.stringify(await answer(copy.ask))) as PrimaryAnswer;
        if (connected) emitter.emit('message', { type: 'answer', id: copy.id, answer: reply });
      });
      return true;
    },
  }) as unknown as IpcChannel;
  return {
    channel,
    asks,
    disconnect() {
      connected = false;
      emitter.emit('disconnect');
    },
    hold(value) {
      held = value;
    },
  };
}
