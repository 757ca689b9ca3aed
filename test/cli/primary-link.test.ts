import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isMessage, type WorkerMessage } from '../../src/supervisor/ipc-messages.js';
import { PrimaryLink, type IpcChannel } from '../../src/supervisor/primary-link.js';

/** A channel whose sent messages the test reads and answers by hand. */
function channel() {
  const emitter = new EventEmitter();
  const sent: WorkerMessage[] = [];
  const state = { connected: true };
  Object.defineProperty(emitter, 'connected', { get: () => state.connected });
  const ipc = Object.assign(emitter, {
    send(message: unknown, callback: (error: Error | null) => void) {
      if (isMessage<WorkerMessage>(message)) sent.push(message);
      callback(null);
      return true;
    },
  }) as unknown as IpcChannel;
  return { ipc, emitter, sent, state };
}

describe('PrimaryLink (a group worker asking its primary over IPC)', () => {
  it('numbers its asks and settles each with the answer of the same id, in whatever order they come', async () => {
    const { ipc, emitter, sent } = channel();
    const link = new PrimaryLink(ipc, 1);
    const first = link.ask({ op: 'resolve-key', key: 'a' });
    const second = link.ask({ op: 'resolve-key', key: 'b' });
    expect(sent).toEqual([
      { type: 'ask', id: 1, ask: { op: 'resolve-key', key: 'a' } },
      { type: 'ask', id: 2, ask: { op: 'resolve-key', key: 'b' } },
    ]);
    emitter.emit('message', { type: 'answer', id: 2, answer: { ok: true, op: 'resolve-key', library: 'lib_b', isNew: true } });
    emitter.emit('message', { type: 'stop' });
    emitter.emit('message', { type: 'answer', id: 99, answer: { ok: false, message: 'nobody asked' } });
    emitter.emit('message', { type: 'answer', id: 1, answer: { ok: true, op: 'resolve-key', library: 'lib_a', isNew: false } });
    expect(await first).toEqual({ ok: true, op: 'resolve-key', library: 'lib_a', isNew: false });
    expect(await second).toEqual({ ok: true, op: 'resolve-key', library: 'lib_b', isNew: true });
    link.close();
  });

  it('rejects the asks in flight when the primary goes, and new asks at once', async () => {
    const { ipc, emitter, state } = channel();
    const link = new PrimaryLink(ipc, 1);
    const pending = link.ask({ op: 'group-status' });
    state.connected = false;
    emitter.emit('disconnect');
    await expect(pending).rejects.toThrow('the primary has gone');
    await expect(link.ask({ op: 'group-status' })).rejects.toThrow('the channel to the primary is closed');
    expect(link.connected()).toBe(false);
  });

  it('rejects an ask not answered in time, and ignores its late answer', async () => {
    const { ipc, emitter } = channel();
    const link = new PrimaryLink(ipc, 1, 20);
    await expect(link.ask({ op: 'group-sessions' })).rejects.toThrow('no answer within 0.02 s');
    emitter.emit('message', { type: 'answer', id: 1, answer: { ok: true, op: 'group-sessions', sessions: [] } });
    link.close();
  });
});
