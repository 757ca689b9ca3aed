/**
 * sysbench-driven measurements: one cell is a workload at a number of connections on one path, run once per
 * repetition. Paths of a cell are run back to back in interleaved order (A B C, C B A, ...), so slow drift of the
 * machine falls on every path alike. Around each run the CPU time of the forwarder (haproxy, mysqlda) and of
 * mariadbd is read from /proc.
 */
import os from 'node:os';
import type { BenchSettings } from './settings.js';
import { cpuSeconds, machineBusySeconds, selfAndReapedChildrenCpuSeconds, timeWaitConnections } from './proc-stats.js';
import type { BenchPath, PathName, Stage } from './stage.js';
import { runSysbench, type Workload } from './sysbench.js';
import { interleaved, medianRecord } from './stats.js';

export interface LoadFigures {
  events: number;
  queries: number;
  seconds: number;
  eventsPerSecond: number;
  queriesPerSecond: number;
  /** Per event (one statement for point selects), milliseconds. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** CPU seconds (user + system) the forwarder process used per 10,000 queries; absent for the direct path. */
  forwarderCpuPer10kQueries?: number;
  /** CPU milliseconds of the forwarder per event (per connection for churn, per result for large results). */
  forwarderCpuMsPerEvent?: number;
  /** CPU seconds mariadbd used per 10,000 queries: what the server itself costs, for scale. */
  mariadbCpuPer10kQueries: number;
  errors: number;
  /**
   * Share of the machine's CPU time (all cores) that processes outside the bench took during the run: a run
   * measured beside someone else's work reads high here.
   */
  otherLoadShare: number;
}

export interface LoadRun extends LoadFigures {
  repetition: number;
}

export interface LoadCell {
  workload: Workload;
  connections: number;
  path: PathName;
  runs: LoadRun[];
  /** Median of each figure over the runs. */
  median: LoadFigures;
}

export interface CellSpec {
  workload: Workload;
  connections: number;
  paths: readonly PathName[];
  /** Runs per path; settings.repetitions when absent. */
  repetitions?: number;
}

export interface LoadContext {
  stage: Stage;
  settings: BenchSettings;
  sysbench: string;
  mariadbPid: number;
  log: (line: string) => void;
}

let runCounter = 0;

/**
 * Every connection a churn run closes stays in TIME_WAIT for 60 s, holding a loopback port pair (two through
 * haproxy), and connect() slows down as the 28k ephemeral ports run out: a churn run first lets them drain.
 */
const MAX_TIME_WAIT_BEFORE_CHURN = 5_000;
/** Connections of the warm-up's churn run per path; their TIME_WAIT ports are long gone when the churn cells run. */
const CHURN_WARM_UP_CONNECTIONS = 3_000;
const TIME_WAIT_DRAIN_MS = 65_000;

