import { readFileSync } from 'node:fs';
import net from 'node:net';
import { AdminHttpServer } from './admin/admin-http.js';
import type { AdminControl, FailbackOutcome, GroupControl } from './admin/admin-control.js';
import { adminStatementHandler } from './admin/admin-statements.js';
import { ProxyMetrics } from './admin/metrics.js';
import { BackendConnection } from './backend/backend-connection.js';
import { Backends, poolOptionsOf } from './backend/backends.js';
import { failoverStatus } from './backend/replication-failover.js';
import type { LibraryMove } from './backend/current-servers.js';
import type { Probe } from './backend/health-monitor.js';
import { loadConfigFileWithWarnings, type ValidatedConfig } from './config/load.js';
import { configReloader } from './config/reloader.js';
import { DEFAULTS } from './config/schema.js';
import type { MysqldaConfig } from './config/types.js';
import { watchConfigFile, type ConfigWatcher } from './config/watch.js';
import type { Logger } from './log/logger.js';
import { RepeatedFailures } from './log/repeated-failures.js';
import { parseNativePasswordHash } from './protocol/auth.js';
import { ProxyEvents } from './observability/proxy-events.js';
import type { ProxyStatus, ReloadResult } from './observability/status.js';
import { DEFAULT_CHARSET, PROXY_CAPABILITIES, ServerStatus } from './protocol/constants.js';
import { ClientSession, type SessionSummary } from './session/client-session.js';
import { killForGroup } from './session/session-kill.js';
import type { ClientAccount, GreetingTemplate, GroupKill, GroupKillOutcome, SessionServices } from './session/session-services.js';
import { StatementTiming } from './session/statement-clock.js';
import type { KeyDirectory } from './store/key-directory.js';
import type { DirectoryClient } from './store/mysql/directory-client.js';
import { openKeyDirectory, type OpenedDirectory } from './store/open-directory.js';
import type { FailoverStateStore } from './backend/failover-state-store.js';
import { FrontDoor } from './guard/front-door.js';
import { encodeErr } from './protocol/generic-packets.js';
import { encodePacket } from './protocol/packet.js';
import { drainSessions } from './session/session-drain.js';

export type { ProxyStatus, ReloadResult } from './observability/status.js';
export { poolOptionsOf };

/** A running proxy: what the CLI and the sandbox hold on to. */
export interface RunningProxy {
  readonly address: { host: string; port: number };
  readonly events: ProxyEvents;
  sessions(): SessionSummary[];
  status(): ProxyStatus;
  /** Re-reads the config file (or takes the given config) and applies it, or rejects it as a whole. */
  reload(config?: MysqldaConfig): Promise<ReloadResult>;
  /** The admin HTTP listener's address, or null while it is off. */
  adminAddress(): { host: string; port: number } | null;
  /**
   * The process's one connection to the shared directory server (storage.directory.mysql), or null with save
   * files. It is made before the backends are opened, so shared state kept beside the directory reuses it.
   */
  readonly directoryClient: DirectoryClient | null;
  /** Stop accepting, close every client session and backend connection, flush the save files. */
  close(): Promise<void>;
  /**
   * The graceful stop (SIGTERM, `-a stop`): stop accepting and answer /healthz 503 at once, let statements in
   * flight and open transactions finish for up to server.drain_timeout_s, then close() (save files flushed).
   */
  drain(): Promise<void>;
  /** The longest drain() lets sessions run (server.drain_timeout_s, as last loaded). */
  drainTimeoutMs(): number;
  /** The operator's failback, as the admin statement does it. */
  failback(library: string, to?: string, force?: boolean): Promise<FailbackOutcome>;
  /** KILL of one of this process's sessions, sent by a session of another worker of the group. */
  killSession(request: GroupKill): Promise<GroupKillOutcome>;
  /** This process's metric series, for the primary of a group to merge. */
  metricsJson(): ReturnType<ProxyMetrics['json']>;
}

export interface StartOptions {
  /** Reload when the config file changes (default true). */
  watchConfig?: boolean;
  /**
   * How reload() and the watcher read the config file. Default: loadConfigFileWithWarnings. The CLI passes one
   * that applies its command-line overrides (-s), so that a reload does not see them as changes.
   */
  loadConfig?: (configPath: string) => Promise<ValidatedConfig>;
  /** Replaces the backend health check (tests). */
  probe?: Probe;
  /** Set in each worker of a group (server.workers > 1); absent: this process is all of mysqlda. */
  group?: GroupMembership;
}

