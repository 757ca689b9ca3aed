/**
 * The worker: the process that serves (mysqlda's child). Started by the supervisor over an IPC channel with
 * `--daemon-role worker`; takes its settings from the first message, loads the config, starts the proxy and
 * reports `ready` or why it could not start. Then it answers relayed status/reload requests until told to stop.
 *
 * It stops cleanly (sessions drained, save files flushed) on a `stop` message, on SIGTERM/SIGINT, and when the
 * supervisor has gone (the channel closes), so a killed supervisor never leaves an orphan holding the port.
 */
import { ConfigError } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { startProxy, type GroupMembership, type RunningProxy } from '../server.js';
import { WorkerDirectory } from '../store/worker-directory.js';
import type { MysqldaConfig } from '../config/types.js';
import type { DirectoryAnswer } from '../store/directory-asks.js';
import type { GroupAnswer } from './ipc-messages.js';
import { PrimaryLink } from './primary-link.js';
import { directoryConfigOf } from '../backend/open-state-store.js';
import type { StateAnswer } from '../backend/state-store-asks.js';
import { WorkerStateStore } from '../backend/worker-state-store.js';
import {
  isMessage,
  type SupervisorMessage,
  type WorkerMessage,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSettings,
} from './ipc-messages.js';
import { formatAddress } from './listen-address.js';
import { openLogFile, stdoutLog, type LogFile } from './log-file.js';
import { formatConfigError, loadServedConfig, startLogLevel } from './proxy-config.js';

const SUPERVISOR_GONE = 'the supervisor has gone';

/** Exit status of a worker that died of an uncaught exception (EX_SOFTWARE). */
const CRASH_EXIT = 70;

export async function runWorker(): Promise<number> {
  if (!process.send) {
    process.stderr.write('mysqlda: --daemon-role worker is internal: the supervisor runs it\n');
    return 1;
  }
  try {
    return await serve();
  } finally {
    // The open channel would keep the process alive.
    if (process.connected) process.disconnect();
  }
}

async function serve(): Promise<number> {
  const stop = stopSignal();
  const settings = await firstStartMessage();
  if (settings === null) return 0;

  let log: LogFile;
  try {
    log = settings.logFile === null ? stdoutLog(settings.logLevel) : openLogFile(settings.logFile, settings.logLevel);
  } catch (error) {
    await send({ type: 'start-failed', reason: (error as Error).message });
    return 1;
  }
  const logger = log.logger.child(settings.group ? { role: 'worker', slot: settings.group.slot } : { role: 'worker' });
  exitOnCrash(logger, log);

  const proxy = await start(settings, logger);
  if (proxy === null) {
    await log.close();
    return 1;
  }
  void send({ type: 'ready', listen: formatAddress(proxy.address.host, proxy.address.port) });
  const detach = serveSupervisor(proxy, logger, log);

  const reason = await stop.requested;
  if (reason === SUPERVISOR_GONE) logger.warn(`stopping: ${reason}`);
  else logger.info(`stopping: ${reason}`);
  // The supervisor waits for the drain before it would kill this process.
  void send({ type: 'draining', timeoutMs: proxy.drainTimeoutMs() });
  await proxy.drain();
  detach();
  await log.close();
  return 0;
}

/** Loads the config and starts the proxy; on failure, logs and reports why and resolves null. */
async function start(settings: WorkerSettings, logger: Logger): Promise<RunningProxy | null> {
  let reason: string;
  try {
    const served = await loadServedConfig(settings.configPath, settings.saveFile, settings.cwd);
    logger.level = startLogLevel(served.config, settings.logLevel);
    for (const warning of served.startWarnings) logger.warn({ configPath: settings.configPath }, warning);
    // A reload re-reads the file the same way, -s included, so it does not look like a save-directory change.
    const loadConfig = (path: string) => loadServedConfig(path, settings.saveFile, settings.cwd);
    if (!settings.group) return await startProxy(served.config, logger, { loadConfig });
    // The primary watches the config file and passes reloads on to every worker.
    return await startProxy(served.config, logger, { loadConfig, watchConfig: false, group: joinGroup(settings.group, served.config) });
  } catch (error) {
    reason = error instanceof ConfigError ? formatConfigError(error).replace(/^mysqlda: /, '').trimEnd() : (error as Error).message;
  }
  logger.error(`cannot start: ${reason}`);
  await send({ type: 'start-failed', reason });
  return null;
}

/**
 * A worker of a group asks the primary what it cannot know alone: with save files, keys and aliases (the primary
 * owns the files) and the failover state (it holds mysqlda.state.json); always, the whole group's status,
 * sessions, reload and failback. A MySQL directory and its failover state are used directly, with no asks.
 */
