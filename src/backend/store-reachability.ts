/**
 * Whether the failover state store answered at the last attempt (a poll or a compare-and-set), with each change
 * logged once, and each library that stays on a dead server because of it logged once per outage.
 */
import type { Logger } from '../log/logger.js';
import type { FailoverStateStore } from './failover-state-store.js';

export interface StateStoreView {
  kind: 'files' | 'mysql' | 'worker';
  location: string;
  reachable: boolean;
  lastError: string | null;
  /** When `reachable` last changed (ms since the epoch). */
  since: number;
}

export class StoreReachability {
  private reachable = true;
  private lastError: string | null = null;
  private since = Date.now();
  /** Libraries whose current server is down while the store is unreachable: logged once each. */
  private readonly stuck = new Set<string>();

  constructor(
    private readonly store: FailoverStateStore,
    private readonly logger: Logger,
  ) {}

  /** Whether moves can be stored now. */
  usable(): boolean {
    return this.reachable && this.store.available();
  }

  view(): StateStoreView {
    const { kind, location, lastError } = this.store.describe();
    return { kind, location, reachable: this.usable(), lastError: this.lastError ?? lastError, since: this.since };
  }

  /** An attempt failed: returns the reason. */
  failed(err: unknown): string {
    const error = (err as Error | null)?.message ?? String(err);
    this.lastError = error;
    if (!this.reachable) return error;
    this.reachable = false;
    this.since = Date.now();
    const { kind, location } = this.store.describe();
    this.logger.error(
      { store: kind, location },
      `the failover state store (${kind}, ${location}) is unreachable: ${error}; every library keeps its current server and none fails over until it is back`,
    );
    return error;
  }

  succeeded(): void {
    // The client may also have been found unreachable by its other user (the key directory): a success ends that
    // outage too, so the next one logs its stuck libraries again.
    this.stuck.clear();
    if (this.reachable) return;
    this.reachable = true;
    this.lastError = null;
    this.since = Date.now();
    const { kind, location } = this.store.describe();
    this.logger.notice({ store: kind, location }, `the failover state store (${kind}, ${location}) is reachable again: failovers resume`);
  }

  /** The library's current server is down and cannot be moved away from now. */
  noteStuck(library: string, server: string): void {
    if (this.stuck.has(library)) return;
    this.stuck.add(library);
    this.logger.warn(
      { library, server },
      `library ${library} stays on ${server}, which is down: the failover state store is unreachable (${this.view().lastError ?? 'no answer'}), and a proxy that cannot reach it moves no library on its own`,
    );
  }
}
