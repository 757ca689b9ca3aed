/**
 * Failed-login throttling per client address, as MySQL's connection_control: after `threshold` consecutive
 * failures from one address, each further attempt waits before it is greeted, one step longer each time, up to
 * `maxDelayMs`; a successful login clears the address. Pure (the caller supplies nothing but addresses), and
 * bounded: the least recently failing addresses are forgotten first, so a flood of addresses cannot grow it.
 */
export interface ThrottleLimits {
  /** Consecutive failures before attempts are delayed; 0 turns throttling off. */
  threshold: number;
  maxDelayMs: number;
  stepMs: number;
}

export class LoginThrottle {
  /** Address → consecutive failures; Map order is recency (a failing address is moved to the end). */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly limits: () => ThrottleLimits,
    private readonly capacity = 65_536,
  ) {}

  /** How long an attempt from this address waits before its greeting (0: not throttled). */
  delayFor(address: string): number {
    const { threshold, maxDelayMs, stepMs } = this.limits();
    if (threshold === 0) return 0;
    const count = this.failures.get(address) ?? 0;
    if (count < threshold) return 0;
    return Math.min(maxDelayMs, (count - threshold + 1) * stepMs);
  }

  failed(address: string): void {
    if (this.limits().threshold === 0) return;
    const count = (this.failures.get(address) ?? 0) + 1;
    this.failures.delete(address);
    this.failures.set(address, count);
    if (this.failures.size > this.capacity) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }

  /** Addresses currently counted (for /status). */
  get size(): number {
    return this.failures.size;
  }
}
