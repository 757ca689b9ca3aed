/**
 * Runs Debian's sysbench with the bench's Lua workloads (bench/lua/mysqlda.lua) and reads its report: events,
 * queries, and the latency histogram, from which p50/p95/p99 are taken (sysbench itself prints one percentile).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../tools/project-root.js';

export const LUA_SCRIPT = join(PROJECT_ROOT, 'bench/lua/mysqlda.lua');

export type Workload = 'point_text' | 'point_ps' | 'read_only' | 'big_rows' | 'blob' | 'churn' | 'new_keys';

export interface SysbenchOptions {
  sysbench: string;
  workload: Workload;
  port: number;
  user: string;
  password: string;
  database: string;
  threads: number;
  /** Whole seconds of load (sysbench --time) ... */
  seconds?: number;
  /** ... or a number of events (sysbench --events), whichever is given. */
  events?: number;
  /** Key prefix for `select library` on every connection; '' sends no routing statement. */
  libraryKey: string;
  tableSize: number;
  /** Makes the keys of the new_keys workload unique to this run. */
  runId?: string;
}

export interface SysbenchReport {
  events: number;
  queries: number;
  errors: number;
  seconds: number;
  eventsPerSecond: number;
  queriesPerSecond: number;
  /** Per event, in milliseconds. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

export function sysbenchArgs(options: SysbenchOptions): string[] {
  const limit =
    options.events !== undefined ? [`--events=${options.events}`, '--time=0'] : [`--time=${options.seconds ?? 10}`, '--events=0'];
  return [
    LUA_SCRIPT,
    '--mysql-host=127.0.0.1',
    `--mysql-port=${options.port}`,
    `--mysql-user=${options.user}`,
    `--mysql-password=${options.password}`,
    `--mysql-db=${options.database}`,
    `--threads=${options.threads}`,
    ...limit,
    '--histogram=on',
    '--percentile=99',
    '--rand-type=uniform',
    `--workload=${options.workload}`,
    `--library-key=${options.libraryKey}`,
    `--table-size=${options.tableSize}`,
    `--run-id=${options.runId ?? '0'}`,
    'run',
  ];
}

export function runSysbench(options: SysbenchOptions): Promise<SysbenchReport> {
  return new Promise((resolvePromise, reject) => {
    execFile(options.sysbench, sysbenchArgs(options), { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const what = `sysbench ${options.workload} (${options.threads} threads, port ${options.port})`;
      if (error) return reject(new Error(`${what} failed: ${error.message}\n${tail(stdout + stderr)}`));
      try {
        resolvePromise(parseSysbenchReport(stdout));
      } catch (parseError) {
        reject(new Error(`${what}: ${(parseError as Error).message}\n${tail(stdout + stderr)}`));
      }
    });
  });
}

function tail(text: string): string {
  return text.split('\n').slice(-30).join('\n');
}

function numberAfter(text: string, label: RegExp): number {
  const match = label.exec(text);
  if (!match) throw new Error(`no ${label.source} in the sysbench report`);
  return Number(match[1]);
}

/** Reads the report `sysbench ... --histogram=on run` prints. */
export function parseSysbenchReport(text: string): SysbenchReport {
  const histogram = parseHistogram(text);
  const events = numberAfter(text, /total number of events:\s+(\d+)/);
  const queries = numberAfter(text, /^\s*queries:\s+(\d+)/m);
  const errors = numberAfter(text, /ignored errors:\s+(\d+)/);
  const seconds = numberAfter(text, /total time:\s+([\d.]+)s/);
  if (events === 0 || seconds === 0) throw new Error('sysbench ran no events');
  return {
    events,
    queries,
    errors,
    seconds,
    eventsPerSecond: events / seconds,
    queriesPerSecond: queries / seconds,
    latencyMs: {
      p50: percentile(histogram, 50),
      p95: percentile(histogram, 95),
      p99: percentile(histogram, 99),
      max: numberAfter(text, /^\s*max:\s+([\d.]+)/m),
    },
  };
}

export interface HistogramBucket {
  /** The bucket's value (its upper bound), ms. */
  valueMs: number;
  count: number;
}

/** The lines `       0.073 |*****                                    240` between the histogram's header and the next section. */
export function parseHistogram(text: string): HistogramBucket[] {
  const start = text.indexOf('Latency histogram');
  if (start === -1) throw new Error('no latency histogram in the sysbench report (run it with --histogram=on)');
  const buckets: HistogramBucket[] = [];
  const line = /^\s*([\d.]+)\s+\|\**\s+(\d+)\s*$/;
  for (const row of text.slice(start).split('\n').slice(2)) {
    const match = line.exec(row);
    if (match) buckets.push({ valueMs: Number(match[1]), count: Number(match[2]) });
    else if (buckets.length > 0 || /SQL statistics/.test(row)) break;
  }
  if (buckets.length === 0) throw new Error('the latency histogram is empty');
  return buckets;
}

/** The smallest bucket value at or below which `p` percent of the events fall (sysbench's own rule). */
export function percentile(buckets: readonly HistogramBucket[], p: number): number {
  const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  const wanted = Math.ceil((total * p) / 100);
  let seen = 0;
  for (const bucket of buckets) {
    seen += bucket.count;
    if (seen >= wanted) return bucket.valueMs;
  }
  return buckets[buckets.length - 1].valueMs;
}