/**
 * A worker of a group: its place (connection ids are slot + k·size, unique across the group), the directory it
 * uses (the primary's save files over IPC, or a shared MySQL directory), and the group's view for the admin
 * statements. The primary serves the admin HTTP listener and watches the config file, so a worker does neither.
 */
export interface GroupMembership {
  slot: number;
  size: number;
  /** The primary's save files (WorkerDirectory); absent with a MySQL directory, which the worker opens itself. */
  directory?: KeyDirectory;
  /** The failover state the primary holds (WorkerStateStore); absent with a MySQL directory. */
  stateStore?: FailoverStateStore;
  control: GroupControl;
  /** KILL of a connection id another worker issued, carried out by that worker (asked through the primary). */
  kill(request: GroupKill): Promise<GroupKillOutcome>;
}

/** Used until a backend has been reached; replaced by the backends' own greeting as soon as one answers. */
const FALLBACK_GREETING: GreetingTemplate = {
  serverVersion: '5.5.5-10.11.0-MariaDB-mysqlda',
  capabilities: PROXY_CAPABILITIES,
  charset: DEFAULT_CHARSET,
  statusFlags: ServerStatus.AUTOCOMMIT,
};

const GREETING_RETRY_MS = 5_000;

/** How often idle sessions are looked for (client_idle_timeout_s is whole seconds). */
const IDLE_SWEEP_MS = 1_000;

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

function accountsOf(config: MysqldaConfig): Map<string, ClientAccount> {
  return new Map(
    config.users.map((user) => [
      user.user,
      {
        user: user.user,
        passwordHash: user.passwordHash === null ? null : parseNativePasswordHash(user.passwordHash),
        database: user.database,
        library: user.library,
        key: user.key,
        admin: user.admin,
        ...(user.queryTimeoutMs ? { queryTimeoutMs: user.queryTimeoutMs } : {}),
        ...(user.replicaReads ? { replicaReads: user.replicaReads } : {}),
      },
    ]),
  );
}

