/**
 * server.workers: prepared point selects (sysbench's point_ps: COM_STMT_EXECUTE of `SELECT c FROM sbtest1 WHERE
 * id = ?`) through mysqlda with one worker and with two, side by side in one run against one MariaDB server, at
 * 32 and 64 connections; runs of the sides interleaved (A B C, C B A, ...) so that drift of a shared machine
 * falls on each alike. Two-worker sides: Node's round-robin accept (mysqlda's choice) and the kernel's (SCHED_NONE),
 * with how the connections ended up spread over the workers.
 *
 * Also: CPU seconds of each proxy (primary and workers) and of the whole machine per run, to show where the cores
 * went. On a 2-core machine the proxy, MariaDB and sysbench share two cores, so a second worker can only take
 * the share the others leave: see docs/workers.md for what that means on bigger machines.
 *
 *   npm run build && npm run build:tools && node build/bench/src/workers.js [--seconds 10] [--reps 2]
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { findFreePort } from '../../tools/sandbox/ports.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { requestControl } from '../../src/supervisor/control-socket.js';
import { ListeningProcess } from './listening-process.js';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { searchDirs, TOOLS_MISSING_HINT } from './machine.js';
import { cpuSeconds, machineBusySeconds } from './proc-stats.js';
import { median } from './stats.js';
import { runSysbench, type SysbenchReport } from './sysbench.js';

const MYSQLDA_BIN = join(PROJECT_ROOT, 'bin/mysqlda');
const TABLE_ROWS = 10_000;

type SideName = 'workers_1' | 'workers_2' | 'workers_2_sched_none';

interface Side {
  name: SideName;
  workers: number;
  /** NODE_CLUSTER_SCHED_POLICY for the proxy process, if any. */
  schedPolicy?: 'none';
  port: number;
  controlSocket: string;
  process: ListeningProcess;
}

export interface WorkersRun {
  queriesPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** CPU seconds the proxy's processes (primary and workers) used per second of load. */
  proxyCores: number;
  /** CPU seconds the whole machine used per second of load (2.0 = both cores busy). */
  machineCores: number;
  /** Client sessions on each worker, sampled halfway through the run. */
  sessionsPerWorker: number[];
}

export interface WorkersCell {
  connections: number;
  sides: Record<SideName, WorkersRun & { runs: WorkersRun[] }>;
  /** Median queries per second with two workers over one. */
  ratioTwoOverOne: number;
  ratioSchedNoneOverOne: number;
}

export interface WorkersBench {
  machine: { cpuModel: string; cores: number; node: string; mariadb: string; sysbench: string };
  workload: string;
  secondsPerRun: number;
  reps: number;
  cells: WorkersCell[];
}

export async function measureWorkers(options: { seconds: number; reps: number; connections: number[]; log: (line: string) => void }): Promise<WorkersBench> {
  const sysbench = findSysbench();
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-bench-workers-'));
  const sandbox = await Sandbox.start({ dir: join(dir, 'sandbox'), libraries: 1, replicas: 0, log: options.log });
  const sides: Side[] = [];
  try {
    await createTable(sandbox);
    for (const [name, workers, schedPolicy] of [
      ['workers_1', 1, undefined],
      ['workers_2', 2, undefined],
      ['workers_2_sched_none', 2, 'none'],
    ] as const) {
      sides.push(await startProxy(sandbox, dir, name, workers, schedPolicy));
      options.log(`${name}: listening on ${sides.at(-1)!.port}`);
    }
    const account = { user: sandbox.user, password: sandbox.password, database: sandbox.database };
    const load = (side: Side, connections: number, seconds: number) =>
      runSysbench({ sysbench, workload: 'point_ps', port: side.port, ...account, threads: connections, seconds, libraryKey: 'bench', tableSize: TABLE_ROWS });
    for (const side of sides) await load(side, 16, 3); // warm-up: JIT, pools, the key's assignment

    const cells: WorkersCell[] = [];
    for (const connections of options.connections) {
      const runs = new Map<SideName, WorkersRun[]>(sides.map((side) => [side.name, []]));
      for (let rep = 0; rep < options.reps; rep++) {
        const order = rep % 2 === 0 ? sides : [...sides].reverse();
        for (const side of order) {
          const run = await measureRun(side, () => load(side, connections, options.seconds), options.seconds);
          runs.get(side.name)!.push(run);
          options.log(`${connections} connections, ${side.name}: ${Math.round(run.queriesPerSecond)} q/s, proxy ${run.proxyCores.toFixed(2)} cores, machine ${run.machineCores.toFixed(2)} cores, sessions per worker ${run.sessionsPerWorker.join('/')}`);
        }
      }
      const summary = (name: SideName) => {
        const list = runs.get(name)!;
        const pick = (f: (run: WorkersRun) => number) => median(list.map(f));
        return {
          queriesPerSecond: pick((r) => r.queriesPerSecond),
          latencyMs: { p50: pick((r) => r.latencyMs.p50), p95: pick((r) => r.latencyMs.p95), p99: pick((r) => r.latencyMs.p99) },
          proxyCores: pick((r) => r.proxyCores),
          machineCores: pick((r) => r.machineCores),
          sessionsPerWorker: list.at(-1)!.sessionsPerWorker,
          runs: list,
        };
      };
      const one = summary('workers_1');
      const two = summary('workers_2');
      const none = summary('workers_2_sched_none');
      cells.push({
        connections,
        sides: { workers_1: one, workers_2: two, workers_2_sched_none: none },
        ratioTwoOverOne: two.queriesPerSecond / one.queriesPerSecond,
        ratioSchedNoneOverOne: none.queriesPerSecond / one.queriesPerSecond,
      });
    }
    const [version] = await sandbox.libraries[0].master.query('SELECT VERSION() AS v');
    return { machine: describeMachine(sysbench, String(version.v)), workload: 'sysbench point_ps (prepared point select by primary key)', secondsPerRun: options.seconds, reps: options.reps, cells };
  } finally {
    await Promise.all(sides.map((side) => side.process.stop()));
    await sandbox.stop();
    await removeTree(dir);
  }
}

