import { describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../../src/admin/metrics.js';
import { CommandDurations } from '../../src/observability/command-durations.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { fakeControl } from './fake-control.js';

function metricsWithEvents() {
  const events = new ProxyEvents();
  const control = fakeControl();
  const pools = [
    { server: '10.0.0.2:3306', shape: 'a', idle: 2, active: 1, waiting: 0 },
    { server: '10.0.0.2:3306', shape: 'b', idle: 1, active: 3, waiting: 1 },
  ];
  const metrics = new ProxyMetrics(events, { status: control.status, sessions: control.sessions, pools: () => pools });
  return { events, metrics };
}

/** The value of one sample line, e.g. `mysqlda_keys{library="lib_a"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ProxyMetrics', () => {
  it('counts events: connections, rejections, auth failures, traffic per library, failovers, assignments, reloads', async () => {
    const { events, metrics } = metricsWithEvents();
    events.emit('client-connected', { client: 'c' });
    events.emit('client-connected', { client: 'c' });
    events.emit('client-rejected', { client: 'c', reason: 'bad handshake' });
    events.emit('auth-failed', { client: 'c', user: 'u' });
    events.emit('traffic', { library: 'lib_a', commands: 3, bytesIn: 100, bytesOut: 1000 });
    events.emit('traffic', { library: 'lib_a', commands: 1, bytesIn: 10, bytesOut: 10 });
    events.emit('traffic', { library: null, commands: 2, bytesIn: 5, bytesOut: 50 });
    events.emit('failover', { library: 'lib_a', from: 'a', to: 'b' });
    events.emit('assignment', { library: 'lib_b' });
    events.emit('reload', { ok: true, changes: 2 });
    events.emit('reload', { ok: false, changes: 0 });
    events.emit('reload', { ok: false, changes: 0 });
    const text = await metrics.text();
    expect(sample(text, 'mysqlda_client_connections_total')).toBe(2);
    expect(sample(text, 'mysqlda_client_rejected_total')).toBe(1);
    expect(sample(text, 'mysqlda_auth_failures_total')).toBe(1);
    expect(sample(text, 'mysqlda_commands_total{library="lib_a"}')).toBe(4);
    expect(sample(text, 'mysqlda_client_received_bytes_total{library="lib_a"}')).toBe(110);
    expect(sample(text, 'mysqlda_client_sent_bytes_total{library="lib_a"}')).toBe(1010);
    expect(sample(text, 'mysqlda_commands_total{library="(lobby)"}')).toBe(2);
    expect(sample(text, 'mysqlda_failovers_total{library="lib_a"}')).toBe(1);
    expect(sample(text, 'mysqlda_assignments_total{library="lib_b"}')).toBe(1);
    expect(sample(text, 'mysqlda_reloads_total{result="ok"}')).toBe(1);
    expect(sample(text, 'mysqlda_reloads_total{result="failed"}')).toBe(2);
  });

  it('observes backend connect latency and counts connect errors per server', async () => {
    const { events, metrics } = metricsWithEvents();
    events.emit('backend-connect', { server: 's:1', library: 'lib_a', ms: 4, ok: true });
    events.emit('backend-connect', { server: 's:1', library: 'lib_a', ms: 300, ok: true });
    events.emit('backend-connect', { server: 's:2', library: 'lib_a', ms: 3000, ok: false });
    const text = await metrics.text();
    expect(sample(text, 'mysqlda_backend_connect_seconds_count{server="s:1"}')).toBe(2);
    expect(sample(text, 'mysqlda_backend_connect_seconds_bucket{le="0.005",server="s:1"}')).toBe(1);
    expect(sample(text, 'mysqlda_backend_connect_seconds_sum{server="s:1"}')).toBeCloseTo(0.304);
    expect(sample(text, 'mysqlda_backend_connect_errors_total{server="s:2"}')).toBe(1);
  });

  it('reads gauges from the proxy at scrape time: sessions, keys, pools, server health, current servers, failover state store and epochs', async () => {
    const { metrics } = metricsWithEvents();
    const text = await metrics.text();
    expect(sample(text, 'mysqlda_client_connections')).toBe(2);
    expect(sample(text, 'mysqlda_sessions{library="lib_a"}')).toBe(1);
    expect(sample(text, 'mysqlda_sessions{library="lib_b"}')).toBe(0);
    expect(sample(text, 'mysqlda_keys{library="lib_a"}')).toBe(10);
    expect(sample(text, 'mysqlda_pool_connections{server="10.0.0.2:3306",state="idle"}')).toBe(3);
    expect(sample(text, 'mysqlda_pool_connections{server="10.0.0.2:3306",state="active"}')).toBe(4);
    expect(sample(text, 'mysqlda_pool_connections{server="10.0.0.2:3306",state="waiting"}')).toBe(1);
    expect(sample(text, 'mysqlda_server_up{library="lib_a",server="10.0.0.1:3306"}')).toBe(1);
    expect(sample(text, 'mysqlda_server_up{library="lib_b",server="10.0.1.1:3306"}')).toBe(0);
    expect(sample(text, 'mysqlda_server_read_only{server="10.0.0.2:3306"}')).toBe(1);
    expect(sample(text, 'mysqlda_library_current_server{library="lib_a",server="10.0.0.2:3306"}')).toBe(1);
    expect(sample(text, 'mysqlda_library_current_server{library="lib_b",server="10.0.1.1:3306"}')).toBe(1);
    expect(sample(text, 'mysqlda_failover_state_store_up{kind="mysql"}')).toBe(0);
    expect(sample(text, 'mysqlda_library_failover_epoch{library="lib_a"}')).toBe(3);
    expect(sample(text, 'mysqlda_directory_up{kind="mysql",location="10.0.9.1:3306"}')).toBe(0);
    expect(sample(text, 'mysqlda_directory_errors_total')).toBe(4);
    expect(sample(text, 'mysqlda_server_replication_running{server="10.0.0.2:3306",thread="io"}')).toBe(0);
    expect(sample(text, 'mysqlda_server_replication_running{server="10.0.0.2:3306",thread="sql"}')).toBe(1);
    expect(text).not.toContain('mysqlda_server_replication_lag_seconds{'); // NULL while the IO thread reconnects
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('stops counting once closed', async () => {
    const { events, metrics } = metricsWithEvents();
    metrics.close();
    events.emit('client-connected', { client: 'c' });
    expect(sample(await metrics.text(), 'mysqlda_client_connections_total')).toBe(0);
  });

  it('two proxies in one process keep separate counters', async () => {
    const a = metricsWithEvents();
    const b = metricsWithEvents();
    a.events.emit('auth-failed', { client: 'c', user: 'u' });
    expect(sample(await a.metrics.text(), 'mysqlda_auth_failures_total')).toBe(1);
    expect(sample(await b.metrics.text(), 'mysqlda_auth_failures_total')).toBe(0);
  });

  it('writes mysqlda_command_duration_seconds as a Prometheus histogram per library', async () => {
    const control = fakeControl();
    const durations = new CommandDurations();
    for (const seconds of [0.00005, 0.0003, 0.02, 42]) durations.forLibrary('lib_a').observe(seconds);
    const metrics = new ProxyMetrics(new ProxyEvents(), { status: control.status, sessions: control.sessions, pools: () => [], commandDurations: durations });
    const text = await metrics.text();
    expect(text).toContain('# TYPE mysqlda_command_duration_seconds histogram');
    expect(sample(text, 'mysqlda_command_duration_seconds_bucket{le="0.0001",library="lib_a"}')).toBe(1);
    expect(sample(text, 'mysqlda_command_duration_seconds_bucket{le="0.0005",library="lib_a"}')).toBe(2);
    expect(sample(text, 'mysqlda_command_duration_seconds_bucket{le="10",library="lib_a"}')).toBe(3);
    expect(sample(text, 'mysqlda_command_duration_seconds_bucket{le="+Inf",library="lib_a"}')).toBe(4);
    expect(sample(text, 'mysqlda_command_duration_seconds_count{library="lib_a"}')).toBe(4);
    expect(sample(text, 'mysqlda_command_duration_seconds_sum{library="lib_a"}')).toBeCloseTo(42.02035);
  });
});
