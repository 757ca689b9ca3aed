import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drainSessions, type DrainableSession } from '../../src/session/session-drain.js';

/** Sessions that end when told to (ended()), as the server's set sees them. */
function sessionsOf(count: number) {
  const sessions = new Set<DrainableSession>();
  let onEnded = () => {};
  const all = Array.from({ length: count }, () => {
    const session = { closed: false, drained: 0, drain: () => void session.drained++ };
    sessions.add(session);
    return session;
  });
  const end = (session: DrainableSession) => {
    sessions.delete(session);
    onEnded();
  };
  return { sessions, all, end, watch: (listener: () => void) => void (onEnded = listener) };
}

describe('drainSessions', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks every session to drain and resolves once the last has ended', async () => {
    const { sessions, all, end, watch } = sessionsOf(2);
    let done = false;
    const drained = drainSessions(sessions, 30_000, watch).then(() => (done = true));
    expect(all.map((s) => s.drained)).toEqual([1, 1]);
    end(all[0]);
    await Promise.resolve();
    expect(done).toBe(false);
    end(all[1]);
    await drained;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves at the timeout with the sessions still busy', async () => {
    const { sessions, watch } = sessionsOf(1);
    const drained = drainSessions(sessions, 5_000, watch);
    vi.advanceTimersByTime(5_000);
    await drained;
    expect(sessions.size).toBe(1);
  });

  it('resolves at once without sessions', async () => {
    const { sessions, watch } = sessionsOf(0);
    await drainSessions(sessions, 5_000, watch);
    expect(vi.getTimerCount()).toBe(0);
  });
});
