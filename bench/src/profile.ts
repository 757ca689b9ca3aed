/**
 * Profiles the proxy under one sysbench workload, through the mysqlda path only, and summarises the profile per
 * query. Two tools:
 *   --tool cpu-prof (default)  the proxy runs with `node --cpu-prof`; stopped, it writes a .cpuprofile: JavaScript
 *                              functions by self and inclusive samples (native code and syscalls are charged to the
 *                              JavaScript frame that called them)
 *   --tool perf                `perf record` on the proxy process (the proxy runs with --perf-basic-prof): kernel,
 *                              Node's C++, libc and JavaScript, by shared object and symbol
 *
 *   node build/bench/src/profile.js [--tool cpu-prof|perf] [--workload point_ps] [--connections 32] [--seconds 15]
 *                              [--out FILE.md] [--keep]
 *
 * The summary (markdown) goes to --out, default bench/results/profiles/<tool>-<workload>-<connections>.md; the raw
 * profile stays in the working directory with --keep.
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './cpu-profile.js';
import { jitDso, PERF_NODE_FLAGS, recordPerf, summarizePerf, type PerfSummary } from './perf-profile.js';
import { describeCommit, describeMachine, findTools } from './machine.js';
import { cpuSeconds } from './proc-stats.js';
import { FULL } from './settings.js';
import { Stage } from './stage.js';
import { runSysbench, type SysbenchReport, type Workload } from './sysbench.js';

const TOP_FUNCTIONS = 30;

type Tool = 'cpu-prof' | 'perf';

interface Flags {
  tool: Tool;
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
      tool: { type: 'string', default: 'cpu-prof' },
      workload: { type: 'string', default: 'point_ps' },
      connections: { type: 'string', default: '32' },
      seconds: { type: 'string', default: '15' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const tool = values.tool as Tool;
  if (tool !== 'cpu-prof' && tool !== 'perf') throw new Error(`--tool must be cpu-prof or perf, not ${values.tool}`);
  const workload = values.workload as Workload;
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections must be a positive integer, not ${values.connections}`);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`--seconds must be a positive integer, not ${values.seconds}`);
  const out = values.out ?? join(PROJECT_ROOT, `bench/results/profiles/${tool}-${workload}-${connections}.md`);
  return { tool, workload, connections, seconds, out: resolve(out), keep: values.keep! };
}

const percent = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

interface Measured {
  report: SysbenchReport;
  /** CPU seconds of the proxy process over the sysbench run, from /proc. */
  proxyCpu: number;
}

function measuredLines(flags: Flags, { report, proxyCpu }: Measured, header: string): string[] {
  return [
    `# Profile of mysqlda (${flags.tool}): ${flags.workload}, ${flags.connections} connections, ${flags.seconds} s`,
    '',
    header,
    '',
    `- sysbench through mysqlda: ${report.queries.toLocaleString('en')} queries, ${Math.round(report.queriesPerSecond).toLocaleString('en')}/s, p95 ${report.latencyMs.p95} ms`,
    `- proxy CPU from /proc (all threads, profiler overhead included): ${proxyCpu.toFixed(2)} s = ${((proxyCpu / report.queries) * 1e6).toFixed(1)} µs per query = ${((proxyCpu / report.queries) * 1e4).toFixed(3)} s per 10k`,
  ];
}

