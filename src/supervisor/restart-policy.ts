/**
 * When the supervisor restarts a worker that died, and when it gives up. Pure: the caller passes the clock.
 *
 * mysqlda's monitor restarted its worker once a second, forever, so a worker that could not start (a bad save
 * line, a backend down at start) filled the log for ever without anyone noticing. Here the delay doubles with each
 * recent crash, and a crash loop — `maxCrashes` crashes within `windowMs` — stops the daemon with an error.
 */

export interface RestartPolicyOptions {
  /** Delay before restarting after a first crash. */
  initialDelayMs: number;
  /** The delay doubles with each recent crash up to this. */
  maxDelayMs: number;
  /** This many crashes within windowMs is a crash loop. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  /** Restart after delayMs; `recentCrashes` counts this crash. */
  | { restart: true; delayMs: number; recentCrashes: number }
  /** A crash loop: stop the daemon. */
  | { restart: false; recentCrashes: number; windowMs: number };

export class RestartPolicy {
  private readonly options: RestartPolicyOptions;
  /** Times of the crashes inside the window, oldest first. */
  private crashes: number[] = [];

  constructor(options: Partial<RestartPolicyOptions> = {}) {
    this.options = { ...DEFAULT_RESTART_POLICY, ...options };
  }

  /** Records a crash at `now` (ms) and decides what to do about it. */
  recordCrash(now: number): RestartDecision {
    const { initialDelayMs, maxDelayMs, maxCrashes, windowMs } = this.options;
    this.crashes = this.crashes.filter((time) => now - time < windowMs);
    this.crashes.push(now);
    const recentCrashes = this.crashes.length;
    if (recentCrashes >= maxCrashes) return { restart: false, recentCrashes, windowMs };
    const delayMs = Math.min(maxDelayMs, initialDelayMs * 2 ** (recentCrashes - 1));
    return { restart: true, delayMs, recentCrashes };
  }
}
