/**
 * What a reload would change: old config → new config, as data the server applies and as one human line per
 * change for the log and for `mysqlda reload`. Pure.
 */
import { describeDirectory } from './directory.js';
import type { LibraryConfig, MysqldaConfig, ServerConfig } from './types.js';

export interface LibraryServerChange {
  library: string;
  added: string[];
  removed: string[];
  /** Servers kept in both lists whose relative order changed: the operator re-ranked the failover list. */
  reordered: boolean;
  /** Servers kept whose credentials or TLS setting changed: their pools are replaced. */
  changed: string[];
}

export interface ConfigDiff {
  /** Changes that a running proxy cannot apply: the reload is refused as a whole. */
  restartNeeded: string[];
  librariesAdded: string[];
  librariesRemoved: string[];
  weightsChanged: { library: string; from: number; to: number }[];
  /** The order of forwards[] changed (it is the assignment rule's tie-break order). */
  libraryOrderChanged: boolean;
  /** Per library kept in both configs, only those whose failover list changed. */
  servers: LibraryServerChange[];
  pool: boolean;
  users: boolean;
  /** Client limits, timeouts or allow lists changed: new connections and the next command of each session use them. */
  frontDoor: boolean;
  rules: boolean;
  tls: boolean;
  health: boolean;
  failover: boolean;
  admin: boolean;
  logLevel: { from: string | null; to: string | null } | null;
  /** pid or log file paths: the supervisor's business, taken at its next start. */
  daemonFiles: boolean;
  /** server.drain_timeout_s: taken by the next stop. */
  drainTimeout: boolean;
  /** log.slow_query_ms: applies to statements that end from now on. */
  slowQuery: boolean;
  /** One line per change, in the order above. */
  changes: string[];
}

export function serverKey(server: Pick<ServerConfig, 'host' | 'port'>): string {
  return `${server.host}:${server.port}`;
}

export function diffConfigs(old: MysqldaConfig, next: MysqldaConfig): ConfigDiff {
  const changes: string[] = [];
  const restartNeeded: string[] = [];
  if (old.listen.host !== next.listen.host || old.listen.port !== next.listen.port) {
    restartNeeded.push(
      `the listen address changes from ${old.listen.host}:${old.listen.port} to ${next.listen.host}:${next.listen.port}`,
    );
  }
  if (old.saveDir !== next.saveDir) restartNeeded.push(`the save directory changes from ${old.saveDir} to ${next.saveDir}`);
  if (old.configPath !== next.configPath) restartNeeded.push(`the config file changes from ${old.configPath} to ${next.configPath}`);
  // storage.directory: the directory is opened once, at start (its keys loaded, its connection made).
  if (!sameJson(old.directory, next.directory)) {
    const from = describeDirectory(old.directory);
    const to = describeDirectory(next.directory);
    restartNeeded.push(from === to ? `storage.directory (${to}): credentials or TLS change` : `storage.directory changes from ${from} to ${to}`);
  }

  const oldLibraries = new Map(old.libraries.map((library) => [library.name, library]));
  const nextLibraries = new Map(next.libraries.map((library) => [library.name, library]));
  const librariesAdded = next.libraries.filter((l) => !oldLibraries.has(l.name)).map((l) => l.name);
  const librariesRemoved = old.libraries.filter((l) => !nextLibraries.has(l.name)).map((l) => l.name);
  for (const name of librariesAdded) changes.push(`library ${name} added`);
  for (const name of librariesRemoved) changes.push(`library ${name} removed`);

  const weightsChanged: ConfigDiff['weightsChanged'] = [];
  const servers: LibraryServerChange[] = [];
  for (const library of next.libraries) {
    const before = oldLibraries.get(library.name);
    if (!before) continue;
    if (before.weight !== library.weight) {
      weightsChanged.push({ library: library.name, from: before.weight, to: library.weight });
      changes.push(`library ${library.name}: weight ${before.weight} → ${library.weight}`);
    }
    const change = diffServers(before, library);
    if (change) {
      servers.push(change);
      changes.push(...describeServerChange(change));
    }
  }
  const kept = (list: LibraryConfig[]) => list.filter((l) => oldLibraries.has(l.name) && nextLibraries.has(l.name)).map((l) => l.name);
  const libraryOrderChanged = kept(old.libraries).join('\n') !== kept(next.libraries).join('\n');
  if (libraryOrderChanged) changes.push('library order changed (it breaks ties when new keys are assigned)');

  const pool = !sameJson(old.pool, next.pool);
  if (pool) changes.push(`session_pool: ${describePool(old)} → ${describePool(next)}`);
  // Users are compared without showing them: a password hash is a secret.
  const users = !sameJson(old.users, next.users);
  if (users) changes.push(`client accounts changed (${old.users.length} → ${next.users.length}); new logins use them`);
  const frontDoor = !sameJson(old.frontDoor, next.frontDoor);
  if (frontDoor) changes.push('client limits, timeouts or allow list changed (server.*)');
  const rules = !sameJson(old.rules, next.rules);
  if (rules) changes.push(`SQL rules changed (${old.rules.length} → ${next.rules.length}); every session applies them from its next statement`);
  const tls = !sameJson(old.tls, next.tls);
  if (tls) changes.push(`client TLS ${next.tls ? (old.tls ? 'settings changed' : 'turned on') : 'turned off'}; new connections use it`);
  const health = !sameJson(old.health, next.health);
  if (health) changes.push(`health checks: ${describeHealth(old)} → ${describeHealth(next)}`);
  const failover = !sameJson(failoverPolicy(old), failoverPolicy(next));
  if (old.failover.autoFailback !== next.failover.autoFailback) changes.push(`failover.auto_failback ${old.failover.autoFailback} → ${next.failover.autoFailback}`);
  changes.push(...replicationFailoverChanges(old, next));
  const admin = !sameJson(old.admin, next.admin);
  if (admin) changes.push(`admin HTTP listener ${describeAdmin(old)} → ${describeAdmin(next)}`);
  const logLevel = old.daemon.logLevel !== next.daemon.logLevel ? { from: old.daemon.logLevel, to: next.daemon.logLevel } : null;
  if (logLevel && logLevel.to !== null) changes.push(`log level ${logLevel.from ?? '(command line)'} → ${logLevel.to}`);
  const daemonFiles = old.daemon.pidFile !== next.daemon.pidFile || old.daemon.logFile !== next.daemon.logFile;
  if (daemonFiles) changes.push('daemon pid_file/log_file changed: used from the next start');
  const drainTimeout = old.shutdown.drainTimeoutSeconds !== next.shutdown.drainTimeoutSeconds;
  if (drainTimeout) changes.push(`server.drain_timeout_s ${old.shutdown.drainTimeoutSeconds} → ${next.shutdown.drainTimeoutSeconds}`);
  const slowQuery = old.log.slowQueryMs !== next.log.slowQueryMs;
  if (slowQuery) changes.push(`log.slow_query_ms ${old.log.slowQueryMs} → ${next.log.slowQueryMs} (0: off)`);
  // --- server.workers ---
  if (old.workers !== next.workers) changes.push(`server.workers ${old.workers} → ${next.workers}: used from the next start`);

  return {
    restartNeeded,
    librariesAdded,
    librariesRemoved,
    weightsChanged,
    libraryOrderChanged,
    servers,
    pool,
    users,
    frontDoor,
    rules,
    tls,
    health,
    failover,
    admin,
    logLevel,
    daemonFiles,
    drainTimeout,
    slowQuery,
    changes,
  };
}

