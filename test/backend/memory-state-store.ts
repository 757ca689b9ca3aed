import type { CasResult, FailoverStateStore, StoredLibraryState } from '../../src/backend/failover-state-store.js';

/**
 * A FailoverStateStore in memory that several CurrentServers share, as proxies share the directory: its answers
 * come a turn later (like a server's), and it can be made unreachable.
 */
export class MemoryStateStore {
  readonly rows = new Map<string, StoredLibraryState>();
  reachable = true;
  /** While set, calls wait without an answer (a frozen server); answered once it is cleared. */
  private silence: { until: Promise<void>; end: () => void } | null = null;
  /** Compare-and-sets asked for, in order: `library@expectedEpoch→current`. */
  readonly attempts: string[] = [];

  /** One proxy's handle on the store. */
  client(): FailoverStateStore {
    return {
      load: async () => {
        await this.answerTurn();
        this.check();
        return new Map([...this.rows].map(([name, row]) => [name, copy(row)]));
      },
      compareAndSet: async (library, expectedEpoch, next): Promise<CasResult> => {
        await this.answerTurn();
        this.check();
        this.attempts.push(`${library}@${expectedEpoch}→${next.current}`);
        const stored = this.rows.get(library) ?? null;
        if ((stored?.epoch ?? 0) !== expectedEpoch) return { won: false, state: stored && copy(stored) };
        const written = { ...copy(next), epoch: expectedEpoch + 1 };
        this.rows.set(library, written);
        return { won: true, state: copy(written) };
      },
      available: () => this.reachable,
      describe: () => ({ kind: 'mysql', location: 'memory:1', lastError: this.reachable ? null : 'connect ECONNREFUSED' }),
      flush: async () => undefined,
      close: async () => undefined,
    };
  }

  set silent(silent: boolean) {
    if (silent && !this.silence) {
      let end = () => {};
      const until = new Promise<void>((resolve) => (end = resolve));
      this.silence = { until, end };
    } else if (!silent && this.silence) {
      this.silence.end();
      this.silence = null;
    }
  }

  private async answerTurn(): Promise<void> {
    await turn();
    if (this.silence) await this.silence.until;
  }

  private check(): void {
    if (!this.reachable) throw new Error('the directory is unreachable: connect ECONNREFUSED');
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function copy(state: StoredLibraryState): StoredLibraryState {
  return { ...state, servers: [...state.servers], leftByFailover: new Map(state.leftByFailover) };
}
