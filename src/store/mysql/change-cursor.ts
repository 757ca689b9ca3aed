/**
 * Where a proxy is in the change feed (mysqlda_key_changes). Sequence numbers are AUTO_INCREMENT values, taken
 * when a row is inserted and visible only once its transaction commits, so a poll can see seq 12 while 11 is still
 * uncommitted; and they may skip on purpose (a rolled-back insert, Galera's auto_increment_increment). A number
 * skipped below the highest one read is kept as a gap and asked for again by later polls, until it shows up or is
 * old enough to be a number that will never be used. Pure.
 *
 * Order: a move updates the key row, then inserts its change row, in one transaction; so two changes of one key
 * commit in the order of their numbers, and a late gap never undoes a newer change of the same key.
 */

export class ChangeCursor {
  /** seq → when it was first found missing (ms). */
  private readonly gaps = new Map<number, number>();

  constructor(
    private last: number,
    /** A gap older than this is given up. */
    private readonly maxGapAgeMs = 60_000,
    /** At most this many gaps are kept (the oldest go first). */
    private readonly maxGaps = 10_000,
  ) {}

  /** The highest sequence number read. */
  get lastSeq(): number {
    return this.last;
  }

  /** The gaps to ask for again (expired ones are dropped). */
  gapsToRead(now: number): number[] {
    for (const [seq, since] of this.gaps) if (now - since > this.maxGapAgeMs) this.gaps.delete(seq);
    return [...this.gaps.keys()];
  }

  /** Records the sequence numbers a poll returned: new gaps below the highest, gaps filled, the new highest. */
  advance(seqs: readonly number[], now: number): void {
    const seen = new Set(seqs);
    for (const seq of seqs) this.gaps.delete(seq);
    let highest = this.last;
    for (const seq of seqs) if (seq > highest) highest = seq;
    // A jump larger than the gap limit cannot all be tracked: the newest numbers are the likeliest to commit late.
    for (let seq = Math.max(this.last + 1, highest - this.maxGaps); seq < highest; seq++) {
      if (!seen.has(seq)) this.gaps.set(seq, now);
    }
    while (this.gaps.size > this.maxGaps) this.gaps.delete(this.gaps.keys().next().value!);
    this.last = highest;
  }
}
