/**
 * The cluster figures of `npm run bench`: the shared MySQL directory against save files, moving a directory between
 * the two, several worker processes against one, and replication-aware failover (time to the first write after a
 * master dies with `promote`, and what idle pooled clients see across it). Each part starts its own servers and
 * proxy processes; the results go to cluster.json and cluster.md beside latest.json.
 *
 *   npm run bench -- --only cluster      these figures alone (about 8 minutes)
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../tools/sandbox/tree.js';
import { measureDirectoryTransfer, type DirectoryTransferFigures } from './directory-transfer.js';
import { measureFailoverMasking, type FailoverMaskingFigures } from './failover-masking.js';
import { measureFailoverTime, type FailoverTimeFigures } from './failover-time.js';
import { describeCommit, describeMachine, findTools, type Machine } from './machine.js';
import { judge, type Target } from './results.js';
import { measureSharedDirectory, type SharedDirectoryFigures } from './shared-directory.js';
import { measureWorkers, type WorkersBench } from './workers.js';

export interface ClusterSettings {
  mode: 'full' | 'quick';
  sharedSeconds: number;
  sharedClients: number;
  startKeys: number;
  transferKeys: number;
  failoverRuns: number;
  maskingConnections: number;
  maskingRounds: number;
  workersSeconds: number;
  workersReps: number;
  workersConnections: number[];
}

export const CLUSTER_FULL: ClusterSettings = {
  mode: 'full',
  sharedSeconds: 5,
  sharedClients: 64,
  startKeys: 1_000_000,
  transferKeys: 1_000_000,
  failoverRuns: 3,
  maskingConnections: 32,
  maskingRounds: 3,
  workersSeconds: 10,
  workersReps: 3,
  workersConnections: [32, 64],
};

/** Every figure from tiny runs, so that `npm test` keeps the code working; none of them is judged. */
export const CLUSTER_QUICK: ClusterSettings = {
  mode: 'quick',
  sharedSeconds: 1,
  sharedClients: 8,
  startKeys: 10_000,
  transferKeys: 5_000,
  failoverRuns: 1,
  maskingConnections: 4,
  maskingRounds: 1,
  workersSeconds: 1,
  workersReps: 1,
  workersConnections: [8],
};

export interface ClusterResult {
  schema: 1;
  mode: 'full' | 'quick';
  startedAt: string;
  durationSeconds: number;
  commit: string;
  machine: Machine;
  sharedDirectory: SharedDirectoryFigures;
  directoryTransfer: DirectoryTransferFigures;
  workers: WorkersBench;
  failoverTime: FailoverTimeFigures[];
  failoverMasking: FailoverMaskingFigures;
  targets: Target[];
}

export async function measureCluster(settings: ClusterSettings, log: (line: string) => void): Promise<ClusterResult> {
  const startedAt = new Date();
  const began = performance.now();
  const machine = describeMachine(findTools());
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-bench-cluster-'));
  try {
    log(`shared directory: ${settings.sharedClients} clients, ${settings.sharedSeconds} s per cell, start with ${settings.startKeys} keys`);
    const sharedDirectory = await measureSharedDirectory({
      dir: join(dir, 'shared'),
      seconds: settings.sharedSeconds,
      clients: settings.sharedClients,
      startKeys: settings.startKeys,
      log: () => {},
    });
    log(`directory import/export: ${settings.transferKeys} keys`);
    const directoryTransfer = await measureDirectoryTransfer(settings.transferKeys);
    log(`workers: 2 against 1, ${settings.workersConnections.join('/')} connections`);
    const workers = await measureWorkers({
      seconds: settings.workersSeconds,
      reps: settings.workersReps,
      connections: settings.workersConnections,
      log: () => {},
    });
    log(`failover time with promote: ${settings.failoverRuns} runs per case`);
    const failoverTime = await measureFailoverTime(settings.failoverRuns);
    log(`failover masking: ${settings.maskingConnections} idle pooled connections, ${settings.maskingRounds} rounds`);
    const failoverMasking = await measureFailoverMasking(settings.maskingConnections, settings.maskingRounds);
    const partial = { sharedDirectory, directoryTransfer, workers, failoverTime, failoverMasking };
    return {
      schema: 1,
      mode: settings.mode,
      startedAt: startedAt.toISOString(),
      durationSeconds: (performance.now() - began) / 1000,
      commit: describeCommit(),
      machine,
      ...partial,
      targets: clusterTargets(settings.mode, partial),
    };
  } finally {
    await removeTree(dir);
  }
}

/** The issues' bars and goals for these figures; a quick run judges none. */
export function clusterTargets(mode: 'full' | 'quick', result: Pick<ClusterResult, 'sharedDirectory' | 'failoverTime' | 'failoverMasking'>): Target[] {
  const target = (figure: string, measured: number, unit: string, bar: number, goal: number, better: 'higher' | 'lower'): Target => ({
    figure,
    measured,
    unit,
    bar,
    goal,
    better,
    verdict: mode === 'quick' ? 'not judged' : judge(measured, bar, goal, better),
  });
  const targets = [
    target(`new keys acknowledged/s, MySQL directory, ${result.sharedDirectory.clients} clients`, result.sharedDirectory.newKeysPerSecond.mysql, '/s', 5_000, 20_000, 'higher'),
    target(`start with ${result.sharedDirectory.start.keys.toLocaleString('en')} keys in the MySQL directory`, result.sharedDirectory.start.processSeconds, 's', 3, 3, 'lower'),
  ];
  for (const figures of result.failoverTime) {
    if (figures.signal !== 'SIGKILL') continue;
    targets.push(
      target(
        `master SIGKILL to first write with promote, health interval ${figures.healthIntervalMs} ms (median)`,
        figures.medianSeconds,
        's',
        figures.barSeconds,
        2,
        'lower',
      ),
    );
  }
  targets.push(target('client-visible errors of idle pooled connections across a master kill', result.failoverMasking.clientErrors, '', 0, 0, 'lower'));
  return targets;
}

