/**
 * `npm run bench`: mysqlda measured side by side with direct MariaDB and haproxy on this machine.
 *
 *   npm run bench                      the full run (about 20 minutes: 13 for the proxy, 2 of them the guardrail
 *                                      cells, then 6 for the cluster half):
 *                                      bench/results/latest.{json,md} and history/
 *   npm run bench -- --quick           every figure from tiny runs (under a minute), written to a temporary
 *                                      directory unless --out is given: what `npm test` runs so the bench never rots
 *   --out DIR                          where latest.json and latest.md go
 *   --keep                             keep the working directory (servers' datadirs, configs, save files)
 *   --only proxy|cluster               one half: the proxy's own figures (latest.*) or the cluster figures
 *                                      (cluster.*: shared directory, workers, replication-aware failover; see
 *                                      cluster.ts); both by default
 *   --wait-quiet                       on a shared machine: first wait (up to 30 min) until the machine has been
 *                                      nearly idle for 20 s, so that other work disturbs the measurement less
 *
 * Profiling the proxy instead: see profile.ts (`node build/bench/src/profile.js` after `npm run build:tools`).
 */
import { copyFile, mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { CLUSTER_FULL, CLUSTER_QUICK, measureCluster, renderClusterMarkdown, type ClusterResult } from './cluster.js';
import { measureDirectoryLoad } from './directory-load.js';
import { measureIdleClients } from './idle-sessions.js';
import { measureCells, warmUp, type CellSpec, type LoadContext } from './load-cells.js';
import { describeCommit, describeMachine, findTools } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { findChildPid, machineBusySeconds, raiseOpenFilesLimit, selfAndReapedChildrenCpuSeconds } from './proc-stats.js';
import { judgeTargets, JUDGED_CONNECTIONS, JUDGED_WORKLOADS, type BenchResult } from './results.js';
import { FULL, QUICK, type BenchSettings } from './settings.js';
import { GUARDED_CONFIG } from './guardrails.js';
import { bigRowsBytes, GUARDED_PATH, PATH_NAMES, Stage } from './stage.js';

/** Descriptors kept free besides the idle clients: servers, pipes, sysbench, the proxy's backend connections. */
const OPEN_FILES_MARGIN = 1_000;

const RESULTS_DIR = join(PROJECT_ROOT, 'bench/results');

interface Flags {
  quick: boolean;
  out: string;
  keep: boolean;
  waitQuiet: boolean;
  proxy: boolean;
  cluster: boolean;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'wait-quiet': { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const only = values.only;
  if (only !== undefined && only !== 'proxy' && only !== 'cluster') throw new Error(`--only takes proxy or cluster, not "${only}"`);
  const out = values.out ?? (values.quick ? join(os.tmpdir(), 'mysqlda-bench-quick') : RESULTS_DIR);
  return {
    quick: values.quick!,
    out: resolve(out),
    keep: values.keep!,
    waitQuiet: values['wait-quiet']!,
    proxy: only !== 'cluster',
    cluster: only !== 'proxy',
  };
}

function loadDescription(settings: BenchSettings): string {
  const describe = (limit: ReturnType<BenchSettings['limit']>) => ('seconds' in limit ? `${limit.seconds} s` : `${limit.events} events`);
  return `${describe(settings.limit('point_ps', 1))} of load per run (churn: ${describe(settings.limit('churn', 1))})`;
}

async function measure(settings: BenchSettings, stage: Stage, sysbench: string, log: (line: string) => void) {
  const master = stage.sandbox.libraries[0].master;
  const mariadbPid = findChildPid('mariadbd', `--port=${master.port}`);
  if (mariadbPid === undefined) throw new Error(`cannot find the pid of the mariadbd on port ${master.port}`);
  const context: LoadContext = { stage, settings, sysbench, mariadbPid, log };

  log('warming up every path');
  await warmUp(context);
  const grid = (workloads: readonly CellSpec['workload'][], connections: readonly number[], paths = PATH_NAMES): CellSpec[] =>
    workloads.flatMap((workload) => connections.map((n) => ({ workload, connections: n, paths })));

  // The bare Node forwarder runs where it tells what is Node's and what is mysqlda's: point selects and churn.
  const withoutNode = PATH_NAMES.filter((name) => name !== 'node');
  const throughputPaths = (workload: CellSpec['workload']) => (workload === 'point_ps' || workload === 'point_text' ? PATH_NAMES : withoutNode);
  const judged = (spec: CellSpec): CellSpec =>
    JUDGED_WORKLOADS.includes(spec.workload) && JUDGED_CONNECTIONS.includes(spec.connections) ? { ...spec, repetitions: settings.judgedRepetitions } : spec;
  // First after the warm-up, while both proxies have served exactly the same: they differ by their config alone.
  const guardrails = await measureCells(context, grid(JUDGED_WORKLOADS, JUDGED_CONNECTIONS, ['mysqlda', GUARDED_PATH]).map(judged));
  const throughput = await measureCells(
    context,
    settings.throughputWorkloads.flatMap((workload) => grid([workload], settings.connections, throughputPaths(workload))).map(judged),
  );
  const largeCells = await measureCells(context, grid(settings.largeResultWorkloads, [1], withoutNode));
  const churn = await measureCells(context, grid(['churn'], settings.churnClients));
  const [newKeys] = await measureCells(context, grid(['new_keys'], [settings.newKeyClients], ['mysqlda']));

  // Each idle client holds a descriptor here and one in the proxy (routed ones a backend connection too).
  const descriptors = raiseOpenFilesLimit(settings.unroutedClients + OPEN_FILES_MARGIN);
  const unroutedClients = Math.min(settings.unroutedClients, descriptors - OPEN_FILES_MARGIN);
  if (unroutedClients < settings.unroutedClients) log(`open-files limit ${descriptors}: measuring ${unroutedClients} unrouted clients, not ${settings.unroutedClients}`);
  log(`memory: ${unroutedClients} unrouted clients`);
  const unrouted = await measureIdleClients(stage, unroutedClients, false);
  log(`memory: ${settings.routedIdleSessions} routed idle sessions`);
  const routed = await measureIdleClients(stage, settings.routedIdleSessions, true);
  log(`directory load: ${settings.directoryKeys} keys`);
  const directoryLoad = await measureDirectoryLoad(stage, settings.directoryKeys, settings.repetitions);

  return {
    throughput,
    guardrails: { config: GUARDED_CONFIG, cells: guardrails },
    largeResults: { bytesPerEvent: { big_rows: await bigRowsBytes(stage.sandbox), blob: settings.data.blobBytes }, cells: largeCells },
    churn,
    newKeys,
    memory: { routed, unrouted },
    directoryLoad,
  };
}

const QUIET_BUSY_SHARE = 0.2;
const QUIET_SECONDS = 20;
const QUIET_MAX_WAIT_MS = 30 * 60_000;

/** Resolves once the machine's CPU has been under 20% busy for 20 s in a row, or after 30 min (with a warning). */
async function waitForQuietMachine(log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + QUIET_MAX_WAIT_MS;
  let quietFor = 0;
  let busy = machineBusySeconds();
  let lastReport = 0;
  while (quietFor < QUIET_SECONDS) {
    if (Date.now() > deadline) return log(`the machine did not become quiet within ${QUIET_MAX_WAIT_MS / 60_000} min: measuring anyway`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = machineBusySeconds();
    const share = (now - busy) / os.availableParallelism();
    busy = now;
    quietFor = share < QUIET_BUSY_SHARE ? quietFor + 1 : 0;
    if (Date.now() - lastReport > 60_000) {
      log(`waiting for a quiet machine: ${(share * 100).toFixed(0)}% busy`);
      lastReport = Date.now();
    }
  }
}

/** The 1-minute load average. */
function loadAverage(): number {
  return os.loadavg()[0];
}

/** Writes through a temporary file and a rename: a reader never sees half a result. */
async function writeAtomically(path: string, content: string): Promise<void> {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}

/**
 * Writes `<name>.json` and `<name>.md` into `out`; a full run is also kept under history/, named by date and
 * commit, for before/after comparisons.
 */
async function writeResultFiles(
  out: string,
  name: string,
  result: { mode: string; startedAt: string; commit: string },
  markdown: string,
  historySuffix: string,
): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const json = join(out, `${name}.json`);
  const md = join(out, `${name}.md`);
  await writeAtomically(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeAtomically(md, markdown);
  if (result.mode !== 'full') return [json, md];
  const history = join(out, 'history');
  await mkdir(history, { recursive: true });
  const stamp = `${result.startedAt.slice(0, 16).replace(/[-:]/g, '').replace('T', '-')}-${result.commit}`;
  const kept = join(history, `${stamp}${historySuffix}.json`);
  await copyFile(json, kept);
  return [json, md, kept];
}

const writeResults = (result: BenchResult, out: string) => writeResultFiles(out, 'latest', result, renderMarkdown(result), '');
const writeClusterResults = (result: ClusterResult, out: string) =>
  writeResultFiles(out, 'cluster', result, renderClusterMarkdown(result), '-cluster');

export async function runBench(argv: string[]): Promise<{ proxy: BenchResult | null; cluster: ClusterResult | null }> {
  const flags = parseFlags(argv);
  const proxy = flags.proxy ? await runProxyBench(flags) : null;
  let cluster: ClusterResult | null = null;
  if (flags.cluster) {
    const began = performance.now();
    const log = (line: string) => console.log(`[bench cluster ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`);
    cluster = await measureCluster(flags.quick ? CLUSTER_QUICK : CLUSTER_FULL, log);
    for (const path of await writeClusterResults(cluster, flags.out)) log(`wrote ${path}`);
  }
  return { proxy, cluster };
}

async function runProxyBench(flags: Flags): Promise<BenchResult> {
  const settings = flags.quick ? QUICK : FULL;
  const tools = findTools();
  const machine = describeMachine(tools);
  if (flags.waitQuiet) await waitForQuietMachine((line) => console.log(`[bench] ${line}`));
  const startedAt = new Date();
  const began = performance.now();
  const busyBefore = machineBusySeconds();
  const oursBefore = selfAndReapedChildrenCpuSeconds();
  const loadBefore = loadAverage();
  const log = (line: string) => console.log(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-bench-'));
  log(`${settings.mode} run in ${dir}`);
  const stage = await Stage.start({ dir, tools, data: settings.data, guarded: true, log: () => {} });
  let figures;
  try {
    figures = await measure(settings, stage, tools.sysbench, log);
  } finally {
    await stage.stop();
    if (!flags.keep) await removeTree(dir);
  }
  const elapsed = (performance.now() - began) / 1000;
  const others = machineBusySeconds() - busyBefore - (selfAndReapedChildrenCpuSeconds() - oursBefore);
  const partial: Omit<BenchResult, 'targets'> = {
    schema: 1,
    mode: settings.mode,
    startedAt: startedAt.toISOString(),
    durationSeconds: elapsed,
    commit: describeCommit(),
    machine,
    machineLoad: {
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      otherProcessesCpuShare: Math.max(0, others) / (elapsed * machine.cores),
    },
    method: {
      repetitions: settings.repetitions,
      judgedRepetitions: settings.judgedRepetitions,
      load: loadDescription(settings),
      connections: [...settings.connections],
      topology:
        '1 sandbox library, master only: every routed connection of mysqlda lands on the very MariaDB server the direct and haproxy paths reach',
    },
    ...figures,
  };
  const result: BenchResult = { ...partial, targets: judgeTargets(partial) };
  for (const path of await writeResults(result, flags.out)) log(`wrote ${path}`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBench(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`bench: ${error.message}`);
      process.exit(1);
    },
  );
}
