/**
 * Groups concurrent requests into batches: a request that arrives while a batch is in flight waits for the next
 * one, which starts as soon as the current one settles. So a quiet directory answers one key in one transaction,
 * and a busy one answers many per transaction (one multi-row read, one multi-row insert, one counts update).
 * Requests for the same item share one answer. Pure scheduling: the work is the caller's function.
 */

export type BatchWork<T> = (items: readonly string[]) => Promise<Map<string, T>>;

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class BatchQueue<T> {
  private queued = new Map<string, Waiter<T>[]>();
  private inFlight = false;

  constructor(
    private readonly work: BatchWork<T>,
    /** The most items one batch takes; the rest wait for the next one. */
    private readonly maxItems: number,
  ) {}

  /** Resolves with the item's answer from the batch that takes it; rejects when that batch fails. */
  request(item: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiters = this.queued.get(item);
      if (waiters) waiters.push({ resolve, reject });
      else this.queued.set(item, [{ resolve, reject }]);
      if (!this.inFlight) this.startBatch();
    });
  }

  /** Items waiting for a batch or in the one in flight. */
  get pending(): number {
    return this.queued.size;
  }

  private startBatch(): void {
    if (this.queued.size === 0) return;
    const batch = new Map<string, Waiter<T>[]>();
    for (const [item, waiters] of this.queued) {
      if (batch.size === this.maxItems) break;
      batch.set(item, waiters);
    }
    for (const item of batch.keys()) this.queued.delete(item);
    this.inFlight = true;
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
      this.inFlight = false;
      this.startBatch();
    }
  }
}
