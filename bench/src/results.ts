/**
 * The result of a bench run (bench/results/latest.json) and the performance targets (a bar to meet, a goal to
 * reach), judged from figures of the same run.
 */
import type { DirectoryLoad } from './directory-load.js';
import type { GuardedConfig } from './guardrails.js';
import type { IdleMemory } from './idle-sessions.js';
import type { LoadCell, LoadFigures } from './load-cells.js';
import type { Machine } from './machine.js';
import { median } from './stats.js';
import type { BenchMode } from './settings.js';
import type { PathName } from './stage.js';
import type { Workload } from './sysbench.js';

export interface BenchResult {
  schema: 1;
  mode: BenchMode;
  startedAt: string;
  durationSeconds: number;
  /** `git describe --always --dirty` of the tree measured. */
  commit: string;
  machine: Machine;
  /**
   * How busy the machine was with anything else: the bench shares its cores with whatever runs beside it.
   * otherProcessesCpuShare: CPU time of processes outside the bench (its servers and sysbench included in the bench)
   * over the run, as a share of all cores' time.
   */
  machineLoad: { loadAverageBefore: number; loadAverageAfter: number; otherProcessesCpuShare: number };
  method: {
    repetitions: number;
    /** Runs of the cells the throughput targets judge (absent in results written before it existed). */
    judgedRepetitions?: number;
    /** e.g. "4 s per run" or "400 events per run". */
    load: string;
    connections: number[];
    topology: string;
  };
  /** Point selects (prepared and text) and read-only transactions at each connection count, every path. */
  throughput: LoadCell[];
  /**
   * Point selects at the judged connection counts through mysqlda and mysqlda_guarded, interleaved in the same
   * cells; `config` is what the guarded proxy has on top of mysqlda's (absent in results written before it existed).
   */
  guardrails?: { config: GuardedConfig; cells: LoadCell[] };
  largeResults: {
    /** Column bytes one event moves: 100k rows (id as text + CHAR(100)), or the one blob. */
    bytesPerEvent: Record<'big_rows' | 'blob', number>;
    cells: LoadCell[];
  };
  churn: LoadCell[];
  newKeys: LoadCell;
  memory: { routed: IdleMemory; unrouted: IdleMemory };
  directoryLoad: DirectoryLoad;
  targets: Target[];
}

export type Verdict = 'goal' | 'bar' | 'fail' | 'not judged';

/** The throughput cells whose mysqlda / haproxy ratio a target judges. */
export const JUDGED_WORKLOADS: readonly Workload[] = ['point_ps', 'point_text'];
export const JUDGED_CONNECTIONS: readonly number[] = [32, 128];

export interface Target {
  figure: string;
  measured: number;
  unit: string;
  bar: number;
  goal: number;
  better: 'higher' | 'lower';
  verdict: Verdict;
}

export function findCell(cells: readonly LoadCell[], workload: Workload, connections: number, path: PathName): LoadFigures {
  const cell = cells.find((c) => c.workload === workload && c.connections === connections && c.path === path);
  if (!cell) throw new Error(`no ${workload} cell at ${connections} connections for ${path}`);
  return cell.median;
}

export function megabytesPerSecond(result: Pick<BenchResult, 'largeResults'>, workload: 'big_rows' | 'blob', path: PathName): number {
  const cell = findCell(result.largeResults.cells, workload, 1, path);
  return (cell.eventsPerSecond * result.largeResults.bytesPerEvent[workload]) / 1e6;
}

/** What every guardrail configured costs the point selects of one cell: mysqlda_guarded against mysqlda. */
export interface GuardrailCost {
  workload: Workload;
  connections: number;
  /** Queries per second, guarded over plain: the median of the paired runs' ratios. */
  throughputRatio: number;
  /** Proxy CPU (user + system) per query, µs: the median of each path's runs. */
  cpuMicrosPerQuery: { plain: number; guarded: number };
  /**
   * How much more CPU per query the guarded proxy used, in per cent of the plain one's (negative: less): the
   * median of the paired runs' ratios.
   */
  cpuIncreasePercent: number;
  /** Share of the machine other processes took, the larger of the two paths' medians. */
  otherLoadShare: number;
}