/** How a library's failover list changed, or null when it did not. */
export function diffServers(before: LibraryConfig, after: LibraryConfig): LibraryServerChange | null {
  const oldKeys = before.servers.map(serverKey);
  const newKeys = after.servers.map(serverKey);
  const added = newKeys.filter((key) => !oldKeys.includes(key));
  const removed = oldKeys.filter((key) => !newKeys.includes(key));
  const reordered = isReordered(oldKeys, newKeys);
  const changed = after.servers
    .filter((server) => {
      const previous = before.servers.find((candidate) => serverKey(candidate) === serverKey(server));
      return previous !== undefined && !sameJson(previous, server);
    })
    .map(serverKey);
  if (added.length === 0 && removed.length === 0 && !reordered && changed.length === 0) return null;
  return { library: after.name, added, removed, reordered, changed };
}

/** Whether the entries present in both lists appear in a different relative order. */
export function isReordered(before: readonly string[], after: readonly string[]): boolean {
  const common = before.filter((key) => after.includes(key));
  const commonAfter = after.filter((key) => before.includes(key));
  return common.some((key, i) => commonAfter[i] !== key);
}

function describeServerChange(change: LibraryServerChange): string[] {
  const lines: string[] = [];
  for (const server of change.added) lines.push(`server ${server} added to ${change.library}`);
  for (const server of change.removed) lines.push(`server ${server} removed from ${change.library}`);
  if (change.reordered) lines.push(`failover order of ${change.library} changed: the library starts again at its first server`);
  for (const server of change.changed) lines.push(`server ${server} of ${change.library}: credentials or TLS changed`);
  return lines;
}

function describePool(config: MysqldaConfig): string {
  const { idleTimeoutSeconds, maxConnectionsPerServer, connectTimeoutMs, maxResetDelayMs } = config.pool;
  return `idle ${idleTimeoutSeconds} s, max ${maxConnectionsPerServer}, connect ${connectTimeoutMs} ms, reset within ${maxResetDelayMs} ms`;
}

function describeHealth(config: MysqldaConfig): string {
  const { intervalMs, timeoutMs, failThreshold, riseThreshold } = config.health;
  return `every ${intervalMs} ms, timeout ${timeoutMs} ms, down after ${failThreshold}, up after ${riseThreshold}`;
}

function describeAdmin(config: MysqldaConfig): string {
  const http = config.admin.http;
  return http ? `${http.host}:${http.port}` : 'off';
}

/** Structural equality of plain config values (no functions, no cycles; key order as built by validate.ts). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What of the failover section and the libraries' failover_mode a running proxy applies (the password only compared). */
function failoverPolicy(config: MysqldaConfig): unknown {
  return { ...config.failover, modes: config.libraries.map((library) => [library.name, library.failoverMode ?? null]) };
}

function replicationFailoverChanges(old: MysqldaConfig, next: MysqldaConfig): string[] {
  const lines: string[] = [];
  const a = old.failover;
  const b = next.failover;
  if (a.mode !== b.mode) lines.push(`failover.mode ${a.mode} → ${b.mode}`);
  if (a.maxLagSeconds !== b.maxLagSeconds) lines.push(`failover.max_lag_s ${a.maxLagSeconds} → ${b.maxLagSeconds}`);
  if (a.promoteTimeoutSeconds !== b.promoteTimeoutSeconds) lines.push(`failover.promote_timeout_s ${a.promoteTimeoutSeconds} → ${b.promoteTimeoutSeconds}`);
  if (a.user !== b.user || a.password !== b.password) lines.push('failover.user/pass changed; the next promotion uses them');
  const before = new Map(old.libraries.map((library) => [library.name, library.failoverMode ?? null]));
  for (const library of next.libraries) {
    const from = before.get(library.name);
    const to = library.failoverMode ?? null;
    if (from !== undefined && from !== to) lines.push(`failover mode of ${library.name} ${from ?? '(failover.mode)'} → ${to ?? '(failover.mode)'}`);
  }
  return lines;
}
