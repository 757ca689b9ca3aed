/**
 * The detached supervisor process (`--daemon-role supervisor`), started by `mysqlda -a start`: umask 027, the log
 * file, the pid file, the control socket, the first worker; then one report to the command that started it
 * ("started" or why not) and it runs on its own. Signals: SIGTERM/SIGINT stop, SIGUSR1 reloads (mysqlda's signal),
 * SIGHUP reopens the log file (logrotate). It never changes directory: relative paths mean what they meant.
 */
import { ConfigError } from '../config/load.js';
import type { Logger, LogLevel } from '../log/logger.js';
import type { ReloadResult } from '../observability/status.js';
import { listenControlSocket, type ControlServer } from './control-socket.js';
import type { StartReport } from './ipc-messages.js';
import { openLogFile, type LogFile } from './log-file.js';
import { acquirePidFile, controlSocketPath, type PidFileLock } from './pid-file.js';
import { formatConfigError, loadServedConfig, startLogLevel } from './proxy-config.js';
import type { RestartPolicyOptions } from './restart-policy.js';
import type { SelfCommand } from './self-command.js';
import { GroupPrimary } from './group-primary.js';
import { Supervisor } from './supervisor.js';

/** Files a daemon creates are not world-readable (mysqlda used umask 0: a world-writable log). */
export const DAEMON_UMASK = 0o027;

export interface SupervisorProcessOptions {
  configPath: string;
  saveFile?: string;
  cwd: string;
  logLevel: LogLevel;
  self: SelfCommand;
  version: string;
  restartPolicy?: Partial<RestartPolicyOptions>;
}

export async function runSupervisorProcess(options: SupervisorProcessOptions): Promise<number> {
  process.umask(DAEMON_UMASK);
  const early = new EarlySignals();
  const held: { lock?: PidFileLock; log?: LogFile; control?: ControlServer; primary?: GroupPrimary } = {};
  const fail = async (reason: string) => {
    report({ type: 'start-failed', reason });
    held.log?.logger.error(`cannot start: ${reason}`);
    await held.control?.close();
    await held.primary?.close();
    await held.lock?.release();
    await held.log?.close();
    return 1;
  };

  let pidFile: string;
  let logFile: string;
  let workers: number;
  const loadConfig = (path: string) => loadServedConfig(path, options.saveFile, options.cwd);
  try {
    const { config } = await loadConfig(options.configPath);
    ({ pidFile, logFile } = config.daemon);
    workers = config.workers;
    held.lock = await acquirePidFile(pidFile);
    held.log = openLogFile(logFile, startLogLevel(config, options.logLevel));
    // Several workers: this process becomes their primary and owns the save files (a bad one stops the start here).
    if (workers > 1) held.primary = await GroupPrimary.open(config, { logger: held.log.logger.child({ role: 'primary' }), loadConfig });
  } catch (error) {
    return fail(error instanceof ConfigError ? formatConfigError(error).replace(/^mysqlda: /, '').trimEnd() : (error as Error).message);
  }
  const logger = held.log.logger.child({ role: 'supervisor' });
  const settings = { configPath: options.configPath, saveFile: options.saveFile, cwd: options.cwd, logLevel: options.logLevel, logFile };
  const primary = held.primary ?? null;
  const supervisor = new Supervisor({
    self: options.self,
    settings,
    logger,
    version: options.version,
    restartPolicy: options.restartPolicy,
    workers,
    ...(primary ? { onAsk: primary.answer, describeGroup: primary.describeGroup } : {}),
  });
  const reload = () => (primary ? primary.reload() : supervisor.reload());
  try {
    held.control = await listenControlSocket(controlSocketPath(pidFile), { status: () => supervisor.status(), reload }, (error) =>
      logger.error({ err: error }, 'control request failed'),
    );
  } catch (error) {
    return fail((error as Error).message);
  }
  exitOnCrash(logger, held.log, supervisor);
  const log = held.log;
  early.handOver(handleSignals(supervisor, reload, logger, log));

  logger.notice({ version: options.version, configPath: options.configPath, pidFile }, `mysqlda v${options.version} starting`);
  const started = await supervisor.start();
  if (started.ok) {
    try {
      await primary?.serve(supervisor);
    } catch (error) {
      logger.error(`the group's admin HTTP listener cannot start: ${(error as Error).message}`);
    }
    report({ type: 'started', pid: process.pid, listen: started.listen, pidFile, logFile });
  } else {
    logger.error('the first worker could not start: mysqlda stops');
    report({ type: 'start-failed', reason: started.reason });
  }
  const code = await supervisor.finished;
  await held.control.close();
  await primary?.close();
  await held.lock.release();
  await log.close();
  return code;
}

/** The one report to `mysqlda -a start`; then the channel is closed and the supervisor is on its own. */
function report(message: StartReport): void {
  if (!process.connected) return;
  process.send!(message, () => {
    if (process.connected) process.disconnect();
  });
}

type SignalHandlers = Partial<Record<NodeJS.Signals, () => void>>;

function handleSignals(supervisor: Supervisor, reload: () => Promise<ReloadResult>, logger: Logger, log: LogFile): SignalHandlers {
  return {
    SIGTERM: () => void supervisor.stop('SIGTERM'),
    SIGINT: () => void supervisor.stop('SIGINT'),
    SIGUSR1: () =>
      void reload().then((result) =>
        logger.notice({ changes: result.changes }, `SIGUSR1: reload ${result.ok ? 'applied' : 'rejected'}: ${result.message}`),
      ),
    SIGHUP: () => {
      log.reopen();
      supervisor.reopenWorkerLog();
      logger.notice('SIGHUP: log file reopened');
    },
  };
}

/**
 * Signals are caught from the first instant (SIGUSR1 would otherwise open Node's debugger, SIGHUP would kill);
 * those that arrive before the supervisor can act are replayed to it.
 */
class EarlySignals {
  private static readonly SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGHUP'];
  private handlers: SignalHandlers | null = null;
  private readonly received: NodeJS.Signals[] = [];

  constructor() {
    for (const signal of EarlySignals.SIGNALS) {
      process.on(signal, () => {
        if (this.handlers) this.handlers[signal]?.();
        else this.received.push(signal);
      });
    }
  }

  handOver(handlers: SignalHandlers): void {
    this.handlers = handlers;
    for (const signal of this.received.splice(0)) handlers[signal]?.();
  }
}

/** The supervisor failing is a bug; it must not leave a worker running without anyone watching it. */
function exitOnCrash(logger: Logger, log: LogFile, supervisor: Supervisor): void {
  const crash = (error: unknown) => {
    logger.fatal({ err: error }, `supervisor crashed: ${error instanceof Error ? error.message : String(error)}`);
    supervisor.killWorker();
    log.flushSync();
    process.exit(70);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