/** forwarderCpuPer10kQueries is seconds per 10,000 queries: × 100 gives µs per query. */
const cpuMicros = (figures: LoadFigures) => figures.forwarderCpuPer10kQueries! * 100;

/**
 * One entry per cell of `result.guardrails`, in the order measured; none for results without it. Each run of one
 * proxy is paired with the other's run of the same repetition, next to it in time: the ratio of a pair is
 * untouched by drift of the machine slower than a run, which the ratio of two medians is not.
 */
export function guardrailCosts(result: Pick<BenchResult, 'guardrails'>): GuardrailCost[] {
  const cells = result.guardrails?.cells ?? [];
  const cellOf = (workload: Workload, connections: number, path: PathName) => {
    const cell = cells.find((c) => c.workload === workload && c.connections === connections && c.path === path);
    if (!cell) throw new Error(`no guardrail cell of ${workload} at ${connections} connections for ${path}`);
    return cell;
  };
  const keys = [...new Map(cells.map((cell) => [`${cell.workload}/${cell.connections}`, cell])).values()];
  return keys.map(({ workload, connections }) => {
    const plain = cellOf(workload, connections, 'mysqlda');
    const guarded = cellOf(workload, connections, 'mysqlda_guarded');
    const pairedRatio = (pick: (figures: LoadFigures) => number) =>
      median(guarded.runs.map((run) => pick(run) / pick(plain.runs.find((other) => other.repetition === run.repetition)!)));
    return {
      workload,
      connections,
      throughputRatio: pairedRatio((figures) => figures.queriesPerSecond),
      cpuMicrosPerQuery: { plain: cpuMicros(plain.median), guarded: cpuMicros(guarded.median) },
      cpuIncreasePercent: (pairedRatio(cpuMicros) - 1) * 100,
      otherLoadShare: Math.max(plain.median.otherLoadShare, guarded.median.otherLoadShare),
    };
  });
}

/** The guardrails' bar: "point selects with every guardrail configured against none: CPU per query +≤ 3%". */
const GUARDRAIL_CPU_INCREASE_PERCENT = 3;

export function judge(measured: number, bar: number, goal: number, better: 'higher' | 'lower'): Verdict {
  const meets = (limit: number) => (better === 'higher' ? measured >= limit : measured <= limit);
  if (meets(goal)) return 'goal';
  return meets(bar) ? 'bar' : 'fail';
}

const MB = 1e6;

/** How a point-select workload sends its statements, for the names of figures. */
export function kindOf(workload: Workload): string {
  return workload === 'point_ps' ? 'prepared' : workload === 'point_text' ? 'text' : workload;
}

