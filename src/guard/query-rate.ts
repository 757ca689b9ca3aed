/**
 * An account's query rate (users[].max_queries_per_second): a token bucket shared by all its sessions. Holds at
 * most one second's worth of commands, so a burst after a quiet period is bounded too. A command over the rate
 * reserves the next token and waits for it; the caller refuses it instead when that wait would be too long.
 * Pure: the caller passes the time.
 */
export class QueryRate {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.updatedAt = now;
  }

  /** Takes a token if one is there now (the fast path: no wait). */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Reserves a token and returns how long to wait for it (0: at once), or -1 without reserving when the wait
   * would exceed `maxWaitMs`.
   */
  reserve(now: number, maxWaitMs: number): number {
    this.refill(now);
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.perSecond;
    if (waitMs > maxWaitMs) return -1;
    this.tokens -= 1;
    return Math.ceil(waitMs);
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedAt;
    if (elapsed <= 0) return;
    this.updatedAt = now;
    this.tokens = Math.min(this.perSecond, this.tokens + (elapsed * this.perSecond) / 1000);
  }
}