async function measureRun(side: Side, load: () => Promise<SysbenchReport>, seconds: number): Promise<WorkersRun> {
  const pids = await groupPids(side.process.pid);
  const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  let sessionsPerWorker: number[] = [];
  const sample = new Promise<void>((resolve) =>
    setTimeout(async () => {
      sessionsPerWorker = await sessionsOf(side).catch(() => []);
      resolve();
    }, (seconds * 1000) / 2),
  );
  const report = await load();
  await sample;
  const wall = (performance.now() - started) / 1000;
  const cpuAfter = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  return {
    queriesPerSecond: report.queriesPerSecond,
    latencyMs: { p50: report.latencyMs.p50, p95: report.latencyMs.p95, p99: report.latencyMs.p99 },
    proxyCores: (cpuAfter - cpuBefore) / wall,
    machineCores: (machineBusySeconds() - machineBefore) / wall,
    sessionsPerWorker,
  };
}

/** Client sessions on each worker of the proxy, from its control socket (`-a status`). */
async function sessionsOf(side: Side): Promise<number[]> {
  const response = await requestControl(side.controlSocket, { command: 'status' }, 5_000);
  if (!response.ok || !('status' in response)) return [];
  const status = response.status;
  if (status.workers) return status.workers.map((worker) => worker.sessions ?? 0);
  return [status.proxy?.sessions.open ?? 0];
}

/** The proxy process and its workers (children), whose CPU is the proxy's. */
async function groupPids(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    children.push(...text.trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return [pid, ...children];
}

async function startProxy(sandbox: Sandbox, dir: string, name: SideName, workers: number, schedPolicy?: 'none'): Promise<Side> {
  const home = join(dir, name);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const port = await findFreePort();
  const configPath = join(home, 'mysqlda.conf');
  const extra = { server: { workers }, session_pool: { unused_forward_session_timeout: 60, max_connections_per_server: 2_000 } };
  await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: home, extra }), { mode: 0o600 });
  const previous = process.env.NODE_CLUSTER_SCHED_POLICY;
  if (schedPolicy) process.env.NODE_CLUSTER_SCHED_POLICY = schedPolicy;
  try {
    const started = await ListeningProcess.start({
      name: `mysqlda (${name})`,
      command: process.execPath,
      args: [MYSQLDA_BIN, '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'],
      port,
      timeoutMs: 120_000,
    });
    return { name, workers, schedPolicy, port, controlSocket: join(home, 'mysqlda.ctl'), process: started };
  } finally {
    if (previous === undefined) delete process.env.NODE_CLUSTER_SCHED_POLICY;
    else process.env.NODE_CLUSTER_SCHED_POLICY = previous;
  }
}

/** sysbench only (the full bench's haproxy is not needed here). */
function findSysbench(): string {
  for (const dir of searchDirs()) {
    try {
      accessSync(join(dir, 'sysbench'), constants.X_OK);
      return join(dir, 'sysbench');
    } catch {
      // not here
    }
  }
  throw new Error(`the workers bench needs sysbench: ${TOOLS_MISSING_HINT}`);
}

function describeMachine(sysbench: string, mariadb: string): WorkersBench['machine'] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? 'unknown',
    cores: os.availableParallelism(),
    node: process.version,
    mariadb,
    sysbench: execFileSync(sysbench, ['--version'], { encoding: 'utf8' }).trim().replace(/^sysbench\s+/, ''),
  };
}

async function createTable(sandbox: Sandbox): Promise<void> {
  const master = sandbox.libraries[0].master;
  await master.query(`SET GLOBAL max_connections = 2000`);
  const db = `\`${sandbox.database}\``;
  await master.query(`CREATE TABLE ${db}.sbtest1 (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY (k))`);
  await master.query(`INSERT INTO ${db}.sbtest1 SELECT seq, seq % 1000, REPEAT(CHAR(97 + seq % 26), 120), REPEAT('p', 60) FROM ${db}.seq_1_to_${TABLE_ROWS}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, reps: { type: 'string', default: '2' } } });
  measureWorkers({ seconds: Number(values.seconds), reps: Number(values.reps), connections: [32, 64], log: (line) => console.error(line) }).then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (error: Error) => {
      console.error(`workers bench: ${error.message}`);
      process.exit(1);
    },
  );
}
