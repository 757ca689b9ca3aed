/** bench/results/latest.md: the machine, the performance targets judged, then every figure of the run. */
import type { LoadCell, LoadFigures } from './load-cells.js';
import { findCell, guardrailCosts, JUDGED_CONNECTIONS, kindOf, megabytesPerSecond, type BenchResult, type Target, type Verdict } from './results.js';
import { GUARDED_PATH, PATH_DESCRIPTIONS, PATH_NAMES, type PathName } from './stage.js';
import type { Workload } from './sysbench.js';

const MB = 1e6;

const fixed = (value: number, digits: number) => value.toFixed(digits);
const whole = (value: number) => Math.round(value).toLocaleString('en');
const ms = (value: number) => fixed(value, 3);
const ratio = (value: number) => fixed(value, 2);
const megabytes = (bytes: number) => fixed(bytes / MB, 1);
const signedPercent = (value: number) => `${value > 0 ? '+' : ''}${fixed(value, 1)}%`;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const VERDICTS: Record<Verdict, string> = { goal: 'pass (goal)', bar: 'pass (bar)', fail: '**FAIL**', 'not judged': 'not judged (quick run)' };

function formatTargetValue(target: Target, value: number): string {
  switch (target.unit) {
    case '×':
      return `${ratio(value)}×`;
    case 's':
      return `${fixed(value, value < 1 ? 3 : 2)} s`;
    case 'µs':
      return `${fixed(value, 0)} µs`;
    case 'MB':
      return `${fixed(value, 0)} MB`;
    case '%':
      return signedPercent(value);
    default:
      return `${whole(value)}${target.unit}`;
  }
}

function targetsTable(targets: readonly Target[]): string {
  const sign = (target: Target) => (target.better === 'higher' ? '≥' : '≤');
  return table(
    ['figure', 'measured', 'bar', 'goal', 'verdict'],
    targets.map((target) => [
      target.figure,
      formatTargetValue(target, target.measured),
      `${sign(target)} ${formatTargetValue(target, target.bar)}`,
      `${sign(target)} ${formatTargetValue(target, target.goal)}`,
      VERDICTS[target.verdict],
    ]),
  );
}

const cpu = (figures: LoadFigures, pick: (f: LoadFigures) => number | undefined, digits = 3) => {
  const value = pick(figures);
  return value === undefined ? '–' : fixed(value, digits);
};

/** The share of the machine that processes outside the bench took during the runs of a cell. */
const otherLoad = (figures: LoadFigures) => `${fixed(figures.otherLoadShare * 100, 0)}%`;

function relative(cells: readonly LoadCell[], workload: Workload, connections: number, path: PathName, to: PathName, pick: (f: LoadFigures) => number): string {
  if (path === to) return '1.00';
  // Not every path runs every workload (the bare Node forwarder runs point selects and churn only).
  if (!cells.some((c) => c.workload === workload && c.connections === connections && c.path === to)) return '–';
  return ratio(pick(findCell(cells, workload, connections, path)) / pick(findCell(cells, workload, connections, to)));
}

const WORKLOAD_TITLES: Partial<Record<Workload, string>> = {
  point_ps: 'Point select, prepared (`SELECT c FROM sbtest1 WHERE id = ?`, COM_STMT_EXECUTE)',
  point_text: 'Point select, text (COM_QUERY)',
  read_only: 'Read-only transaction (BEGIN, 10 point selects, 4 range selects, COMMIT: 16 statements per event)',
};

function throughputSection(result: BenchResult): string {
  const parts: string[] = [];
  const workloads = [...new Set(result.throughput.map((cell) => cell.workload))];
  for (const workload of workloads) {
    const cells = result.throughput.filter((cell) => cell.workload === workload);
    const perEvent = workload === 'read_only' ? 'transaction' : 'statement';
    parts.push(`### ${WORKLOAD_TITLES[workload] ?? workload}\n`);
    parts.push(
      table(
        ['conns', 'path', 'queries/s', '/ haproxy', '/ node', '/ direct', `p50 ms per ${perEvent}`, 'p95 ms', 'p99 ms', 'forwarder CPU s / 10k q', 'mariadbd CPU s / 10k q', 'other load'],
        cells.map((cell) => {
          const qps = (f: LoadFigures) => f.queriesPerSecond;
          return [
            String(cell.connections),
            cell.path,
            whole(cell.median.queriesPerSecond),
            relative(result.throughput, workload, cell.connections, cell.path, 'haproxy', qps),
            relative(result.throughput, workload, cell.connections, cell.path, 'node', qps),
            relative(result.throughput, workload, cell.connections, cell.path, 'direct', qps),
            ms(cell.median.latencyMs.p50),
            ms(cell.median.latencyMs.p95),
            ms(cell.median.latencyMs.p99),
            cpu(cell.median, (f) => f.forwarderCpuPer10kQueries),
            cpu(cell.median, (f) => f.mariadbCpuPer10kQueries),
            otherLoad(cell.median),
          ];
        }),
      ),
      '',
    );
  }
  return parts.join('\n');
}

