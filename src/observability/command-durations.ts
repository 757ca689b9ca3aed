/**
 * How long commands take, from the moment a command goes to its server to the end of its answer, per library.
 * Counted here into fixed buckets with no allocation per observation (the splice calls observe once per
 * command); /metrics reads the totals when scraped. prom-client's own Histogram builds a label hash and an
 * object per observation, which the splice cannot afford.
 */

/** The label of what sessions do before they choose a library. */
export const LOBBY_LABEL = '(lobby)';

/** Upper bounds in seconds: from 100 µs (a point select on a near server) to 10 s; slower lands in +Inf. */
export const COMMAND_SECONDS_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The durations of one library's commands. */
export class DurationBuckets {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. Not cumulative. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[] = COMMAND_SECONDS_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    // Most commands are fast: a linear walk from the smallest bucket ends within a few steps.
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  /** Cumulative counts per upper bound, as Prometheus histograms are written (`le`), ending with +Inf. */
  cumulative(): { le: string; count: number }[] {
    let running = 0;
    const rows = this.bounds.map((bound, i) => ({ le: String(bound), count: (running += this.counts[i]) }));
    rows.push({ le: '+Inf', count: running + this.counts[this.bounds.length] });
    return rows;
  }
}

/** Every library's command durations, looked up once per routing (never per command). */
export class CommandDurations {
  private readonly libraries = new Map<string, DurationBuckets>();

  constructor(private readonly bounds: readonly number[] = COMMAND_SECONDS_BUCKETS) {}

  forLibrary(library: string): DurationBuckets {
    let buckets = this.libraries.get(library);
    if (!buckets) {
      buckets = new DurationBuckets(this.bounds);
      this.libraries.set(library, buckets);
    }
    return buckets;
  }

  entries(): IterableIterator<[string, DurationBuckets]> {
    return this.libraries.entries();
  }
}
