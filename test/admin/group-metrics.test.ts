import { describe, expect, it } from 'vitest';
import { mergeMetrics } from '../../src/admin/group-metrics.js';
import { primaryMetrics, ProxyMetrics } from '../../src/admin/metrics.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { fakeControl } from './fake-control.js';

/** One worker's metrics: its own events and sessions over the same libraries and servers. */
function workerMetrics(connections: number, sessions: number) {
  const events = new ProxyEvents();
  const control = fakeControl();
  const summaries = control.sessions().slice(0, 1);
  const open = Array.from({ length: sessions }, (_, i) => ({ ...summaries[0], id: i + 1 }));
  const metrics = new ProxyMetrics(events, { status: control.status, sessions: () => open, pools: () => [{ server: '10.0.0.2:3306', shape: 'a', idle: 1, active: 2, waiting: 0 }] });
  for (let i = 0; i < connections; i++) events.emit('client-connected', { client: 'c' });
  events.emit('traffic', { library: 'lib_a', commands: connections * 10, bytesIn: 1, bytesOut: 1 });
  return metrics;
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('mergeMetrics (/metrics of a group of workers)', () => {
  it('adds up counters, sessions and pools over the workers, and keeps health and key counts as one view', async () => {
    const merged = (await mergeMetrics([await workerMetrics(3, 1).json(), await workerMetrics(5, 2).json()])).text;
    expect(sample(merged, 'mysqlda_client_connections_total')).toBe(8);
    expect(sample(merged, 'mysqlda_commands_total{library="lib_a"}')).toBe(80);
    expect(sample(merged, 'mysqlda_client_connections')).toBe(3);
    expect(sample(merged, 'mysqlda_pool_connections{server="10.0.0.2:3306",state="active"}')).toBe(4);
    // Both workers see the same servers and libraries: not 2, 20 or -2.
    expect(sample(merged, 'mysqlda_server_up{library="lib_a",server="10.0.0.1:3306"}')).toBe(1);
    expect(sample(merged, 'mysqlda_server_up{library="lib_b",server="10.0.1.1:3306"}')).toBe(0);
    expect(sample(merged, 'mysqlda_keys{library="lib_a"}')).toBe(10);
    expect(sample(merged, 'mysqlda_library_current_server{library="lib_a",server="10.0.0.2:3306"}')).toBe(1);
  });

  it("takes the whole directory's key count from the primary, and counts the workers and their restarts", async () => {
    const primary = primaryMetrics({ workers: () => ({ serving: 2, restarts: 3 }), keysPerLibrary: () => ({ lib_a: 250, lib_b: 7 }) });
    const merged = (await mergeMetrics([await workerMetrics(1, 0).json(), await workerMetrics(1, 0).json(), await primary.getMetricsAsJSON()])).text;
    expect(sample(merged, 'mysqlda_keys{library="lib_a"}')).toBe(250);
    expect(sample(merged, 'mysqlda_keys{library="lib_b"}')).toBe(7);
    expect(sample(merged, 'mysqlda_workers')).toBe(2);
    expect(sample(merged, 'mysqlda_worker_restarts')).toBe(3);
    expect(merged).toMatch(/^# TYPE mysqlda_client_connections_total counter$/m);
  });
});