async function drainTimeWait(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + TIME_WAIT_DRAIN_MS;
  if (timeWaitConnections() <= MAX_TIME_WAIT_BEFORE_CHURN) return;
  log(`waiting for ${timeWaitConnections()} TIME_WAIT connections to drain below ${MAX_TIME_WAIT_BEFORE_CHURN}`);
  while (timeWaitConnections() > MAX_TIME_WAIT_BEFORE_CHURN && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function runOnce(context: LoadContext, path: BenchPath, workload: Workload, connections: number, repetition: number): Promise<LoadRun> {
  const { stage, settings } = context;
  if (workload === 'churn') await drainTimeWait(context.log);
  const forwarderPid = path.forwarder?.pid;
  const forwarderBefore = forwarderPid === undefined ? 0 : cpuSeconds(forwarderPid);
  const mariadbBefore = cpuSeconds(context.mariadbPid);
  const oursBefore = selfAndReapedChildrenCpuSeconds();
  const busyBefore = machineBusySeconds();
  const began = performance.now();
  const report = await runSysbench({
    sysbench: context.sysbench,
    workload,
    port: path.port,
    ...stage.account,
    threads: connections,
    ...settings.limit(workload, connections),
    libraryKey: path.libraryKey,
    tableSize: settings.data.pointRows,
    runId: `${process.pid}x${++runCounter}`,
  });
  const wall = (performance.now() - began) / 1000;
  const mariadbUsed = cpuSeconds(context.mariadbPid) - mariadbBefore;
  const forwarderUsed = forwarderPid === undefined ? 0 : cpuSeconds(forwarderPid) - forwarderBefore;
  // sysbench has exited and been waited for: its CPU is in this process's cutime/cstime.
  const ours = selfAndReapedChildrenCpuSeconds() - oursBefore + mariadbUsed + forwarderUsed;
  const others = Math.max(0, machineBusySeconds() - busyBefore - ours);
  const per10k = (seconds: number) => (seconds / report.queries) * 10_000;
  const run: LoadRun = {
    repetition,
    events: report.events,
    queries: report.queries,
    seconds: report.seconds,
    eventsPerSecond: report.eventsPerSecond,
    queriesPerSecond: report.queriesPerSecond,
    latencyMs: report.latencyMs,
    mariadbCpuPer10kQueries: per10k(mariadbUsed),
    errors: report.errors,
    otherLoadShare: others / (wall * os.availableParallelism()),
  };
  if (forwarderPid !== undefined) {
    run.forwarderCpuPer10kQueries = per10k(forwarderUsed);
    run.forwarderCpuMsPerEvent = (forwarderUsed / report.events) * 1000;
  }
  return run;
}

/** Measures every cell, each `repetitions` (or `settings.repetitions`) times, the paths of a cell interleaved. */
export async function measureCells(context: LoadContext, specs: readonly CellSpec[]): Promise<LoadCell[]> {
  const cells: LoadCell[] = [];
  for (const spec of specs) {
    const runs = new Map<PathName, LoadRun[]>(spec.paths.map((name) => [name, []]));
    const repetitions = spec.repetitions ?? context.settings.repetitions;
    for (let repetition = 0; repetition < repetitions; repetition++) {
      for (const name of interleaved(spec.paths, repetition)) {
        const run = await runOnce(context, context.stage.path(name), spec.workload, spec.connections, repetition);
        runs.get(name)!.push(run);
        context.log(
          `${spec.workload.padEnd(10)} ${String(spec.connections).padStart(3)} conn  ${name.padEnd(7)} ` +
            `${run.eventsPerSecond.toFixed(0).padStart(7)} ev/s  p95 ${run.latencyMs.p95.toFixed(3)} ms` +
            (run.forwarderCpuPer10kQueries === undefined ? '' : `  cpu ${run.forwarderCpuPer10kQueries.toFixed(3)} s/10k`),
        );
      }
    }
    for (const name of spec.paths) {
      const pathRuns = runs.get(name)!;
      const { repetition: _, ...figures } = medianRecord(pathRuns);
      cells.push({ workload: spec.workload, connections: spec.connections, path: name, runs: pathRuns, median: figures });
    }
  }
  return cells;
}

/**
 * A short run of each path, not recorded: JIT, page cache, the proxy's backend pool (as many connections as the
 * largest cell uses) and the keys of its connections are all warm before anything is measured. Logins are warmed
 * too (a churn run): a long-running proxy has served many, and V8 sizes its young generation by what it has seen.
 */
export async function warmUp(context: LoadContext): Promise<void> {
  const quick = context.settings.mode === 'quick';
  for (const path of context.stage.paths) {
    const common = { sysbench: context.sysbench, port: path.port, ...context.stage.account, libraryKey: path.libraryKey, tableSize: context.settings.data.pointRows };
    for (const workload of ['point_ps', 'point_text'] as const) {
      await runSysbench({ ...common, workload, threads: Math.max(...context.settings.connections), ...(quick ? { events: 200 } : { seconds: 1 }) });
    }
    await runSysbench({ ...common, workload: 'churn', threads: Math.max(...context.settings.churnClients), events: quick ? 40 : CHURN_WARM_UP_CONNECTIONS });
  }
}