/** The targets, row by row, from this run's figures. A quick run is not judged: its counts are tiny. */
export function judgeTargets(result: Omit<BenchResult, 'targets'>): Target[] {
  const rows: Omit<Target, 'verdict'>[] = [];
  const cell = (workload: Workload, connections: number, path: PathName) => findCell(result.throughput, workload, connections, path);
  const kinds = JUDGED_WORKLOADS.map((workload) => [workload, kindOf(workload)] as const);
  for (const [workload, kind] of kinds) {
    for (const connections of JUDGED_CONNECTIONS) {
      rows.push({
        figure: `point select (${kind}), ${connections} connections: mysqlda / haproxy throughput`,
        measured: cell(workload, connections, 'mysqlda').queriesPerSecond / cell(workload, connections, 'haproxy').queriesPerSecond,
        unit: '×',
        bar: 0.8,
        goal: 1.0,
        better: 'higher',
      });
    }
  }
  for (const [workload, kind] of kinds) {
    rows.push({
      figure: `mysqlda CPU per 10k point selects (${kind}, 32 connections); goal: haproxy's in the same cell`,
      measured: cell(workload, 32, 'mysqlda').forwarderCpuPer10kQueries!,
      unit: 's',
      bar: 0.2,
      goal: cell(workload, 32, 'haproxy').forwarderCpuPer10kQueries!,
      better: 'lower',
    });
  }
  for (const [workload, kind] of kinds) {
    rows.push({
      figure: `p95 added over direct, 1 connection, point select (${kind})`,
      measured: (cell(workload, 1, 'mysqlda').latencyMs.p95 - cell(workload, 1, 'direct').latencyMs.p95) * 1000,
      unit: 'µs',
      bar: 100,
      goal: 50,
      better: 'lower',
    });
  }
  for (const cost of guardrailCosts(result)) {
    rows.push({
      figure: `guardrails: mysqlda CPU per point select (${kindOf(cost.workload)}, ${cost.connections} connections), every guardrail configured over none (no goal given: bar)`,
      measured: cost.cpuIncreasePercent,
      unit: '%',
      bar: GUARDRAIL_CPU_INCREASE_PERCENT,
      goal: GUARDRAIL_CPU_INCREASE_PERCENT,
      better: 'lower',
    });
  }
  const large = [
    ['big_rows', `${(result.largeResults.bytesPerEvent.big_rows / MB).toFixed(1)} MB result of 100k rows`],
    ['blob', `${(result.largeResults.bytesPerEvent.blob / MB).toFixed(1)} MB blob`],
  ] as const;
  for (const [workload, label] of large) {
    rows.push({
      figure: `large result MB/s, mysqlda / direct: ${label}`,
      measured: megabytesPerSecond(result, workload, 'mysqlda') / megabytesPerSecond(result, workload, 'direct'),
      unit: '×',
      bar: 0.8,
      goal: 0.95,
      better: 'higher',
    });
  }
  for (const clients of [...new Set(result.churn.map((c) => c.connections))]) {
    rows.push({
      figure: `connection churn, ${clients} client${clients === 1 ? '' : 's'}: mysqlda / haproxy`,
      measured: findCell(result.churn, 'churn', clients, 'mysqlda').eventsPerSecond / findCell(result.churn, 'churn', clients, 'haproxy').eventsPerSecond,
      unit: '×',
      bar: 0.7,
      goal: 1.0,
      better: 'higher',
    });
  }
  rows.push({
    figure: `new keys acknowledged per second (${result.newKeys.connections} clients, fsync before OK)`,
    measured: result.newKeys.median.eventsPerSecond,
    unit: '/s',
    bar: 5_000,
    goal: 20_000,
    better: 'higher',
  });
  const { routed, unrouted } = result.memory;
  rows.push(
    {
      figure: `RSS with ${unrouted.clients.toLocaleString('en')} connected, unrouted clients`,
      measured: unrouted.rssBytes / MB,
      unit: 'MB',
      bar: 300,
      goal: 150,
      better: 'lower',
    },
    {
      figure: `RSS with ${routed.clients.toLocaleString('en')} routed idle sessions`,
      measured: routed.rssBytes / MB,
      unit: 'MB',
      bar: 200,
      goal: 100,
      better: 'lower',
    },
  );
  const load = result.directoryLoad;
  rows.push(
    {
      figure: `start with a ${load.keys.toLocaleString('en')}-key directory: spawn → listening`,
      measured: load.loaded.startSeconds,
      unit: 's',
      bar: 3,
      goal: 1,
      better: 'lower',
    },
    {
      figure: `start with a ${load.keys.toLocaleString('en')}-key directory: peak RSS (no goal given: bar)`,
      measured: load.loaded.peakRssBytes / MB,
      unit: 'MB',
      bar: 300,
      goal: 300,
      better: 'lower',
    },
  );
  return rows.map((row) => ({ ...row, verdict: result.mode === 'quick' ? 'not judged' : judge(row.measured, row.bar, row.goal, row.better) }));
}