function renderCpuProf(flags: Flags, summary: ProfileSummary, measured: Measured, header: string): string {
  const { report } = measured;
  const perQuery = (samples: number) => ((samples * summary.intervalMicros) / report.queries).toFixed(2);
  const busy = summary.busySamples;
  const top = [...summary.functions].sort((a, b) => b.selfSamples - a.selfSamples).slice(0, TOP_FUNCTIONS);
  const ours = summary.functions
    .filter((f) => f.file.startsWith('dist/') && f.totalSamples > 0)
    .sort((a, b) => b.totalSamples - a.totalSamples)
    .slice(0, TOP_FUNCTIONS);
  const files = [...summary.files].sort((a, b) => b.selfSamples - a.selfSamples).slice(0, 20);
  return [
    ...measuredLines(flags, measured, header),
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

/** Where perf's samples fall, in shares of the proxy's CPU and in µs per query. */
function renderPerf(flags: Flags, summary: PerfSummary, measured: Measured, header: string): string {
  const microsPerQuery = (measured.proxyCpu / measured.report.queries) * 1e6;
  const us = (percent: number) => ((percent / 100) * microsPerQuery).toFixed(2);
  const kind = (dso: string) => (jitDso(dso) ? 'JavaScript (JIT)' : dso);
  const ours = (symbol: string) => symbol.includes('/dist/');
  const short = (symbol: string) => symbol.replace(/file:\/\/\S*?\/dist\//, 'dist/');
  return [
    ...measuredLines(flags, measured, header),
    '',
    '## What the proxy\'s CPU did (each sample judged by its whole stack)',
    '',
    '| category | share | µs/query |',
    '| --- | --- | --- |',
    ...summary.byCategory.map((c) => `| ${c.category} | ${c.percent.toFixed(1)}% | ${us(c.percent)} |`),
    '',
    '## Charged to the innermost mysqlda function on the stack (Node, libuv and kernel work it caused included)',
    '',
    '| function | share | µs/query |',
    '| --- | --- | --- |',
    ...summary.byMysqldaFunction.map((f) => `| ${f.fn} | ${f.percent.toFixed(1)}% | ${us(f.percent)} |`),
    '',
    '## By shared object (share of the proxy\'s samples, µs per query)',
    '',
    '| shared object | share | µs/query |',
    '| --- | --- | --- |',
    ...summary.byDso.map((d) => `| ${kind(d.dso)} | ${d.percent.toFixed(1)}% | ${us(d.percent)} |`),
    '',
    '## Self time by symbol',
    '',
    '| shared object | symbol | self | µs/query |',
    '| --- | --- | --- | --- |',
    ...summary.topSelf.map((f) => `| ${kind(f.dso)} | \`${short(f.symbol)}\` | ${f.percent.toFixed(2)}% | ${us(f.percent)} |`),
    '',
    '## JavaScript functions, inclusive (callees, Node C++ and kernel included); mysqlda\'s own in bold',
    '',
    '| function | inclusive | µs/query |',
    '| --- | --- | --- |',
    ...summary.jsInclusive.map((f) => {
      const name = `\`${short(f.symbol)}\``;
      return `| ${ours(f.symbol) ? `**${name}**` : name} | ${f.percent.toFixed(1)}% | ${us(f.percent)} |`;
    }),
    '',
  ].join('\n');
}

async function profile(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const tools = findTools();
  const machine = describeMachine(tools);
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-profile-'));
  const profileDir = join(dir, 'cpuprofile');
  const perfFile = join(dir, 'perf.data');
  const stage = await Stage.start({
    dir,
    tools,
    data: FULL.data,
    proxyNodeFlags: flags.tool === 'perf' ? PERF_NODE_FLAGS : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    log: () => {},
  });
  let measured: Measured;
  let proxyPid: number;
  try {
    const path = stage.path('mysqlda');
    proxyPid = path.forwarder!.pid;
    const load = (seconds: number) =>
      runSysbench({
        sysbench: tools.sysbench,
        workload: flags.workload,
        port: path.port,
        ...stage.account,
        threads: flags.connections,
        seconds,
        libraryKey: path.libraryKey,
        tableSize: FULL.data.pointRows,
      });
    let perf: ReturnType<typeof recordPerf> | undefined;
    if (flags.tool === 'perf') {
      await load(2); // JIT-compiled before perf looks, so that functions have their optimised names
      perf = recordPerf(proxyPid, flags.seconds + 1, perfFile);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const before = cpuSeconds(proxyPid);
    const report = await load(flags.seconds);
    measured = { report, proxyCpu: cpuSeconds(proxyPid) - before };
    await perf?.done;
  } finally {
    await stage.stop(); // SIGTERM: the proxy exits cleanly and writes its --cpu-prof profile
  }
  const header = `${new Date().toISOString()} · commit ${describeCommit()} · ${machine.cpuModel}, ${machine.cores} cores · Node ${machine.node} · MariaDB ${machine.mariadb}`;
  let markdown: string;
  let raw: string;
  if (flags.tool === 'perf') {
    markdown = renderPerf(flags, await summarizePerf(perfFile), measured, header);
    raw = perfFile;
    if (!flags.keep) await removeTree(`/tmp/perf-${proxyPid}.map`);
  } else {
    const [file] = (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error(`the proxy wrote no profile into ${profileDir}`);
    raw = join(profileDir, file);
    markdown = renderCpuProf(flags, summarizeProfile(JSON.parse(await readFile(raw, 'utf8')) as CpuProfile, PROJECT_ROOT), measured, header);
  }
  await mkdir(dirname(flags.out), { recursive: true });
  await writeFile(flags.out, markdown);
  console.log(`profile summary: ${flags.out}`);
  if (flags.keep) console.log(`raw profile: ${raw}`);
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
