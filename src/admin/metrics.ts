/**
 * Prometheus metrics (prom-client). Counters move in ProxyEvents handlers, which fire at session and backend
 * boundaries only; gauges, and the command durations the sessions' statement clocks count, are read from the
 * proxy's state when /metrics is scraped. Nothing here runs per packet.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { ServerPoolStats } from '../backend/backend-pools.js';
import { LOBBY_LABEL, type CommandDurations } from '../observability/command-durations.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import type { ProxyStatus, ServerReplicationStatus } from '../observability/status.js';
import type { SessionSummary } from '../session/client-session.js';

export interface MetricsSources {
  status(): ProxyStatus;
  sessions(): SessionSummary[];
  pools(): ServerPoolStats[];
  /** Command durations per library, counted by the sessions' statement clocks. */
  commandDurations?: CommandDurations;
}

/** The label value for traffic of sessions that had not chosen a library. */
export { LOBBY_LABEL };

const CONNECT_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let processRegistry: Registry | null = null;

/** Node's process metrics (CPU, memory, event loop, GC), registered once per process whatever the number of proxies. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(events: ProxyEvents, sources: MetricsSources) {
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });

    const connections = counter('mysqlda_client_connections_total', 'Client TCP connections accepted');
    const rejected = counter('mysqlda_client_rejected_total', 'Clients turned away before login finished');
    const authFailures = counter('mysqlda_auth_failures_total', 'Logins refused (wrong user, password or database)');
    const refused = counter('mysqlda_client_refused_total', 'Connections and commands turned away by a limit of the front door', ['reason']);
    const ruleBlocks = counter('mysqlda_rule_blocked_total', 'Statements refused by an SQL rule', ['rule']);
    const commands = counter('mysqlda_commands_total', 'Client commands forwarded to a library', ['library']);
    const received = counter('mysqlda_client_received_bytes_total', 'Bytes received from clients', ['library']);
    const sent = counter('mysqlda_client_sent_bytes_total', 'Bytes sent to clients', ['library']);
    const connectErrors = counter('mysqlda_backend_connect_errors_total', 'Failed backend connection attempts', ['server']);
    const failovers = counter('mysqlda_failovers_total', "Changes of a library's current server", ['library']);
    const replicaFallbacks = counter('mysqlda_replica_read_fallbacks_total', 'Read sessions served by the current server because no replica was fresh enough', ['library']);
    const masked = counter('mysqlda_sessions_masked_total', 'Sessions moved to a new server after theirs died while they were idle', ['library']);
    const assignments = counter('mysqlda_assignments_total', 'New keys assigned to a library', ['library']);
    const reloads = counter('mysqlda_reloads_total', 'Config reloads applied (ok) or rejected (failed)', ['result']);
    const connectSeconds = new Histogram({
      name: 'mysqlda_backend_connect_seconds',
      help: 'Time to open and authenticate a new backend connection',
      labelNames: ['server'],
      buckets: CONNECT_SECONDS_BUCKETS,
      registers,
    });

    // Every session reports its traffic when it closes or moves: the labelled counters are looked up once per library.
    const traffic = new Map<string, { commands: Counter.Internal; received: Counter.Internal; sent: Counter.Internal }>();
    this.unsubscribe.push(
      events.on('client-connected', () => connections.inc()),
      events.on('client-rejected', () => rejected.inc()),
      events.on('auth-failed', () => authFailures.inc()),
      events.on('client-refused', (event) => refused.inc({ reason: event.reason })),
      events.on('rule-blocked', (event) => ruleBlocks.inc({ rule: event.rule })),
      events.on('traffic', (event) => {
        const library = event.library ?? LOBBY_LABEL;
        let children = traffic.get(library);
        if (!children) {
          children = { commands: commands.labels(library), received: received.labels(library), sent: sent.labels(library) };
          traffic.set(library, children);
        }
        children.commands.inc(event.commands);
        children.received.inc(event.bytesIn);
        children.sent.inc(event.bytesOut);
      }),
      events.on('backend-connect', (event) => {
        if (event.ok) connectSeconds.observe({ server: event.server }, event.ms / 1000);
        else connectErrors.inc({ server: event.server });
      }),
      events.on('failover', (event) => failovers.inc({ library: event.library })),
      events.on('replica-read-fallback', (event) => replicaFallbacks.inc({ library: event.library })),
      events.on('session-masked', (event) => masked.inc({ library: event.library })),
      events.on('assignment', (event) => assignments.inc({ library: event.library })),
      events.on('reload', (event) => reloads.inc({ result: event.ok ? 'ok' : 'failed' })),
    );
    for (const result of ['ok', 'failed']) reloads.inc({ result }, 0);

    this.scrapeGauges(sources);
    if (sources.commandDurations) this.registry.registerMetric(commandDurationMetric(sources.commandDurations) as unknown as Metric);
  }

  async text(): Promise<string> {
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }

  /** This process's series for the primary of a group to merge (group-metrics.ts). */
  async json(): Promise<Awaited<ReturnType<Registry['getMetricsAsJSON']>>> {
    return Registry.merge([this.registry, processMetrics()]).getMetricsAsJSON();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Gauges computed at scrape time from the proxy's state. */
  private scrapeGauges(sources: MetricsSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'mysqlda_client_connections',
      help: 'Client connections open now',
      registers,
      collect() {
        this.set(sources.sessions().length);
      },
    });
    new Gauge({
      name: 'mysqlda_client_connections_closing',
      help: 'Client connections whose session has ended and whose socket is not yet closed',
      registers,
      collect() {
        this.set(sources.status().sessions.closing ?? 0);
      },
    });
    new Gauge({
      name: 'mysqlda_sessions',
      help: 'Sessions routed to each library now',
      labelNames: ['library'],
      registers,
      collect() {
        this.reset();
        const status = sources.status();
        const counts = new Map(status.libraries.map((library) => [library.name, 0]));
        for (const session of sources.sessions()) if (session.library !== null) counts.set(session.library, (counts.get(session.library) ?? 0) + 1);
        for (const [library, count] of counts) this.set({ library }, count);
      },
    });
    new Gauge({
      name: 'mysqlda_keys',
      // Every worker of a group sees the same (or a part of it): merged by the largest, not added up.
      aggregator: 'max',
      help: 'Keys (core objects) assigned to each library',
      labelNames: ['library'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) this.set({ library: library.name }, library.keys);
      },
    });
    new Gauge({
      name: 'mysqlda_pool_connections',
      help: 'Backend connections per server: idle in the pool, active (in use), or waited for',
      labelNames: ['server', 'state'],
      registers,
      collect() {
        this.reset();
        const totals = new Map<string, { idle: number; active: number; waiting: number }>();
        for (const pool of sources.pools()) {
          const total = totals.get(pool.server) ?? { idle: 0, active: 0, waiting: 0 };
          total.idle += pool.idle;
          total.active += pool.active;
          total.waiting += pool.waiting;
          totals.set(pool.server, total);
        }
        for (const [server, total] of totals) {
          for (const state of ['idle', 'active', 'waiting'] as const) this.set({ server, state }, total[state]);
        }
      },
    });
    new Gauge({
      name: 'mysqlda_server_up',
      // Every worker of a group sees the same (or a part of it): merged by the largest, not added up.
      aggregator: 'max',
      help: 'Health of each server of each library: 1 up, 0 down, -1 not checked yet',
      labelNames: ['library', 'server'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) {
          for (const server of library.servers) {
            this.set({ library: library.name, server: server.address }, server.state === 'up' ? 1 : server.state === 'down' ? 0 : -1);
          }
        }
      },
    });
    new Gauge({
      name: 'mysqlda_directory_up',
      // A group of workers: 0 when any worker cannot save new keys.
      aggregator: 'min',
      help: 'Whether new keys and aliases can be saved in the key directory now: 1 yes, 0 no (known keys still route)',
      labelNames: ['kind', 'location'],
      registers,
      collect() {
        this.reset();
        const directory = sources.status().directory;
        if (directory) this.set({ kind: directory.kind, location: directory.location }, directory.available ? 1 : 0);
      },
    });
    new Counter({
      name: 'mysqlda_directory_errors_total',
      help: 'Key directory operations that failed (the shared directory unreachable or refusing a write)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.status().directory?.errors ?? 0);
      },
    });
    new Gauge({
      name: 'mysqlda_server_read_only',
      // Every worker of a group sees the same (or a part of it): merged by the largest, not added up.
      aggregator: 'max',
      help: '@@read_only of each server at its last good check (absent before one)',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) {
          for (const server of library.servers) if (typeof server.readOnly === 'boolean') this.set({ server: server.address }, server.readOnly ? 1 : 0);
        }
      },
    });
    // Replication, from each server's last good check (a server listed by several libraries once).
    const replicas = () => {
      const seen = new Map<string, ServerReplicationStatus>();
      for (const library of sources.status().libraries) {
        for (const server of library.servers) if (server.replication && !seen.has(server.address)) seen.set(server.address, server.replication);
      }
      return seen;
    };
    new Gauge({
      name: 'mysqlda_server_replication_lag_seconds',
      // Every worker of a group reads the same replica: the largest reading, not a sum.
      aggregator: 'max',
      help: 'Seconds_Behind_Master of each replica at its last good check (absent when unknown: not a replica, threads stopped, no privilege)',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const [server, replication] of replicas()) if (replication.lagSeconds !== null) this.set({ server }, replication.lagSeconds);
      },
    });
    new Gauge({
      name: 'mysqlda_server_replication_running',
      // Every worker of a group reads the same replica: 0 when any reading saw the thread stopped.
      aggregator: 'min',
      help: 'Replication threads of each replica at its last good check: 1 running, 0 stopped or broken',
      labelNames: ['server', 'thread'],
      registers,
      collect() {
        this.reset();
        for (const [server, replication] of replicas()) {
          if (!replication.replicating) continue;
          if (replication.ioRunning !== null) this.set({ server, thread: 'io' }, replication.ioRunning ? 1 : 0);
          if (replication.sqlRunning !== null) this.set({ server, thread: 'sql' }, replication.sqlRunning ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'mysqlda_library_split_brain',
      // A group of workers: 1 when any worker sees it.
      aggregator: 'max',
      help: 'follow_read_only libraries with more than one writable server (read_only = OFF): 1 while it lasts; the library does not move',
      labelNames: ['library'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) if (library.failover) this.set({ library: library.name }, library.failover.phase === 'split_brain' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mysqlda_library_failover_blocked',
      // A group of workers: 1 when any worker holds the library (a failed promotion is known to the worker that ran it).
      aggregator: 'max',
      help: 'Libraries that do not serve until an operator acts: 1 after a refused failover or a failed promotion',
      labelNames: ['library'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) {
          if (library.failover) this.set({ library: library.name }, ['refused', 'promotion_failed'].includes(library.failover.phase) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'mysqlda_failover_state_store_up',
      // A group of workers: 0 when any worker cannot reach the store (that worker moves no library).
      aggregator: 'min',
      help: "1 while the store of each library's current server (state file or shared directory) can be reached; 0: no library fails over",
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const state = sources.status().failoverState;
        if (state) this.set({ kind: state.kind }, state.reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mysqlda_library_failover_epoch',
      // A group of workers: the newest epoch a worker holds (the others reach it at their next poll).
      aggregator: 'max',
      help: "Each library's failover epoch as this proxy holds it (bumped by every change of its current server)",
      labelNames: ['library'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) if (typeof library.epoch === 'number') this.set({ library: library.name }, library.epoch);
      },
    });
    new Gauge({
      name: 'mysqlda_library_current_server',
      // Every worker of a group sees the same (or a part of it): merged by the largest, not added up.
      aggregator: 'max',
      help: "1 for each library's current server (where new backend connections go)",
      labelNames: ['library', 'server'],
      registers,
      collect() {
        this.reset();
        for (const library of sources.status().libraries) {
          const current = library.servers.find((server) => server.current);
          if (current) this.set({ library: library.name, server: current.address }, 1);
        }
      },
    });
  }
}

/**
 * The primary's own series in a group: how many workers serve, how often one was restarted, the whole directory's
 * keys (a worker only counts those it has seen), and the primary's process metrics.
 */
export function primaryMetrics(sources: { workers(): { serving: number; restarts: number }; keysPerLibrary(): Record<string, number> | null }): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'mysqlda_workers',
    help: 'Worker processes serving the listening port now',
    registers,
    collect() {
      this.set(sources.workers().serving);
    },
  });
  new Gauge({
    name: 'mysqlda_worker_restarts',
    help: 'Worker processes restarted after they died, since mysqlda started',
    registers,
    collect() {
      this.set(sources.workers().restarts);
    },
  });
  new Gauge({
    name: 'mysqlda_keys',
    help: 'Keys (core objects) assigned to each library',
    labelNames: ['library'],
    aggregator: 'max',
    registers,
    collect() {
      this.reset();
      for (const [library, keys] of Object.entries(sources.keysPerLibrary() ?? {})) this.set({ library }, keys);
    },
  });
  return Registry.merge([registry, processMetrics()]);
}

/**
 * mysqlda_command_duration_seconds as prom-client renders a histogram, read from the sessions' own counters at
 * scrape time (prom-client's Histogram.observe allocates per call; the splice observes once per command).
 */
function commandDurationMetric(durations: CommandDurations) {
  const name = 'mysqlda_command_duration_seconds';
  return {
    name,
    help: 'Time from a command sent to its server to the end of its answer, per library',
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [library, buckets] of durations.entries()) {
        for (const { le, count } of buckets.cumulative()) values.push({ labels: { le, library }, value: count, metricName: `${name}_bucket` });
        values.push({ labels: { library }, value: buckets.sum, metricName: `${name}_sum` });
        values.push({ labels: { library }, value: buckets.count, metricName: `${name}_count` });
      }
      return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
  };
}
