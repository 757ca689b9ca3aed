import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/guard/login-throttle.js';

const limits = { threshold: 3, maxDelayMs: 2500, stepMs: 1000 };

describe('LoginThrottle', () => {
  it('delays an address from its threshold on, one step more per failure up to the maximum, and a success clears it', () => {
    const throttle = new LoginThrottle(() => limits);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(throttle.delayFor('10.0.0.1'));
      throttle.failed('10.0.0.1');
    }
    expect(delays).toEqual([0, 0, 0, 1000, 2000, 2500]);
    expect(throttle.delayFor('10.0.0.2')).toBe(0);
    throttle.succeeded('10.0.0.1');
    expect(throttle.delayFor('10.0.0.1')).toBe(0);
  });

  it('counts nothing when turned off (threshold 0)', () => {
    const throttle = new LoginThrottle(() => ({ ...limits, threshold: 0 }));
    for (let i = 0; i < 10; i++) throttle.failed('10.0.0.1');
    expect(throttle.delayFor('10.0.0.1')).toBe(0);
    expect(throttle.size).toBe(0);
  });

  it('forgets the least recently failing addresses first when full, so a flood of addresses cannot grow it', () => {
    const throttle = new LoginThrottle(() => ({ ...limits, threshold: 1 }), 3);
    for (const address of ['a', 'b', 'c']) throttle.failed(address);
    throttle.failed('a'); // a is now the most recent
    throttle.failed('d');
    expect(throttle.size).toBe(3);
    expect(throttle.delayFor('b')).toBe(0);
    expect(throttle.delayFor('a')).toBe(2000);
  });
});
