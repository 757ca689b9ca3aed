/**
 * A worker's FailoverStateStore when the primary of its machine holds the state (server.workers > 1): load and
 * compare-and-set are questions to the primary. When it cannot be asked the store is unavailable, and then no
 * worker moves a library on its own.
 */
import type { CasResult, FailoverStateStore, StoredLibraryState } from './failover-state-store.js';
import { fromWire, toWire, type StateAnswer, type StateAsk } from './state-store-asks.js';

export interface StateOwnerLink {
  /** Rejects when the primary cannot be asked. */
  ask(ask: StateAsk): Promise<StateAnswer>;
  connected(): boolean;
  /** For status: "primary pid 1234". */
  readonly location: string;
}

export class WorkerStateStore implements FailoverStateStore {
  private reachable = true;
  private lastError: string | null = null;

  constructor(private readonly owner: StateOwnerLink) {}

  async load(): Promise<Map<string, StoredLibraryState>> {
    const answer = await this.ask({ op: 'state-load' });
    if (answer.op !== 'state-load') throw new Error(`the primary answered a different question (${answer.op})`);
    return new Map(answer.libraries.map(([name, state]) => [name, fromWire(state)]));
  }

  async compareAndSet(library: string, expectedEpoch: number, next: StoredLibraryState): Promise<CasResult> {
    const answer = await this.ask({ op: 'state-cas', library, expectedEpoch, next: toWire(next) });
    if (answer.op !== 'state-cas') throw new Error(`the primary answered a different question (${answer.op})`);
    const state = answer.state === null ? null : fromWire(answer.state);
    return answer.won && state !== null ? { won: true, state } : { won: false, state };
  }

  available(): boolean {
    return this.reachable && this.owner.connected();
  }

  describe(): { kind: 'worker'; location: string; lastError: string | null } {
    return { kind: 'worker', location: this.owner.location, lastError: this.lastError };
  }

  /** The primary writes the file; it flushes it when it stops. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private async ask(ask: StateAsk): Promise<Extract<StateAnswer, { ok: true }>> {
    let answer: StateAnswer;
    try {
      answer = await this.owner.ask(ask);
    } catch (error) {
      this.reachable = false;
      this.lastError = `the primary holding the failover state cannot be asked: ${error instanceof Error ? error.message : String(error)}`;
      throw new Error(this.lastError, { cause: error });
    }
    this.reachable = true;
    if (!answer.ok) {
      this.lastError = `the primary could not use the failover state: ${answer.message}`;
      throw new Error(this.lastError);
    }
    return answer;
  }
}