function joinGroup(place: { slot: number; size: number }, config: MysqldaConfig): GroupMembership {
  const link = new PrimaryLink(process, process.ppid);
  const group = async <A extends Extract<GroupAnswer, { ok: true }>>(op: A['op'], ask: object = {}): Promise<A> => {
    const answer = await link.ask<GroupAnswer>({ op, ...ask } as never);
    if (!answer.ok) throw new Error(answer.message);
    return answer as A;
  };
  const owner = { location: link.location, connected: () => link.connected() };
  const files = directoryConfigOf(config).kind === 'files';
  return {
    ...place,
    ...(files
      ? {
          directory: new WorkerDirectory({ ...owner, ask: (ask) => link.ask<DirectoryAnswer>(ask) }, config.libraries),
          stateStore: new WorkerStateStore({ ...owner, ask: (ask) => link.ask<StateAnswer>(ask) }),
        }
      : {}),
    control: {
      status: async () => (await group<Extract<GroupAnswer, { op: 'group-status'; ok: true }>>('group-status')).status,
      sessions: async () => (await group<Extract<GroupAnswer, { op: 'group-sessions'; ok: true }>>('group-sessions')).sessions,
      reload: async () => (await group<Extract<GroupAnswer, { op: 'group-reload'; ok: true }>>('group-reload')).reload,
      failback: async (library, to, force) =>
        (await group<Extract<GroupAnswer, { op: 'group-failback'; ok: true }>>('group-failback', { library, to: to ?? null, force: force ?? false })).failback,
    },
    kill: async (request) => (await group<Extract<GroupAnswer, { op: 'group-kill'; ok: true }>>('group-kill', { kill: request })).outcome,
  };
}

/** Answers the supervisor's relayed requests and log reopening; SIGUSR1 reloads, SIGHUP reopens. */
function serveSupervisor(proxy: RunningProxy, logger: Logger, log: LogFile): () => void {
  const onMessage = (message: unknown) => {
    if (!isMessage<SupervisorMessage>(message)) return;
    if (message.type === 'request') void answer(proxy, message.id, message.command).then(send);
    if (message.type === 'reopen-log') reopen();
  };
  const reopen = () => {
    log.reopen();
    logger.info('log file reopened');
  };
  const reloadOnSignal = () => {
    void proxy.reload().then(
      (result) => logger.notice({ changes: result.changes }, `SIGUSR1: reload ${result.ok ? 'applied' : 'rejected'}: ${result.message}`),
      (error) => logger.error({ err: error }, 'SIGUSR1: reload failed'),
    );
  };
  process.on('message', onMessage);
  process.on('SIGHUP', reopen);
  process.on('SIGUSR1', reloadOnSignal);
  return () => {
    process.off('message', onMessage);
    process.off('SIGHUP', reopen);
    process.off('SIGUSR1', reloadOnSignal);
  };
}

async function answer(proxy: RunningProxy, id: number, command: WorkerRequest): Promise<WorkerReply> {
  try {
    if (command === 'status') return { type: 'reply', id, ok: true, status: proxy.status() };
    if (command === 'sessions') return { type: 'reply', id, ok: true, sessions: proxy.sessions() };
    if (command === 'metrics') return { type: 'reply', id, ok: true, metrics: await proxy.metricsJson() };
    if (typeof command === 'object' && 'kill' in command) return { type: 'reply', id, ok: true, kill: await proxy.killSession(command.kill) };
    if (typeof command === 'object') return { type: 'reply', id, ok: true, failback: await proxy.failback(command.failback.library, command.failback.to ?? undefined, command.failback.force ?? false) };
    return { type: 'reply', id, ok: true, reload: await proxy.reload() };
  } catch (error) {
    return { type: 'reply', id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Resolves once the message has been handed to the channel: before a disconnect, which would drop it. */
function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, () => resolve());
  });
}

/** The settings from the supervisor's first message, or null if the channel closed first. */
function firstStartMessage(): Promise<WorkerSettings | null> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage<SupervisorMessage>(message) || message.type !== 'start') return;
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      resolve(message.settings);
    };
    const onDisconnect = () => {
      process.off('message', onMessage);
      resolve(null);
    };
    process.on('message', onMessage);
    process.once('disconnect', onDisconnect);
    void send({ type: 'awaiting-start' });
  });
}

/**
 * Resolves with the reason for stopping: a `stop` message, SIGTERM or SIGINT, or the supervisor gone. Installed
 * first, so a stop that arrives while the proxy starts is kept and acted on as soon as it has started.
 */
function stopSignal(): { requested: Promise<string> } {
  let resolve!: (reason: string) => void;
  const requested = new Promise<string>((r) => (resolve = r));
  process.on('message', (message: unknown) => {
    if (isMessage<SupervisorMessage>(message) && message.type === 'stop') resolve('asked by the supervisor');
  });
  process.once('disconnect', () => resolve(SUPERVISOR_GONE));
  process.on('SIGTERM', () => resolve('SIGTERM'));
  process.on('SIGINT', () => resolve('SIGINT'));
  // Until serveSupervisor() takes them over: no debugger on SIGUSR1 (Node's default), no death on SIGHUP.
  process.on('SIGUSR1', () => {});
  process.on('SIGHUP', () => {});
  return { requested };
}

/** An uncaught error ends the worker with its reason in the log; the supervisor restarts it. */
function exitOnCrash(logger: Logger, log: LogFile): void {
  const crash = (error: unknown) => {
    logger.fatal({ err: error }, `worker crashed: ${error instanceof Error ? error.message : String(error)}`);
    log.flushSync();
    process.exit(CRASH_EXIT);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