const whole = (value: number) => Math.round(value).toLocaleString('en');
const fixed = (value: number, digits: number) => value.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const show = (value: number, unit: string) => (unit === 's' ? `${fixed(value, 2)} s` : `${whole(value)}${unit}`);

const VERDICTS = { goal: 'pass (goal)', bar: 'pass (bar)', fail: '**FAIL**', 'not judged': 'not judged (quick run)' } as const;

export function renderClusterMarkdown(result: ClusterResult): string {
  const { machine, sharedDirectory: shared, directoryTransfer: transfer, workers, failoverTime, failoverMasking } = result;
  const out: string[] = [];
  out.push(`# mysqlda cluster benchmark (${result.mode} run)`);
  out.push('');
  out.push(`Commit ${result.commit}, ${result.startedAt}, ${fixed(result.durationSeconds / 60, 1)} min. Machine: ${machine.cpuModel}, ${machine.cores} cores, ${fixed(machine.ramBytes / 2 ** 30, 1)} GiB, ${machine.kernel}; Node ${machine.node}, ${machine.mariadb}.`);
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push(
    table(
      ['figure', 'measured', 'bar', 'goal', 'verdict'],
      result.targets.map((t) => [t.figure, show(t.measured, t.unit), show(t.bar, t.unit), show(t.goal, t.unit), VERDICTS[t.verdict]]),
    ),
  );
  out.push('');
  out.push(`## Shared directory (MySQL) against save files, ${shared.clients} clients, ${shared.seconds} s per cell`);
  out.push('');
  out.push(
    table(
      ['figure', 'MySQL directory', 'save files'],
      [
        ['new keys acknowledged/s', whole(shared.newKeysPerSecond.mysql), whole(shared.newKeysPerSecond.files)],
        ['`select library` of known keys/s', whole(shared.knownSelectsPerSecond.mysql), whole(shared.knownSelectsPerSecond.files)],
        ['connect + select library + quit /s, 16 clients', whole(shared.churnPerSecond.mysql), whole(shared.churnPerSecond.files)],
      ],
    ),
  );
  out.push('');
  out.push(`Keys per assigning transaction: ${fixed(shared.keysPerTransaction, 1)}. The directory alone (no proxy): ${whole(shared.directoryAlonePerSecond.clients)} new keys/s from ${shared.clients} callers, ${whole(shared.directoryAlonePerSecond.callers4x)} from ${4 * shared.clients}.`);
  out.push(`Start with ${whole(shared.start.keys)} keys in the MySQL directory: ${fixed(shared.start.processSeconds, 2)} s spawn to listening (empty directory: ${fixed(shared.start.emptyProcessSeconds, 2)} s); loading them: ${fixed(shared.start.openSeconds, 2)} s.`);
  out.push('');
  out.push(`## Moving a directory: ${whole(transfer.keys)} keys and ${whole(transfer.correlObjects)} correl objects`);
  out.push('');
  out.push(`directory-import ${fixed(transfer.importSeconds, 1)} s, the same import again ${fixed(transfer.reimportSeconds, 1)} s, directory-export ${fixed(transfer.exportSeconds, 1)} s.`);
  out.push('');
  out.push(`## Workers: ${workers.workload}, ${workers.secondsPerRun} s per run, ${workers.reps} runs, medians`);
  out.push('');
  out.push(
    table(
      ['connections', 'sides (queries/s)', 'workers 2 / 1'],
      workers.cells.map((cell) => [
        String(cell.connections),
        Object.entries(cell.sides)
          .map(([side, run]) => `${side}: ${whole(run.queriesPerSecond)} (proxy ${fixed(run.proxyCores, 2)} cores)`)
          .join('; '),
        `${fixed(cell.ratioTwoOverOne, 2)}×`,
      ]),
    ),
  );
  out.push('');
  out.push('## Failover with `failover.mode: promote`: master gone to first successful write through mysqlda');
  out.push('');
  out.push(
    table(
      ['master', 'health interval', 'fail threshold', 'bar', 'median', 'max'],
      failoverTime.map((f) => [f.signal, `${f.healthIntervalMs} ms`, String(f.failThreshold), `${fixed(f.barSeconds, 2)} s`, `${fixed(f.medianSeconds, 3)} s`, `${fixed(f.maxSeconds, 3)} s`]),
    ),
  );
  out.push('');
  out.push('## Failover masking: idle pooled connections across a master SIGKILL');
  out.push('');
  out.push(
    table(
      ['connections', 'client errors', 'on the new server', 'first answer median', 'slowest'],
      failoverMasking.rounds.map((r) => [String(r.connections), String(r.clientErrors), String(r.onReplica), `${fixed(r.firstAnswerMedianMs, 0)} ms`, `${fixed(r.firstAnswerMaxMs, 0)} ms`]),
    ),
  );
  out.push('');
  return `${out.join('\n')}\n`;
}