/** A config as JSON, one line per section and one per element of a list of objects (the rules). */
function compactJson(config: Record<string, unknown>): string {
  const sections = Object.entries(config).map(([key, value]) => {
    if (!Array.isArray(value) || value.length < 2) return `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
    return `  ${JSON.stringify(key)}: [\n${value.map((item) => `    ${JSON.stringify(item)}`).join(',\n')}\n  ]`;
  });
  return `{\n${sections.join(',\n')}\n}`;
}

function guardrailSection(result: BenchResult): string {
  const costs = guardrailCosts(result);
  const rows = costs.map((cost) => [
    `point select (${kindOf(cost.workload)})`,
    String(cost.connections),
    whole(findCell(result.guardrails!.cells, cost.workload, cost.connections, 'mysqlda').queriesPerSecond),
    whole(findCell(result.guardrails!.cells, cost.workload, cost.connections, GUARDED_PATH).queriesPerSecond),
    ratio(cost.throughputRatio),
    fixed(cost.cpuMicrosPerQuery.plain, 1),
    fixed(cost.cpuMicrosPerQuery.guarded, 1),
    signedPercent(cost.cpuIncreasePercent),
    `${fixed(cost.otherLoadShare * 100, 0)}%`,
  ]);
  return [
    table(
      ['workload', 'conns', 'mysqlda queries/s', 'guarded queries/s', 'guarded / mysqlda', 'mysqlda CPU µs / query', 'guarded CPU µs / query', 'CPU per query', 'other load'],
      rows,
    ),
    '',
    'The guarded proxy\'s config adds these sections to the usual one (each merged key by key over it):',
    '',
    '```json',
    compactJson(result.guardrails!.config),
    '```',
  ].join('\n');
}

function largeResultSection(result: BenchResult): string {
  const labels = {
    big_rows: `100,000 rows (${megabytes(result.largeResults.bytesPerEvent.big_rows)} MB of column data)`,
    blob: `one ${megabytes(result.largeResults.bytesPerEvent.blob)} MB blob`,
  };
  return table(
    ['result', 'path', 'MB/s', '/ direct', 'p50 ms per result', 'p95 ms', 'forwarder CPU ms per result', 'other load'],
    result.largeResults.cells.map((cell) => {
      const workload = cell.workload as 'big_rows' | 'blob';
      const rate = megabytesPerSecond(result, workload, cell.path);
      return [
        labels[workload],
        cell.path,
        fixed(rate, 0),
        ratio(rate / megabytesPerSecond(result, workload, 'direct')),
        fixed(cell.median.latencyMs.p50, 1),
        fixed(cell.median.latencyMs.p95, 1),
        cpu(cell.median, (f) => f.forwarderCpuMsPerEvent, 1),
        otherLoad(cell.median),
      ];
    }),
  );
}

function churnSection(result: BenchResult): string {
  const perSecond = (f: LoadFigures) => f.eventsPerSecond;
  return table(
    ['clients', 'path', 'connections/s', '/ haproxy', '/ node', '/ direct', 'p50 ms', 'p95 ms', 'forwarder CPU ms per connection', 'other load'],
    result.churn.map((cell) => [
      String(cell.connections),
      cell.path,
      whole(cell.median.eventsPerSecond),
      relative(result.churn, 'churn', cell.connections, cell.path, 'haproxy', perSecond),
      relative(result.churn, 'churn', cell.connections, cell.path, 'node', perSecond),
      relative(result.churn, 'churn', cell.connections, cell.path, 'direct', perSecond),
      ms(cell.median.latencyMs.p50),
      ms(cell.median.latencyMs.p95),
      cpu(cell.median, (f) => f.forwarderCpuMsPerEvent),
      otherLoad(cell.median),
    ]),
  );
}

function newKeysSection(result: BenchResult): string {
  const { median: figures, connections } = result.newKeys;
  return table(
    ['clients', 'new keys/s', 'p50 ms', 'p95 ms', 'p99 ms', 'mysqlda CPU ms per key', 'other load'],
    [
      [
        String(connections),
        whole(figures.eventsPerSecond),
        ms(figures.latencyMs.p50),
        ms(figures.latencyMs.p95),
        ms(figures.latencyMs.p99),
        cpu(figures, (f) => f.forwarderCpuMsPerEvent),
        otherLoad(figures),
      ],
    ],
  );
}

function memorySection(result: BenchResult): string {
  const { routed, unrouted } = result.memory;
  const row = (label: string, memory: typeof routed) => [
    `${memory.clients.toLocaleString('en')} ${label}`,
    megabytes(memory.baselineRssBytes),
    megabytes(memory.rssBytes),
    fixed((memory.rssBytes - memory.baselineRssBytes) / memory.clients / 1024, 1),
    fixed(memory.connectSeconds, 1),
  ];
  return table(
    ['clients', 'RSS before, MB', 'RSS with them, MB', 'KiB per client', 'seconds to connect them'],
    [row('connected, unrouted clients (logged in, nothing sent)', unrouted), row('routed idle sessions (`select library` done, one backend connection each)', routed)],
  );
}

function directorySection(result: BenchResult): string {
  const load = result.directoryLoad;
  const row = (label: string, figures: typeof load.empty, overEmpty: string) => [
    label,
    fixed(figures.startSeconds, 2),
    overEmpty,
    megabytes(figures.rssBytes),
    megabytes(figures.peakRssBytes),
  ];
  return table(
    ['directory', 'spawn → listening, s', 'more than empty, s', 'RSS at listening, MB', 'peak RSS, MB'],
    [
      row('empty', load.empty, '–'),
      row(
        `${load.keys.toLocaleString('en')} keys (mysqlda.save of ${megabytes(load.saveFileBytes)} MB)`,
        load.loaded,
        fixed(load.loaded.startSeconds - load.empty.startSeconds, 2),
      ),
    ],
  );
}

export function renderMarkdown(result: BenchResult): string {
  const { machine } = result;
  const date = result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const lines = [
    `# mysqlda benchmark (${result.mode} run)`,
    '',
    table(
      ['', ''],
      [
        ['date', date],
        ['commit', `\`${result.commit}\``],
        ['CPU', `${machine.cpuModel}, ${machine.cores} cores`],
        ['RAM', `${fixed(machine.ramBytes / 2 ** 30, 1)} GiB`],
        ['OS', machine.kernel],
        ['Node', machine.node],
        ['MariaDB', machine.mariadb],
        ['haproxy', `${machine.haproxy} (TCP mode, nbthread 1)`],
        ['sysbench', machine.sysbench],
        ['method', `${result.method.load}, ${result.method.repetitions} repetition(s)${result.method.judgedRepetitions && result.method.judgedRepetitions !== result.method.repetitions ? ` (${result.method.judgedRepetitions} for the point-select cells at ${JUDGED_CONNECTIONS.join(' and ')} connections that the targets judge)` : ''}, paths interleaved, medians; whole run ${fixed(result.durationSeconds / 60, 1)} min`],
        ['topology', result.method.topology],
        [
          'other load',
          `${fixed(result.machineLoad.otherProcessesCpuShare * 100, 0)}% of the machine's CPU time went to processes outside the bench; ` +
            `load average ${fixed(result.machineLoad.loadAverageBefore, 2)} before, ${fixed(result.machineLoad.loadAverageAfter, 2)} after`,
        ],
      ],
    ),
    '',
    '## Targets, figures of this run',
    '',
    targetsTable(result.targets),
    '',
    '## Throughput and latency (sysbench, one row per path)',
    '',
    `Paths: ${PATH_NAMES.map((name) => `${name} (${PATH_DESCRIPTIONS[name]})`).join('; ')}. Latency is per sysbench event, measured by the client. CPU is user + system time of the forwarding process from /proc/<pid>/stat over the whole sysbench run (its connects included), divided by the statements sent. "other load": the share of the machine's CPU that processes outside the bench took during the run (high means a disturbed measurement).`,
    '',
    throughputSection(result),
    ...(result.guardrails
      ? [
          '## Guardrails: every one configured against none (sysbench, point selects)',
          '',
          `mysqlda against ${GUARDED_PATH}, a second proxy process started with it and warmed up alike whose config adds every guardrail, none of which fires under this load. ` +
            `The two alternate within each cell (A B, B A, …), measured before any other cell, ${result.method.judgedRepetitions ?? result.method.repetitions} run(s) each; medians. ` +
            'CPU per query: user + system time of each proxy process over its sysbench runs (connects included), divided by the statements sent, the median of each path\'s runs. ' +
            '"guarded / mysqlda" and "CPU per query" (the increase): the median of the ratios of paired runs, the two runs of one repetition, next to each other in time.',
          '',
          guardrailSection(result),
          '',
        ]
      : []),
    '## Large results (1 connection, sysbench)',
    '',
    largeResultSection(result),
    '',
    '## Connection churn (sysbench: connect, authenticate, `select library` on mysqlda, `SELECT 1`, quit)',
    '',
    churnSection(result),
    '',
    '## New key assignments (mysqlda only; each key fsynced to mysqlda.save before OK)',
    '',
    newKeysSection(result),
    '',
    '## Memory of idle clients (mysql2 clients; a fresh proxy process for each row)',
    '',
    memorySection(result),
    '',
    '## Directory load at start',
    '',
    directorySection(result),
    '',
  ];
  return lines.join('\n');
}
