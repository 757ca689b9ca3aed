/**
 * Groups concurrent requests into batches: a request that arrives while a batch is in flight waits for the next
 * one, which starts as soon as the current one settles. So a quiet directory answers one key in one transaction,
 * and a busy one answers many per transaction (one multi-row read, one multi-row insert, one counts update).
 * Requests for the same item share one answer. Pure scheduling: the work is the caller's function.
 *
 * Under load the answers of one batch bring the next requests back spread over a network round trip, and the
 * first of them would start a batch of one while the rest queue behind it (batches of 1 and 63 in turn). So right
 * after a batch of several items, the next batch waits up to `lingerMs` for as many items as were waiting then
 * (that batch's and those queued when it settled: a batch started at any smaller threshold splits the returning
 * clients in two for good); after a batch of one (a quiet directory) the next starts at once.
 */

export type BatchWork<T> = (items: readonly string[]) => Promise<Map<string, T>>;

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class BatchQueue<T> {
  private queued = new Map<string, Waiter<T>[]>();
  private inFlight = 0;
  private lastBatchSize = 0;
  /** The items of the last batch plus those queued when it settled: how many the next batch waits for. */
  private demand = 0;
  private lastSettledAt = 0;
  private linger: NodeJS.Timeout | null = null;

  constructor(
    private readonly work: BatchWork<T>,
    /** The most items one batch takes; the rest wait for the next one. */
    private readonly maxItems: number,
    /** How long, after a batch of several items, the next one may wait for more (0: never). */
    private readonly lingerMs = 0,
    /** Batches at once. */
    private readonly maxInFlight = 1,
  ) {}

  /** Resolves with the item's answer from the batch that takes it; rejects when that batch fails. */
  request(item: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiters = this.queued.get(item);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(item, [{ resolve, reject }]);
      if (this.inFlight < this.maxInFlight) this.startWhenFull();
    });
  }

  /** Items waiting for a batch or in the one in flight. */
  get pending(): number {
    return this.queued.size;
  }

  /** Starts the next batch now, or once enough items have queued up or the linger time is over. */
  private startWhenFull(): void {
    if (this.queued.size === 0) return;
    const wanted = Math.min(this.demand, this.maxItems);
    const lingerLeft = this.lastSettledAt + this.lingerMs - Date.now();
    if (this.lastBatchSize > 1 && this.queued.size < wanted && lingerLeft > 0) {
      this.linger ??= setTimeout(() => this.startBatch(), lingerLeft);
      return;
    }
    this.startBatch();
  }

  private startBatch(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = null;
    if (this.queued.size === 0 || this.inFlight >= this.maxInFlight) return;
    const batch = new Map<string, Waiter<T>[]>();
    for (const [item, waiters] of this.queued) {
      if (batch.size === this.maxItems) break;
      batch.set(item, waiters);
    }
    for (const item of batch.keys()) this.queued.delete(item);
    this.inFlight++;
    this.lastBatchSize = batch.size;
    void this.run(batch);
  }

  private async run(batch: Map<string, Waiter<T>[]>): Promise<void> {
    try {
      const answers = await this.work([...batch.keys()]);
      for (const [item, waiters] of batch) {
        const answer = answers.get(item);
        for (const waiter of waiters) {
          if (answer === undefined) waiter.reject(new Error(`no answer for ${item}`));
          else waiter.resolve(answer);
        }
      }
    } catch (err) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(err);
    } finally {
      this.inFlight--;
      this.lastSettledAt = Date.now();
      this.demand = this.lastBatchSize + this.queued.size;
      this.startWhenFull();
    }
  }
}
