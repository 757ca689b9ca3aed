/**
 * The primary of a group of workers (server.workers > 1), beside the Supervisor that runs them: it owns what
 * must exist once per machine and answers the workers' asks about it.
 *
 *  - with save files (storage.directory files): one DurableDirectory here, each worker's WorkerDirectory asking it
 *    for keys it has not seen; and mysqlda.state.json (FileStateStore), each worker's WorkerStateStore doing its
 *    compare-and-set through it, so that one worker's move of a library is every worker's. With a MySQL
 *    directory every worker uses the directory and its failover state directly and nothing is owned here.
 *  - the admin HTTP listener, once for the group: /status and /metrics gather from every worker.
 *  - the config file: watched here, and every reload goes to every worker.
 */
import { mergeMetrics } from '../admin/group-metrics.js';
import { AdminHttpServer, type AdminHttpControl } from '../admin/admin-http.js';
import { primaryMetrics } from '../admin/metrics.js';
import type { FailoverStateStore } from '../backend/failover-state-store.js';
import { directoryConfigOf, openFailoverStateStore } from '../backend/open-state-store.js';
import { answerStateAsk, isStateAsk } from '../backend/state-store-asks.js';
import type { ValidatedConfig } from '../config/load.js';
import { configReloader } from '../config/reloader.js';
import { DEFAULTS } from '../config/schema.js';
import type { MysqldaConfig } from '../config/types.js';
import { watchConfigFile, type ConfigWatcher } from '../config/watch.js';
import type { Logger } from '../log/logger.js';
import { mergeStatuses } from '../observability/group-status.js';
import type { ProxyStatus, ReloadResult } from '../observability/status.js';
import { answerDirectoryAsk, isDirectoryAsk } from '../store/directory-asks.js';
import { DurableDirectory } from '../store/durable-directory.js';
import type { GroupAnswer, PrimaryAnswer, PrimaryAsk } from './ipc-messages.js';
import type { Supervisor } from './supervisor.js';

export interface GroupPrimaryOptions {
  logger: Logger;
  /** Reads the config file as the workers do (-s applied). */
  loadConfig: (configPath: string) => Promise<ValidatedConfig>;
  /** Watch the config file (default true). */
  watchConfig?: boolean;
}

export class GroupPrimary {
  private supervisor: Supervisor | null = null;
  private admin: AdminHttpServer | null = null;
  private watcher: ConfigWatcher | null = null;
  private readonly startedAt = new Date();
  readonly reload: () => Promise<ReloadResult>;

  private constructor(
    private config: MysqldaConfig,
    /** Null with a MySQL directory: the workers use it themselves. */
    private readonly directory: DurableDirectory | null,
    private readonly stateStore: FailoverStateStore | null,
    private readonly options: GroupPrimaryOptions,
  ) {
    this.reload = configReloader({
      logger: options.logger,
      report: () => {},
      load: options.loadConfig,
      current: () => this.config,
      apply: (next, diff) => this.applyReload(next, diff.admin, diff.changes),
    });
  }

  /** Opens the save files and the state file (a bad save line or state file stops the start, as with one process). */
  static async open(config: MysqldaConfig, options: GroupPrimaryOptions): Promise<GroupPrimary> {
    if (directoryConfigOf(config).kind !== 'files') return new GroupPrimary(config, null, null, options);
    const directory = await DurableDirectory.open({
      saveDir: config.saveDir,
      libraries: config.libraries.map(({ name, weight }) => ({ name, weight })),
      log: (message) => options.logger.warn(message),
    });
    let stateStore: FailoverStateStore;
    try {
      stateStore = await openFailoverStateStore(config, options.logger);
    } catch (error) {
      await directory.close();
      throw error;
    }
    const stats = directory.stats();
    options.logger.info({ keys: stats.keys, perLibrary: stats.perLibrary }, 'directory loaded: the workers ask this process for keys');
    return new GroupPrimary(config, directory, stateStore, options);
  }

  /** Once the workers serve: the admin listener and the config watcher. */
  async serve(supervisor: Supervisor): Promise<void> {
    this.supervisor = supervisor;
    if (this.config.admin.http) this.admin = await this.startAdmin(this.config.admin.http);
    if (this.options.watchConfig ?? true) {
      this.watcher = watchConfigFile(this.config.configPath, {
        debounceMs: DEFAULTS.configWatchDebounceMs,
        onChange: () => void this.reload(),
        onError: (err) => this.options.logger.warn({ err }, `cannot watch ${this.config.configPath}; reload with mysqlda -a reload`),
      });
    }
  }

  /** The answer to one worker's ask. */
  readonly answer = async (ask: PrimaryAsk): Promise<PrimaryAnswer> => {
    if (isDirectoryAsk(ask)) {
      if (!this.directory) return { ok: false, code: 'UNAVAILABLE', message: 'this primary holds no save files (the directory is MySQL)' };
      return answerDirectoryAsk(this.directory, ask);
    }
    if (isStateAsk(ask)) {
      if (!this.stateStore) return { ok: false, message: 'this primary holds no failover state (the directory is MySQL)' };
      return answerStateAsk(this.stateStore, ask);
    }
    return this.answerGroup(ask);
  };

