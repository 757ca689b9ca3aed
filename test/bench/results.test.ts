import { readdirSync, readFileSync } from 'node:fs';
import { clusterTargets, renderClusterMarkdown, type ClusterResult } from '../../bench/src/cluster.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUARDED_CONFIG } from '../../bench/src/guardrails.js';
import type { LoadCell, LoadFigures } from '../../bench/src/load-cells.js';
import { renderMarkdown } from '../../bench/src/markdown.js';
import { guardrailCosts, judge, judgeTargets, type BenchResult } from '../../bench/src/results.js';
import type { PathName } from '../../bench/src/stage.js';
import { PROJECT_ROOT } from '../../tools/project-root.js';

describe('a target verdict', () => {
  it('is goal, bar or fail for a figure where higher is better', () => {
    expect(judge(1.02, 0.8, 1.0, 'higher')).toBe('goal');
    expect(judge(0.8, 0.8, 1.0, 'higher')).toBe('bar');
    expect(judge(0.79, 0.8, 1.0, 'higher')).toBe('fail');
  });

  it('is goal, bar or fail for a figure where lower is better', () => {
    expect(judge(40, 100, 50, 'lower')).toBe('goal');
    expect(judge(100, 100, 50, 'lower')).toBe('bar');
    expect(judge(101, 100, 50, 'lower')).toBe('fail');
  });
});

function figures(queriesPerSecond: number, forwarderCpuPer10kQueries: number, otherLoadShare = 0.01): LoadFigures {
  return {
    events: queriesPerSecond * 3,
    queries: queriesPerSecond * 3,
    seconds: 3,
    eventsPerSecond: queriesPerSecond,
    queriesPerSecond,
    latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 },
    forwarderCpuPer10kQueries,
    forwarderCpuMsPerEvent: forwarderCpuPer10kQueries / 10,
    mariadbCpuPer10kQueries: 0.3,
    errors: 0,
    otherLoadShare,
  };
}

function cell(workload: LoadCell['workload'], connections: number, path: PathName, median: LoadFigures): LoadCell {
  return { workload, connections, path, runs: [{ ...median, repetition: 0 }], median };
}

describe('the cost of the guardrails', () => {
  it('compares mysqlda_guarded with mysqlda cell by cell: throughput ratio, CPU µs per query, CPU increase in per cent', () => {
    const cells = [
      cell('point_ps', 32, 'mysqlda', figures(20_000, 0.4, 0.02)),
      cell('point_ps', 32, 'mysqlda_guarded', figures(19_000, 0.41, 0.05)),
      cell('point_text', 128, 'mysqlda', figures(16_000, 0.5)),
      cell('point_text', 128, 'mysqlda_guarded', figures(16_800, 0.48)),
    ];
    const [prepared, text] = guardrailCosts({ guardrails: { config: GUARDED_CONFIG, cells } });
    expect(prepared).toMatchObject({ workload: 'point_ps', connections: 32, throughputRatio: 0.95, otherLoadShare: 0.05 });
    expect(prepared.cpuMicrosPerQuery.plain).toBeCloseTo(40);
    expect(prepared.cpuMicrosPerQuery.guarded).toBeCloseTo(41);
    expect(prepared.cpuIncreasePercent).toBeCloseTo(2.5);
    expect(text).toMatchObject({ workload: 'point_text', connections: 128, throughputRatio: 1.05 });
    expect(text.cpuIncreasePercent).toBeCloseTo(-4);
  });

  it('pairs the runs of a repetition, so that one disturbed pair does not move the increase', () => {
    const runs = (path: PathName, cpu: number[]): LoadCell => {
      const all = cpu.map((value, repetition) => ({ ...figures(20_000, value), repetition }));
      return { workload: 'point_ps', connections: 32, path, runs: all, median: figures(20_000, [...cpu].sort((a, b) => a - b)[1]) };
    };
    const cells = [runs('mysqlda', [0.4, 0.6, 0.5]), runs('mysqlda_guarded', [0.404, 0.606, 0.6])];
    const [cost] = guardrailCosts({ guardrails: { config: GUARDED_CONFIG, cells } });
    expect(cost.cpuIncreasePercent).toBeCloseTo(1);
    // The medians alone (0.5 and 0.6 s per 10k) would say +20%.
    expect(cost.cpuMicrosPerQuery).toEqual({ plain: 50, guarded: 60 });
  });

  it('is absent from results written before the guardrail cells existed', () => {
    expect(guardrailCosts({})).toEqual([]);
  });
});

describe('the stored results (bench/results)', () => {
  const dir = path.join(PROJECT_ROOT, 'bench/results');
  const all = [path.join(dir, 'latest.json'), path.join(dir, 'cluster.json'), ...readdirSync(path.join(dir, 'history')).map((name) => path.join(dir, 'history', name))];
  const isCluster = (file: string) => /(^|[/-])cluster\.json$/.test(file);
  const files = all.filter((file) => !isCluster(file));

  it.each(all.filter(isCluster).map((file) => [path.relative(dir, file), file]))('%s (the cluster half) is still judged and rendered', (_name, file) => {
    const result = JSON.parse(readFileSync(file, 'utf8')) as ClusterResult;
    const judged = clusterTargets(result.mode, result);
    expect(judged.filter((target) => !Number.isFinite(target.measured))).toEqual([]);
    expect(renderClusterMarkdown({ ...result, targets: judged })).toContain('## Failover masking');
  });

  it.each(files.map((file) => [path.relative(dir, file), file]))('%s is still judged and rendered', (_name, file) => {
    const { targets: _, ...rest } = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
    const judged = judgeTargets(rest);
    expect(judged.filter((target) => !Number.isFinite(target.measured))).toEqual([]);
    const markdown = renderMarkdown({ ...rest, targets: judged });
    expect(markdown).toContain('## Targets, figures of this run');
    expect(markdown.includes('## Guardrails')).toBe(rest.guardrails !== undefined);
  });
});
