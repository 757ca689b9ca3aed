/**
 * `npm run bench -- --quick` end to end against real servers (MariaDB sandbox, haproxy, sysbench, the built proxy),
 * so that the benchmark never rots. It checks that every figure was measured, never how good it is.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findTools } from '../../bench/src/machine.js';
import type { ClusterResult } from '../../bench/src/cluster.js';
import type { BenchResult } from '../../bench/src/results.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { ensureBenchBuilt, ensureBuilt } from '../cli/ensure-built.js';
import { PROJECT_ROOT } from '../support/proxy-harness.js';

const run = promisify(execFile);

/** Every leaf of a JSON value with its path: `throughput[3].median.latencyMs.p95`. */
function leaves(value: unknown, at = ''): { path: string; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, `${at}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, item]) => leaves(item, at ? `${at}.${key}` : key));
  return [{ path: at, value }];
}

describe('npm run bench -- --quick', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await removeTree(out);
  });

  it('measures every figure of the full run, each a finite number, and writes the JSON and markdown results', async () => {
    // Fails (never skips) on a machine without them, with the apt-get line that installs them.
    findTools();
    ensureBuilt();
    ensureBenchBuilt();
    out = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-bench-quick-test-'));
    await run(process.execPath, [path.join(PROJECT_ROOT, 'build/bench/src/main.js'), '--quick', '--out', out], {
      cwd: PROJECT_ROOT,
      maxBuffer: 16 << 20,
    });
    const result = JSON.parse(await readFile(path.join(out, 'latest.json'), 'utf8')) as BenchResult;

    const all = leaves(result);
    const notFinite = all.filter((leaf) => typeof leaf.value === 'number' && !Number.isFinite(leaf.value));
    const missing = all.filter((leaf) => leaf.value === null || leaf.value === undefined);
    expect(notFinite, 'figures that are not finite numbers').toEqual([]);
    expect(missing, 'figures left empty').toEqual([]);

    // Every cell of the grid, on every path, with latency percentiles and (for the forwarders) CPU per query.
    expect(result.mode).toBe('quick');
    for (const workload of ['point_ps', 'point_text', 'read_only']) {
      for (const connections of [1, 8, 32, 128]) {
        // The bare Node forwarder runs the point selects only (and churn).
        const paths = workload === 'read_only' ? ['direct', 'haproxy', 'mysqlda'] : ['direct', 'haproxy', 'node', 'mysqlda'];
        for (const pathName of paths) {
          const cell = result.throughput.find((c) => c.workload === workload && c.connections === connections && c.path === pathName);
          expect(cell, `${workload} at ${connections} connections via ${pathName}`).toBeDefined();
          expect(Object.keys(cell!.median.latencyMs).sort()).toEqual(['max', 'p50', 'p95', 'p99']);
          if (pathName !== 'direct') expect(typeof cell!.median.forwarderCpuPer10kQueries).toBe('number');
        }
      }
    }
    // Every guardrail configured against none: both proxies in the same cells, each with its CPU per query.
    for (const workload of ['point_ps', 'point_text']) {
      for (const connections of [32, 128]) {
        for (const pathName of ['mysqlda', 'mysqlda_guarded']) {
          const cell = result.guardrails!.cells.find((c) => c.workload === workload && c.connections === connections && c.path === pathName);
          expect(cell, `guardrail cell ${workload} at ${connections} connections via ${pathName}`).toBeDefined();
          expect(typeof cell!.median.forwarderCpuPer10kQueries).toBe('number');
        }
      }
    }
    expect(result.guardrails!.cells).toHaveLength(8);
    expect(result.guardrails!.config.rules).toHaveLength(10);
    expect(result.targets.filter((target) => target.figure.startsWith('guardrails:'))).toHaveLength(4);
    expect(result.largeResults.cells.map((c) => `${c.workload}/${c.path}`).sort()).toEqual(
      ['big_rows/direct', 'big_rows/haproxy', 'big_rows/mysqlda', 'blob/direct', 'blob/haproxy', 'blob/mysqlda'],
    );
    expect(result.churn.map((c) => `${c.connections}/${c.path}`).sort()).toEqual(
      ['1/direct', '1/haproxy', '1/mysqlda', '1/node', '4/direct', '4/haproxy', '4/mysqlda', '4/node'],
    );
    expect(result.newKeys).toMatchObject({ path: 'mysqlda', connections: 64 });
    expect(result.memory.routed.rssBytes).toBeGreaterThan(0);
    expect(result.memory.unrouted.rssBytes).toBeGreaterThan(0);
    expect(result.directoryLoad.loaded.rssBytes).toBeGreaterThan(0);
    expect(result.targets.length).toBeGreaterThanOrEqual(21);
    expect(result.targets.every((target) => target.verdict === 'not judged')).toBe(true);

    const markdown = await readFile(path.join(out, 'latest.md'), 'utf8');
    expect(markdown).toContain('## Targets, figures of this run');
    expect(markdown).toContain('## Guardrails');
    expect(markdown).toContain(result.machine.cpuModel);

    // The cluster figures: shared directory against files, import/export, workers, replication-aware failover.
    const cluster = JSON.parse(await readFile(path.join(out, 'cluster.json'), 'utf8')) as ClusterResult;
    const clusterLeaves = leaves(cluster);
    expect(clusterLeaves.filter((leaf) => typeof leaf.value === 'number' && !Number.isFinite(leaf.value)), 'cluster figures that are not finite').toEqual([]);
    expect(cluster.mode).toBe('quick');
    expect(cluster.sharedDirectory.newKeysPerSecond.mysql).toBeGreaterThan(0);
    expect(cluster.sharedDirectory.newKeysPerSecond.files).toBeGreaterThan(0);
    expect(cluster.directoryTransfer.importSeconds).toBeGreaterThan(0);
    expect(cluster.workers.cells.length).toBeGreaterThan(0);
    expect(cluster.failoverTime.length).toBeGreaterThan(0);
    expect(cluster.failoverMasking.rounds.length).toBeGreaterThan(0);
    expect(cluster.targets.every((target) => target.verdict === 'not judged')).toBe(true);
    expect(await readFile(path.join(out, 'cluster.md'), 'utf8')).toContain('## Failover masking');
  }, 600_000);
});