  /** The group's status as one proxy's: keys from the save files here, sessions summed over the workers. */
  readonly describeGroup = (statuses: ProxyStatus[]): ProxyStatus | null =>
    mergeStatuses(statuses, {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      admin: this.admin ? `${this.admin.address.host}:${this.admin.address.port}` : null,
      keysPerLibrary: this.directory?.stats().perLibrary ?? null,
    });

  adminAddress(): { host: string; port: number } | null {
    return this.admin?.address ?? null;
  }

  /** After the workers have stopped: flush and close the save files. */
  async close(): Promise<void> {
    await this.watcher?.close();
    await this.admin?.close();
    await this.directory?.close();
    await this.stateStore?.flush();
    await this.stateStore?.close();
  }

  private async answerGroup(ask: PrimaryAsk): Promise<GroupAnswer> {
    const supervisor = this.supervisor;
    if (!supervisor) return { ok: false, message: 'the group is still starting' };
    try {
      switch (ask.op) {
        case 'group-status': {
          const status = this.describeGroup(await supervisor.workerStatuses());
          return status ? { ok: true, op: 'group-status', status } : { ok: false, message: 'no worker answered' };
        }
        case 'group-sessions':
          return { ok: true, op: 'group-sessions', sessions: await supervisor.sessions() };
        case 'group-reload':
          return { ok: true, op: 'group-reload', reload: await this.reload() };
        case 'group-failback':
          return { ok: true, op: 'group-failback', failback: await supervisor.failback(ask.library, ask.to, ask.force ?? false) };
        case 'group-kill':
          return { ok: true, op: 'group-kill', outcome: await supervisor.kill(ask.kill) };
        default:
          return { ok: false, message: `unknown ask ${JSON.stringify((ask as { op?: unknown }).op)}` };
      }
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * The primary checks the library list against the save files first (a removed library that owns keys rejects
   * the reload before any worker changes), then every worker re-reads the file and applies it.
   */
  private async applyReload(next: MysqldaConfig, adminChanged: boolean, changes: string[]): Promise<string[]> {
    const supervisor = this.supervisor;
    if (!supervisor) throw new Error('the group is still starting');
    const libraries = (config: MysqldaConfig) => config.libraries.map(({ name, weight }) => ({ name, weight }));
    this.directory?.setLibraries(libraries(next));
    const applied = await supervisor.reload();
    if (!applied.ok) {
      this.directory?.setLibraries(libraries(this.config));
      throw new Error(applied.message);
    }
    this.stateStore?.forget?.(next.libraries.map((library) => library.name));
    this.config = next;
    if (next.daemon.logLevel) this.options.logger.level = next.daemon.logLevel;
    if (adminChanged) {
      await this.admin?.close();
      this.admin = null;
      if (next.admin.http) {
        try {
          this.admin = await this.startAdmin(next.admin.http);
        } catch (error) {
          this.options.logger.error({ err: error }, (error as Error).message);
        }
      }
    }
    return applied.changes.filter((change) => !changes.includes(change));
  }

  private async startAdmin(endpoint: { host: string; port: number }): Promise<AdminHttpServer> {
    const supervisor = this.supervisor!;
    const own = primaryMetrics({ workers: () => supervisor.counts(), keysPerLibrary: () => this.directory?.stats().perLibrary ?? null });
    const control: AdminHttpControl = {
      status: async () => this.describeGroup(await supervisor.workerStatuses()) ?? emptyStatus(this.config),
      readiness: async () => {
        if (supervisor.stopping()) return { ready: false, reason: 'draining', draining: true };
        const status = this.describeGroup(await supervisor.workerStatuses());
        if (status === null) return { ready: false, reason: 'no worker is serving' };
        const down = status.libraries.filter((library) => !library.servers.some((server) => server.state === 'up'));
        // As for one process: a library whose failover waits for an operator serves no more than one without servers.
        const blocked = status.libraries.filter((library) => !down.includes(library) && ['refused', 'promotion_failed'].includes(library.failover?.phase ?? 'serving'));
        if (down.length === 0 && blocked.length === 0) {
          const directory = status.directory;
          return !directory || directory.available ? { ready: true, reason: 'ok' } : { ready: true, reason: 'ok', degraded: `directory ${directory.location} unavailable: ${directory.lastError ?? 'unknown reason'}` };
        }
        const reasons = down.map((library) => `library ${library.name} has no server up`);
        for (const library of blocked) reasons.push(`library ${library.name} does not serve: ${library.failover?.detail ?? library.failover?.phase}`);
        return { ready: false, reason: reasons.join('; ') };
      },
      failback: (library, to, force) => supervisor.failback(library, to ?? null, force ?? false),
      reload: () => this.reload(),
    };
    const metrics = {
      contentType: own.contentType,
      text: async () => (await mergeMetrics([...(await supervisor.metrics()), await own.getMetricsAsJSON()])).text,
    };
    const started = await AdminHttpServer.listen(endpoint.host, endpoint.port, control, metrics);
    this.options.logger.notice({ admin: `${started.address.host}:${started.address.port}` }, 'admin HTTP listener is serving /metrics, /healthz, /status for the group');
    return started;
  }
}

/** /status before any worker answers. */
function emptyStatus(config: MysqldaConfig): ProxyStatus {
  return {
    version: '',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    uptimeSeconds: 0,
    listen: `${config.listen.host}:${config.listen.port}`,
    sessions: { open: 0, routed: 0 },
    libraries: [],
  };
}
