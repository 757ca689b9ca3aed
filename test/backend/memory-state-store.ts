import type { CasResult, FailoverStateStore, StoredLibraryState } from '../../src/backend/failover-state-store.js';

/**
 * A FailoverStateStore in memory that several CurrentServers share, as proxies share the directory: its answers
 * come a turn later (like a server's), and it can be made unreachable.
 */
export class MemoryStateStore {
  readonly rows = new Map<string, StoredLibraryState>();
  reachable = true;
  /** Compare-and-sets asked for, in order: `library@expectedEpoch→current`. */
  readonly attempts: string[] = [];

  /** One proxy's handle on the store. */
  client(): FailoverStateStore {
    return {
      load: async () => {
        await turn();
        this.check();
        return new Map([...this.rows].map(([name, row]) => [name, copy(row)]));
      },
      compareAndSet: async (library, expectedEpoch, next): Promise<CasResult> => {
        await turn();
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

  private check(): void {
    if (!this.reachable) throw new Error('the directory is unreachable: connect ECONNREFUSED');
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

function copy(state: StoredLibraryState): StoredLibraryState {
  return { ...state, servers: [...state.servers], leftByFailover: new Map(state.leftByFailover) };
}
