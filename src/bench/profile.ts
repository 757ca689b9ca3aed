/**
 * Profiles the proxy under one sysbench workload: the proxy runs with `node --cpu-prof`, sysbench loads it
 * through the mysqlda path only, then the proxy is stopped (which writes the profile) and the profile is
 * summarised per query.
 *
 *   node dist/bench/profile.js [--workload point_ps] [--connections 32] [--seconds 15] [--out FILE.md] [--keep]
 *
 * The summary (markdown) goes to --out, default bench/results/profile-<workload>-<connections>.md; the raw
 * .cpuprofile stays in the working directory with --keep (open it in Chrome DevTools or speedscope).
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { removeTree } from '../sandbox/tree.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './cpu-profile.js';
import { describeMachine, findTools } from './machine.js';
import { cpuSeconds } from './proc-stats.js';
import { FULL } from './settings.js';
import { Stage } from './stage.js';
import { runSysbench, type SysbenchReport, type Workload } from './sysbench.js';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
const TOP_FUNCTIONS = 30;

interface Flags {
  workload: Workload;
  connections: number;
  seconds: number;
  out: string;
  keep: boolean;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      workload: { type: 'string', default: 'point_ps' },
      connections: { type: 'string', default: '32' },
      seconds: { type: 'string', default: '15' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const workload = values.workload as Workload;
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a positive integer, not ${values.connections}`);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`--seconds must be a positive integer, not ${values.seconds}`);
  const out = values.out ?? join(PROJECT_ROOT, `bench/results/profile-${workload}-${connections}.md`);
  return { workload, connections, seconds, out: resolve(out), keep: values.keep! };
}

const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

function render(flags: Flags, summary: ProfileSummary, report: SysbenchReport, proxyCpu: number, header: string): string {
  const perQuery = (samples: number) => ((samples * summary.intervalMicros) / report.queries).toFixed(2);
  const busy = summary.busySamples;
  const top = [...summary.functions].sort((a, b) => b.selfSamples - a.selfSamples).slice(0, TOP_FUNCTIONS);
  const ours = summary.functions
    .filter((f) => f.file.startsWith('dist/') && f.totalSamples > 0)
    .sort((a, b) => b.totalSamples - a.totalSamples)
    .slice(0, TOP_FUNCTIONS);
  const files = [...summary.files].sort((a, b) => b.selfSamples - a.selfSamples).slice(0, 20);
  return [
    `# Profile of mysqlda: ${flags.workload}, ${flags.connections} connections, ${flags.seconds} s`,
    '',
    header,
    '',
    `- sysbench through mysqlda: ${report.queries.toLocaleString('en')} queries, ${Math.round(report.queriesPerSecond).toLocaleString('en')}/s, p95 ${report.latencyMs.p95} ms`,
    `- proxy CPU from /proc (all threads, profiler overhead included): ${proxyCpu.toFixed(2)} s = ${((proxyCpu / report.queries) * 1e6).toFixed(1)} µs per query = ${((proxyCpu / report.queries) * 1e4).toFixed(3)} s per 10k`,
    `- main-thread profile: ${summary.samples.toLocaleString('en')} samples of ${summary.intervalMicros.toFixed(0)} µs; busy ${percent(busy, summary.samples)} ` +
      `= ${perQuery(busy)} µs per query (the rest is idle: waiting in epoll)`,
    '',
    '## Self time by function (share of busy samples, µs per query)',
    '',
    '| function | self | µs/query | inclusive |',
    '| --- | --- | --- | --- |',
    ...top.map((f) => `| ${f.label} | ${percent(f.selfSamples, busy)} | ${perQuery(f.selfSamples)} | ${percent(f.totalSamples, busy)} |`),
    '',
    "## mysqlda's own functions, by inclusive time (callees included)",
    '',
    '| function | inclusive | µs/query | self |',
    '| --- | --- | --- | --- |',
    ...ours.map((f) => `| ${f.label} | ${percent(f.totalSamples, busy)} | ${perQuery(f.totalSamples)} | ${percent(f.selfSamples, busy)} |`),
    '',
    '## Self time by file',
    '',
    '| file | self | µs/query |',
    '| --- | --- | --- |',
    ...files.map((f) => `| ${f.file} | ${percent(f.selfSamples, busy)} | ${perQuery(f.selfSamples)} |`),
    '',
  ].join('\n');
}

async function profile(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const tools = findTools();
  const machine = describeMachine(tools);
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-profile-'));
  const profileDir = join(dir, 'cpuprofile');
  const stage = await Stage.start({
    dir,
    tools,
    data: FULL.data,
    proxyNodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    log: () => {},
  });
  let report: SysbenchReport;
  let proxyCpu: number;
  try {
    const path = stage.path('mysqlda');
    const pid = path.forwarder!.pid;
    const before = cpuSeconds(pid);
    report = await runSysbench({
      sysbench: tools.sysbench,
      workload: flags.workload,
      port: path.port,
      ...stage.account,
      threads: flags.connections,
      seconds: flags.seconds,
      libraryKey: path.libraryKey,
      tableSize: FULL.data.pointRows,
    });
    proxyCpu = cpuSeconds(pid) - before;
  } finally {
    await stage.stop(); // SIGTERM: the proxy exits cleanly and writes its profile
  }
  const [file] = (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`the proxy wrote no profile into ${profileDir}`);
  const summary = summarizeProfile(JSON.parse(await readFile(join(profileDir, file), 'utf8')) as CpuProfile, PROJECT_ROOT);
  const header = `${new Date().toISOString()} · ${machine.cpuModel}, ${machine.cores} cores · Node ${machine.node} · MariaDB ${machine.mariadb}`;
  await writeFile(flags.out, render(flags, summary, report, proxyCpu, header));
  console.log(`profile summary: ${flags.out}`);
  if (flags.keep) console.log(`raw profile: ${join(profileDir, file)}`);
  else await removeTree(dir);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  profile(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`profile: ${error.message}`);
      process.exit(1);
    },
  );
}
