import { readFileSync } from 'node:fs';
import net from 'node:net';
import { BackendConnection } from './backend/backend-connection.js';
import { BackendPools } from './backend/backend-pools.js';
import type { PoolOptions } from './backend/connection-pool.js';
import type { MysqldaConfig } from './config/types.js';
import type { Logger } from './log/logger.js';
import { parseNativePasswordHash } from './protocol/auth.js';
import { ProxyEvents } from './observability/proxy-events.js';
import { DEFAULT_CHARSET, PROXY_CAPABILITIES, ServerStatus } from './protocol/constants.js';
import { ClientSession, type SessionSummary } from './session/client-session.js';
import type { ClientAccount, GreetingTemplate, SessionServices } from './session/session-services.js';
import { DurableDirectory } from './store/durable-directory.js';

/** What `mysqlda reload` reports back. */
export interface ReloadResult {
  ok: boolean;
  /** One line: what was applied, or why nothing was. */
  message: string;
  /** Each change applied, e.g. "library mysqlda3 added", "server 10.0.0.2:3306 removed from mysqlda1". */
  changes: string[];
}

/** What `mysqlda status` and the admin `/status` show. */
export interface ProxyStatus {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  listen: string;
  sessions: { open: number; routed: number };
  libraries: {
    name: string;
    weight: number;
    keys: number;
    /** The server new backend connections go to, or null when none is up. */
    currentServer: string | null;
    servers: { address: string; state: 'up' | 'down' | 'unknown' }[];
  }[];
}

/** A running proxy: what the CLI and the sandbox hold on to. */
export interface RunningProxy {
  readonly address: { host: string; port: number };
  readonly events: ProxyEvents;
  sessions(): SessionSummary[];
  status(): ProxyStatus;
  /** Re-reads the config file (or takes the given config) and applies it, or rejects it as a whole. */
  reload(config?: MysqldaConfig): Promise<ReloadResult>;
  /** Stop accepting, close every client session and backend connection, flush the save files. */
  close(): Promise<void>;
}

/** Used until a backend has been reached; replaced by the backends' own greeting as soon as one answers. */
const FALLBACK_GREETING: GreetingTemplate = {
  serverVersion: '5.5.5-10.11.0-MariaDB-mysqlda',
  capabilities: PROXY_CAPABILITIES,
  charset: DEFAULT_CHARSET,
  statusFlags: ServerStatus.AUTOCOMMIT,
};

const GREETING_RETRY_MS = 5_000;

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export function poolOptionsOf(config: MysqldaConfig): PoolOptions {
  return {
    maxConnections: config.pool.maxConnectionsPerServer,
    idleTimeoutMs: config.pool.idleTimeoutSeconds * 1000,
    connectTimeoutMs: config.pool.connectTimeoutMs,
  };
}

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
export async function startProxy(config: MysqldaConfig, logger: Logger): Promise<RunningProxy> {
  const directory = await DurableDirectory.open({
    saveDir: config.saveDir,
    libraries: config.libraries.map(({ name, weight }) => ({ name, weight })),
    log: (message) => logger.warn(message),
  });
  const stats = directory.stats();
  logger.info({ keys: stats.keys, perLibrary: stats.perLibrary, correlObjects: stats.correlObjects }, 'directory loaded');

  const pools = new BackendPools(poolOptionsOf(config), logger);
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

  const accounts = accountsOf(config);
  const events = new ProxyEvents();
  const startedAt = new Date();
  let connectionIds = 0;
  const services: SessionServices = {
    logger,
    directory,
    pools,
    config: () => config,
    greeting: () => greeting ?? FALLBACK_GREETING,
    findAccount: (user) => accounts.get(user),
    nextConnectionId: () => (connectionIds = (connectionIds % 0xffffffff) + 1),
    events,
  };

  const sessions = new Set<ClientSession>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    const session = new ClientSession(socket, services, (closed) => sessions.delete(closed));
    if (!session.closed) sessions.add(session);
  });
  server.on('error', (err) => logger.error({ err }, 'listener error'));
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    pools.close();
    await directory.close();
    throw err;
  }
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  logger.notice({ listen: `${address.host}:${address.port}`, libraries: config.libraries.length }, 'mysqlda is serving');

  let closing: Promise<void> | null = null;
  const summaries = () => [...sessions].map((session) => session.summary());
  return {
    address,
    events,
    sessions: summaries,
    status: () => {
      const open = summaries();
      const perLibrary = directory.stats().perLibrary;
      return {
        version: PACKAGE_VERSION,
        pid: process.pid,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        listen: `${address.host}:${address.port}`,
        sessions: { open: open.length, routed: open.filter((s) => s.library !== null).length },
        libraries: config.libraries.map((library) => ({
          name: library.name,
          weight: library.weight,
          keys: perLibrary[library.name] ?? 0,
          currentServer: null,
          servers: library.servers.map((server) => ({ address: `${server.host}:${server.port}`, state: 'unknown' as const })),
        })),
      };
    },
    reload: async () => ({ ok: false, message: 'live reload is not implemented yet: restart mysqlda to apply a new config', changes: [] }),
    close() {
      closing ??= (async () => {
        if (greetingRetry) clearInterval(greetingRetry);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const session of [...sessions]) session.close('mysqlda is shutting down');
        pools.close();
        await stopped;
        await directory.close();
        logger.notice('mysqlda stopped');
      })();
      return closing;
    },
  };
}
