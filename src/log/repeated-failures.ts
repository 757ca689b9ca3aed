/**
 * Log lines for failures a client can repeat at will (refused logins, malformed handshakes, TLS errors): the first
 * of a kind from one client address is written at once, the repeats within the interval are only counted and
 * summed up in one line when the interval is over: "999 more like this (login refused: 1045) from 10.0.0.9 in the
 * last 10 s". Memory
 * stays bounded however many addresses a flood comes from: at most `maxKinds` are tracked (the oldest is summed
 * up early to make room), and at most `maxFirstLines` first lines are written per interval; beyond that, failures
 * are only counted, in one line for all of them.
 */

export type LogWrite = (fields: Record<string, unknown>, msg: string) => void;

export interface RepeatedFailuresOptions {
  intervalMs?: number;
  maxKinds?: number;
  maxFirstLines?: number;
  now?: () => number;
}

interface Tracked {
  since: number;
  source: string;
  /** Repeats counted since the first line (not written). */
  more: number;
}

export class RepeatedFailures {
  private readonly tracked = new Map<string, Tracked>(); // oldest first: a repeat after the interval re-inserts
  private readonly intervalMs: number;
  private readonly maxKinds: number;
  private readonly maxFirstLines: number;
  private readonly now: () => number;
  private firstLines = 0;
  private overflow = { since: 0, count: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: LogWrite,
    options: RepeatedFailuresOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.maxKinds = options.maxKinds ?? 1024;
    this.maxFirstLines = options.maxFirstLines ?? 100;
    this.now = options.now ?? Date.now;
  }

  /**
   * One failure: `source` is the client address, `kind` what failed (the same kind must give the same string:
   * an error code, not a message quoting what the client sent). Writes `fields` and `msg` unless it is a repeat.
   */
  report(source: string, kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.now();
    const key = `${source}\n${kind}`;
    const seen = this.tracked.get(key);
    if (seen !== undefined && now - seen.since < this.intervalMs) {
      seen.more++;
      return;
    }
    if (seen !== undefined) this.forget(key, seen, now);
    if (this.firstLines >= this.maxFirstLines) {
      if (this.overflow.count++ === 0) this.overflow.since = now;
      this.startTimer();
      return;
    }
    if (this.tracked.size >= this.maxKinds) {
      const [oldestKey, oldest] = this.tracked.entries().next().value as [string, Tracked];
      this.forget(oldestKey, oldest, now);
    }
    this.tracked.set(key, { since: now, source, more: 0 });
    this.firstLines++;
    this.write(fields, msg);
    this.startTimer();
  }

  /** Sums up every interval that is over. Runs on a timer; tests call it with their own clock. */
  sweep(now = this.now()): void {
    for (const [key, seen] of this.tracked) {
      if (now - seen.since < this.intervalMs) break; // the rest are younger
      this.forget(key, seen, now);
    }
    if (this.overflow.count > 0 && now - this.overflow.since >= this.intervalMs) this.sumUpOverflow(now);
    this.firstLines = 0;
    if (this.tracked.size === 0 && this.overflow.count === 0) this.stopTimer();
  }

  /** Sums up what is still counted and stops the timer. */
  close(): void {
    const now = this.now();
    for (const [key, seen] of this.tracked) this.forget(key, seen, now);
    if (this.overflow.count > 0) this.sumUpOverflow(now);
    this.stopTimer();
  }

  private forget(key: string, seen: Tracked, now: number): void {
    this.tracked.delete(key);
    if (seen.more === 0) return;
    const kind = key.slice(seen.source.length + 1);
    this.write(
      { client: seen.source, kind, repeated: seen.more },
      `${seen.more} more like this (${kind}) from ${seen.source} in the last ${seconds(now - seen.since)} s`,
    );
  }

  private sumUpOverflow(now: number): void {
    const { count, since } = this.overflow;
    this.overflow = { since: 0, count: 0 };
    this.write({ repeated: count }, `${count} more failures from many clients in the last ${seconds(now - since)} s, not logged one by one`);
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.intervalMs).unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function seconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1000));
}