/** The greeting of the first server that answers, in library order: clients adapt to the real version. */
async function probeGreeting(config: MysqldaConfig): Promise<GreetingTemplate | null> {
  for (const library of config.libraries) {
    for (const server of library.servers) {
      try {
        const connection = await BackendConnection.connect(server, { capabilities: 0, charset: DEFAULT_CHARSET }, config.pool.connectTimeoutMs);
        connection.close();
        const { serverVersion, capabilities, charset, statusFlags } = connection.greeting;
        return { serverVersion, capabilities, charset: charset || DEFAULT_CHARSET, statusFlags: statusFlags || ServerStatus.AUTOCOMMIT };
      } catch {
        // next server
      }
    }
  }
  return null;
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const reason = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
      reject(new Error(`cannot listen on ${host}:${port}: ${reason}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, backlog: 10240 });
  });
}

/** Load the directory, open the listener and serve until close(). Rejects with a clear Error when it cannot start. */
export async function startProxy(initialConfig: MysqldaConfig, logger: Logger, options: StartOptions = {}): Promise<RunningProxy> {
  let config = initialConfig;
  const group = options.group ?? null;
  // A worker of a group with save files asks the primary; with a MySQL directory it opens that itself.
  const given = group?.directory;
  const opened: OpenedDirectory = given ? { directory: given, client: null, close: () => given.close() } : await openKeyDirectory(config, (message) => logger.warn(message), (message) => logger.notice(message));
  const { directory, client: directoryClient } = opened;
  const stats = directory.stats();
  const where = directory.state();
  logger.info({ directory: `${where.kind} ${where.location}`, keys: stats.keys, perLibrary: stats.perLibrary, correlObjects: stats.correlObjects }, 'directory loaded');

  const events = new ProxyEvents();
  const statementTiming = new StatementTiming(config.log.slowQueryMs);
  let backends: Backends;
  try {
    backends = await Backends.open(config, { logger, events, probe: options.probe, directoryClient, stateStore: group?.stateStore });
  } catch (err) {
    await opened.close();
    throw err;
  }
  const pools = backends.pools;
  let greeting = await probeGreeting(config);
  let greetingRetry: NodeJS.Timeout | null = null;
  if (!greeting) {
    logger.warn('no backend server answered at start; greeting with a generic MariaDB version until one does');
    greetingRetry = setInterval(async () => {
      const probed = await probeGreeting(config);
      if (probed && greetingRetry) {
        greeting = probed;
        clearInterval(greetingRetry);
        greetingRetry = null;
      }
    }, GREETING_RETRY_MS);
    greetingRetry.unref();
  }

  let accounts = accountsOf(config);
  const frontDoor = new FrontDoor(config);
  const startedAt = new Date();
  let connectionIds = 0;
  let closing: Promise<void> | null = null;
  let draining = false;
  const sessions = new Set<ClientSession>();
  /** Called whenever a session ends while mysqlda drains. */
  let onSessionEnded: (() => void) | null = null;
  /** Accepted client sockets not yet closed: sessions, and ended sessions whose socket is still closing. */
  let clientSockets = 0;
  const summaries = () => [...sessions].map((session) => session.summary());
  let adminServer: AdminHttpServer | null = null;

  const status = (): ProxyStatus => {
    const open = summaries();
    const perLibrary = directory.stats().perLibrary;
    const directoryState = directory.state();
    const views = new Map(backends.libraries().map((view) => [view.name, view]));
    const routed = new Map<string, number>();
    for (const session of open) if (session.library !== null) routed.set(session.library, (routed.get(session.library) ?? 0) + 1);
    return {
      version: PACKAGE_VERSION,
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      listen: `${address.host}:${address.port}`,
      admin: adminServer ? `${adminServer.address.host}:${adminServer.address.port}` : null,
      sessions: { open: open.length, routed: open.filter((s) => s.library !== null).length, closing: Math.max(0, clientSockets - open.length) },
      directory: { ...directoryState, since: new Date(directoryState.since).toISOString(), errors: directoryState.errors ?? 0 },
      libraries: config.libraries.map((library) => {
        const view = views.get(library.name);
        return {
          name: library.name,
          weight: library.weight,
          keys: perLibrary[library.name] ?? 0,
          currentServer: view?.currentServer ?? null,
          currentSince: view?.currentSince ?? null,
          epoch: view?.epoch ?? null,
          sessions: routed.get(library.name) ?? 0,
          ...(view ? { failover: failoverStatus(view.failover) } : {}),
          servers: (view?.servers ?? []).map(({ address: server, state, readOnly, current, lastError, leftByFailoverAt, replication }) => ({
            address: server,
            state,
            readOnly,
            current,
            lastError,
            leftByFailoverAt,
            ...(replication === undefined ? {} : { replication }),
          })),
        };
      }),
      failoverState: failoverStateStatus(),
    };
  };

  const failoverStateStatus = () => {
    const store = backends.stateStore();
    return { kind: store.kind, location: store.location, reachable: store.reachable, lastError: store.lastError, since: new Date(store.since).toISOString() };
  };

  const readiness = (): ReturnType<AdminControl['readiness']> => {
    if (draining) return { ready: false, reason: 'draining', draining: true };
    if (closing) return { ready: false, reason: 'mysqlda is shutting down' };
    const libraries = backends.libraries();
    const down = libraries.filter((library) => !library.servers.some((server) => server.state === 'up'));
    // A library whose failover waits for an operator (refused, promotion failed) serves no more than one without servers.
    const blocked = libraries.filter((library) => !down.includes(library) && ['refused', 'promotion_failed'].includes(library.failover.phase));
    if (down.length === 0 && blocked.length === 0) {
      // Known keys still route while the shared directory is unreachable: ready, but say why new keys fail.
      const state = directory.state();
      return state.available ? { ready: true, reason: 'ok' } : { ready: true, reason: 'ok', degraded: `directory ${state.location} unavailable: ${state.lastError ?? 'unknown reason'}` };
    }
    const reason = down.map((library) => `library ${library.name} has no server up (${library.servers.map((s) => `${s.address} ${s.state}`).join(', ')})`);
    for (const library of blocked) reason.push(`library ${library.name} does not serve: ${backends.failover.holdReason(library.name) ?? library.failover.phase}`);
    return { ready: false, reason: reason.join('; ') };
  };

  /**
   * Asks the sessions of `library` (every library when null) on `server` to move to their library's current server
   * at their next command outside a transaction; one still in a transaction after the grace period is closed.
   */
  const leaveServer = (library: string | null, server: string, reason: string): void => {
    const addresses = new Set([server]);
    let asked = 0;
    for (const session of sessions) {
      if (library !== null && session.summary().library !== library) continue;
      if (session.moveOffServers(addresses, DEFAULTS.serverDrainGraceMs, reason)) asked++;
    }
    if (asked > 0) logger.notice({ library, server, sessions: asked }, `${asked} session(s) will move off ${server}: ${reason}`);
  };
  backends.onMove((move: LibraryMove) => {
    const why = move.reason === 'down' ? `${move.from} is down` : `library ${move.library} moved to ${move.to}`;
    leaveServer(move.library, move.from, why);
  });

  const reload = configReloader({
    logger,
    report: (ok, changes) => events.emit('reload', { ok, changes }),
    load: options.loadConfig ?? loadConfigFileWithWarnings,
    current: () => config,
    apply: async (next, diff) => {
      if (closing) throw new Error('mysqlda is shutting down');
      let nextAdmin: AdminHttpServer | null = null;
      if (diff.admin && next.admin.http && !group) nextAdmin = await startAdmin(next.admin.http); // may throw: nothing applied yet
      try {
        if (diff.librariesAdded.length || diff.librariesRemoved.length || diff.weightsChanged.length || diff.libraryOrderChanged) {
          directory.setLibraries(next.libraries.map(({ name, weight }) => ({ name, weight })));
        }
      } catch (err) {
        await nextAdmin?.close();
        throw err;
      }
      const previous = config;
      config = next;
      accounts = accountsOf(next);
      frontDoor.apply(next);
      if (diff.users || diff.rules) for (const session of sessions) session.refreshGuards();
      const notes = backends.apply(next, diff);
      if (diff.admin && !group) {
        await adminServer?.close();
        adminServer = nextAdmin;
      }
      if (diff.logLevel?.to) logger.level = diff.logLevel.to;
      statementTiming.slowQueryMs = next.log.slowQueryMs;
      for (const change of diff.servers) {
        for (const server of change.removed) leaveServer(change.library, server, `server ${server} was removed from library ${change.library}`);
      }
      for (const library of diff.librariesRemoved) {
        for (const server of previous.libraries.find((l) => l.name === library)?.servers ?? []) {
          leaveServer(library, `${server.host}:${server.port}`, `library ${library} was removed`);
        }
      }
      return notes;
    },
  });

  const control: AdminControl = {
    status,
    sessions: summaries,
    readiness,
    reload: () => reload(),
    failback: async (library, to, force = false): Promise<FailbackOutcome> => {
      const result = await backends.failback(library, to, force);
      if (!result.ok) return result;
      if (!result.move) return { ok: true, moved: false, message: result.message ?? `library ${library} is already on ${backends.current.current(library)}` };
      return { ok: true, moved: true, message: `library ${library} moved from ${result.move.from} to ${result.move.to}` };
    },
    ...(group ? { group: group.control } : {}),
  };
  const metrics = new ProxyMetrics(events, { status, sessions: summaries, pools: () => pools.stats(), commandDurations: statementTiming.durations });
  const startAdmin = async (endpoint: { host: string; port: number }) => {
    const started = await AdminHttpServer.listen(endpoint.host, endpoint.port, control, metrics);
    logger.notice({ admin: `${started.address.host}:${started.address.port}` }, 'admin HTTP listener is serving /metrics, /healthz, /status');
    return started;
  };

  const repeatedFailures = new RepeatedFailures((fields, msg) => logger.warn(fields, msg));
  const services: SessionServices = {
    logger,
    repeatedFailures,
    directory,
    pools,
    config: () => config,
    greeting: () => greeting ?? FALLBACK_GREETING,
    findAccount: (user) => accounts.get(user),
    nextConnectionId: group
      ? () => (connectionIds = (connectionIds + 1) % Math.floor(0xffffffff / group.size)) * group.size + group.slot + 1
      : () => (connectionIds = (connectionIds % 0xffffffff) + 1),
    events,
    frontDoor,
    admin: adminStatementHandler(control),
    findSession: (id) => [...sessions].find((session) => session.id === id),
    ...(group ? { ownsConnectionId: (id: number) => (id - 1) % group.size === group.slot, killInGroup: (request: GroupKill) => group.kill(request) } : {}),
    statementTiming,
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    clientSockets++;
    socket.once('close', () => clientSockets--);
    const admitted = frontDoor.admitConnection(socket.remoteAddress, sessions.size);
    if ('refused' in admitted) return refuseConnection(socket, admitted);
    const session = new ClientSession(
      socket,
      services,
      (closed) => {
        sessions.delete(closed);
        onSessionEnded?.();
      },
      admitted.delayMs,
    );
    if (!session.closed) sessions.add(session);
  });

  /** As MySQL does, a connection over a limit hears its error in place of the greeting, and is closed. */
  const refuseConnection = (socket: net.Socket, refusal: Exclude<ReturnType<FrontDoor['admitConnection']>, { delayMs: number }>) => {
    events.emit('client-refused', { reason: refusal.reason });
    socket.on('error', () => socket.destroy());
    socket.end(encodePacket(encodeErr(refusal.refused), 0));
    setTimeout(() => socket.destroy(), 1_000).unref();
  };

  /** client_idle_timeout_s: one sweep over the sessions, often enough to close an idle one within a tenth of its timeout. */
  const idleSweep = setInterval(() => {
    const timeoutMs = config.frontDoor.clientIdleTimeoutSeconds * 1000;
    if (timeoutMs === 0) return;
    const now = Date.now();
    for (const session of sessions) session.closeIfIdle(now, timeoutMs);
  }, IDLE_SWEEP_MS).unref();
  server.on('error', (err) => logger.error({ err }, 'listener error'));
  let watcher: ConfigWatcher | null = null;
  const stopEverything = async () => {
    clearInterval(idleSweep);
    await watcher?.close();
    if (greetingRetry) clearInterval(greetingRetry);
    metrics.close();
    repeatedFailures.close();
    await adminServer?.close();
    await backends.close();
    await opened.close();
  };
  try {
    await listen(server, config.listen.host, config.listen.port);
    if (config.admin.http && !group) adminServer = await startAdmin(config.admin.http);
  } catch (err) {
    server.close();
    await stopEverything();
    throw err;
  }
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  if (options.watchConfig ?? true) {
    watcher = watchConfigFile(config.configPath, {
      debounceMs: DEFAULTS.configWatchDebounceMs,
      onChange: () => void reload(),
      onError: (err) => logger.warn({ err }, `cannot watch ${config.configPath}; reload with mysqlda -a reload`),
    });
  }
  logger.notice({ listen: `${address.host}:${address.port}`, libraries: config.libraries.length }, 'mysqlda is serving');

  return {
    address,
    events,
    sessions: summaries,
    status,
    reload: (given) => reload(given),
    adminAddress: () => adminServer?.address ?? null,
    failback: (library, to, force) => control.failback(library, to, force),
    killSession: (request) => killForGroup(services, request),
    metricsJson: () => metrics.json(),
    directoryClient,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const session of [...sessions]) session.close('mysqlda is shutting down');
        await stopped;
        await stopEverything();
        // The process around the proxy (foreground run, supervisor) says 'mysqlda stopped' once it exits.
        logger.notice('proxy closed: sessions ended, save files closed');
      })();
      return closing;
    },
    drainTimeoutMs: () => config.shutdown.drainTimeoutSeconds * 1000,
    drain() {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const timeoutMs = config.shutdown.drainTimeoutSeconds * 1000;
        logger.notice({ sessions: sessions.size, drainTimeoutS: config.shutdown.drainTimeoutSeconds }, 'draining: no new connections; sessions end at their next command boundary outside a transaction');
        await drainSessions(sessions, timeoutMs, (listener) => (onSessionEnded = listener));
        onSessionEnded = null;
        const left = sessions.size;
        if (left > 0) logger.warn({ sessions: left }, `drain timeout (${config.shutdown.drainTimeoutSeconds} s): closing ${left} session(s) still busy`);
        for (const session of [...sessions]) session.shutDown('mysqlda is shutting down: drain timeout reached');
        draining = false;
        await stopped;
        await stopEverything();
        logger.notice('proxy closed: sessions ended, save files closed');
      })();
      return closing;
    },
  };
}
