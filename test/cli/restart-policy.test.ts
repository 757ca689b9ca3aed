import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/supervisor/restart-policy.js';

describe('RestartPolicy (the supervisor restarting a dead worker)', () => {
  it('waits 0.1 s after a first crash, doubling with each recent crash', () => {
    const policy = new RestartPolicy();
    expect([0, 1, 2, 3].map((s) => policy.recordCrash(s * 1000))).toEqual([
      { restart: true, delayMs: 100, recentCrashes: 1 },
      { restart: true, delayMs: 200, recentCrashes: 2 },
      { restart: true, delayMs: 400, recentCrashes: 3 },
      { restart: true, delayMs: 800, recentCrashes: 4 },
    ]);
  });

  it('gives up on the fifth crash within 60 s: a crash loop', () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < 4; i++) policy.recordCrash(i * 10_000);
    expect(policy.recordCrash(59_999)).toEqual({ restart: false, recentCrashes: 5, windowMs: 60_000 });
  });

  it('forgets crashes older than the window, so a worker that crashes now and then is always restarted', () => {
    const policy = new RestartPolicy();
    for (let hour = 0; hour < 24; hour++) {
      expect(policy.recordCrash(hour * 3_600_000)).toEqual({ restart: true, delayMs: 100, recentCrashes: 1 });
    }
    policy.recordCrash(100_000_000);
    policy.recordCrash(100_030_000);
    // The first of these two has left the window 61 s later; the second has not.
    expect(policy.recordCrash(100_061_000)).toEqual({ restart: true, delayMs: 200, recentCrashes: 2 });
  });

  it('caps the delay', () => {
    const policy = new RestartPolicy({ maxCrashes: 100, maxDelayMs: 5_000 });
    const delays = Array.from({ length: 10 }, (_, i) => policy.recordCrash(i)).map((d) => (d.restart ? d.delayMs : -1));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
  });
});
