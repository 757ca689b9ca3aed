/**
 * The failover state across processes: with server.workers > 1 the primary holds the FailoverStateStore and each
 * worker does its load and compare-and-set through it (WorkerStateStore). The wire shape (a Map travels as
 * entries: the IPC channel carries JSON) and the owner's side of answering.
 */
import type { CasResult, FailoverStateStore, StoredLibraryState } from './failover-state-store.js';

export interface WireLibraryState {
  current: string;
  servers: string[];
  since: string;
  leftByFailover: [string, string][];
  epoch: number;
}

export type StateAsk =
  | { op: 'state-load' }
  | { op: 'state-cas'; library: string; expectedEpoch: number; next: WireLibraryState };

export type StateAnswer =
  | { ok: true; op: 'state-load'; libraries: [string, WireLibraryState][] }
  | { ok: true; op: 'state-cas'; won: boolean; state: WireLibraryState | null }
  | { ok: false; message: string };

export function toWire(state: StoredLibraryState): WireLibraryState {
  return { ...state, servers: [...state.servers], leftByFailover: [...state.leftByFailover] };
}

export function fromWire(state: WireLibraryState): StoredLibraryState {
  return { ...state, servers: [...state.servers], leftByFailover: new Map(state.leftByFailover) };
}

export function isStateAsk(value: unknown): value is StateAsk {
  if (typeof value !== 'object' || value === null) return false;
  const ask = value as Record<string, unknown>;
  if (ask.op === 'state-load') return true;
  return ask.op === 'state-cas' && typeof ask.library === 'string' && Number.isInteger(ask.expectedEpoch) && typeof ask.next === 'object' && ask.next !== null;
}

export async function answerStateAsk(store: FailoverStateStore, ask: StateAsk): Promise<StateAnswer> {
  try {
    if (ask.op === 'state-load') {
      const loaded = await store.load();
      return { ok: true, op: 'state-load', libraries: [...loaded].map(([name, state]) => [name, toWire(state)]) };
    }
    const result: CasResult = await store.compareAndSet(ask.library, ask.expectedEpoch, fromWire(ask.next));
    return { ok: true, op: 'state-cas', won: result.won, state: result.state === null ? null : toWire(result.state) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}
