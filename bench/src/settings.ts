/** How much a bench run does: the full run that judges the performance targets, or the quick run `npm test` makes so the bench never rots. */
import type { TestData } from './stage.js';
import type { Workload } from './sysbench.js';

export type BenchMode = 'full' | 'quick';

/** sysbench's limit for one run: whole seconds of load, or a number of events. */
export type LoadLimit = { seconds: number } | { events: number };

export interface BenchSettings {
  mode: BenchMode;
  /** Each cell is measured this many times, the paths interleaved (A B C, then C B A, ...); figures are medians. */
  repetitions: number;
  /**
   * Runs of the cells whose ratios the targets judge (point selects at 32 and 128 connections): on a 2-core VM
   * one disturbed run moves a ratio by 0.1, so their medians take more runs than the other cells'.
   */
  judgedRepetitions: number;
  connections: readonly number[];
  throughputWorkloads: readonly Workload[];
  largeResultWorkloads: readonly Workload[];
  churnClients: readonly number[];
  newKeyClients: number;
  routedIdleSessions: number;
  unroutedClients: number;
  directoryKeys: number;
  data: TestData;
  /** The limit of one sysbench run of `workload` with `threads` connections. */
  limit(workload: Workload, threads: number): LoadLimit;
}

const SHARED = {
  connections: [1, 8, 32, 128],
  throughputWorkloads: ['point_ps', 'point_text', 'read_only'],
  largeResultWorkloads: ['big_rows', 'blob'],
  churnClients: [1, 4],
  newKeyClients: 64,
  data: { pointRows: 10_000, bigRows: 100_000, blobBytes: 20 * 1024 * 1024 },
} as const;

export const FULL: BenchSettings = {
  ...SHARED,
  mode: 'full',
  // Three short runs rather than two longer ones: on a shared machine the median of three drops a disturbed run.
  repetitions: 3,
  judgedRepetitions: 5,
  routedIdleSessions: 2_000,
  unroutedClients: 10_000,
  directoryKeys: 1_000_000,
  // Churn is limited by connections, not time: each leaves a TIME_WAIT port pair behind for 60 s (see load-cells.ts).
  limit: (workload) => (workload === 'churn' ? { events: 1_000 } : { seconds: 3 }),
};

/** Every figure of the full run, from a few hundred events each: it proves the machinery, it measures nothing. */
export const QUICK: BenchSettings = {
  ...SHARED,
  mode: 'quick',
  repetitions: 1,
  judgedRepetitions: 1,
  routedIdleSessions: 100,
  unroutedClients: 300,
  directoryKeys: 20_000,
  limit: (workload, threads) => {
    switch (workload) {
      case 'read_only':
        return { events: Math.max(40, threads) };
      case 'big_rows':
      case 'blob':
        return { events: 2 };
      case 'churn':
        return { events: 40 };
      default:
        return { events: Math.max(400, 4 * threads) };
    }
  },
};
