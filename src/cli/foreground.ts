/**
 * `mysqlda -a start --no-daemon`: one process, in the foreground, logging to stdout. For service managers that
 * supervise by themselves (systemd Type=simple, Docker): they restart it, so no supervisor process is added.
 * It holds the pid file and serves the control socket like the daemon, so `-a status | reload | stop` work the
 * same. SIGTERM/SIGINT stop it after draining its sessions (a second one exits at once), SIGUSR1 reloads, SIGHUP is ignored (stdout cannot
 * be reopened; mysqlda ignored SIGHUP too).
 */
import type { MysqldaConfig } from '../config/types.js';
import type { Logger, LogLevel } from '../log/logger.js';
import type { RunningProxy } from '../server.js';
import { listenControlSocket, type ControlServer } from '../supervisor/control-socket.js';
import { formatAddress } from '../supervisor/listen-address.js';
import { acquirePidFile, AlreadyRunningError, controlSocketPath, type PidFileLock } from '../supervisor/pid-file.js';
import { formatConfigError, loadConfigForStart, loadServedConfig, startLogLevel, type ServedConfig } from '../supervisor/proxy-config.js';
import type { SelfCommand } from '../supervisor/self-command.js';
import { EXIT } from './args.js';

export { formatConfigError };

export type StoppableProxy = Pick<RunningProxy, 'address' | 'drain' | 'status' | 'reload'>;

export type StopSignal = 'SIGTERM' | 'SIGINT';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT'];
/** Conventional status of a process ended by a signal: 128 + its number. */
const FORCED_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** What the foreground run needs from the outside world; tests pass fakes. */
export interface ForegroundDeps {
  cwd: string;
  stderr: (text: string) => void;
  createLogger: (level: LogLevel) => Logger;
  /** src/server.ts's startProxy. */
  startProxy: (config: MysqldaConfig, logger: Logger, options?: { loadConfig?: (configPath: string) => Promise<ServedConfig> }) => Promise<StoppableProxy>;
  /** Where signals arrive: `process` in production. */
  signals: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** Ends the process at once (second signal). */
  exit: (code: number) => void;
  version: string;
  /** How to run this program again: for the workers when server.workers > 1. */
  self?: SelfCommand;
}

export interface ForegroundOptions {
  configFile?: string;
  saveFile?: string;
  logLevel: LogLevel;
}

export async function runForeground(options: ForegroundOptions, deps: ForegroundDeps): Promise<number> {
  const loaded = await loadConfigForStart(options.configFile, options.saveFile, deps.cwd, deps.stderr);
  if (!loaded) return EXIT.failure;
  const { configPath, served } = loaded;
  const { config } = served;
  const logger = deps.createLogger(startLogLevel(config, options.logLevel));
  const lock = await lockPidFile(config.daemon.pidFile, logger);
  if (lock instanceof AlreadyRunningError) {
    deps.stderr(`mysqlda: cannot start: ${lock.message}\n`);
    return EXIT.failure;
  }
  for (const warning of served.startWarnings) logger.warn({ configPath }, warning);

  const signals = handleSignals(deps.signals, (signal) => {
    logger.warn({ signal }, `second ${signal}: exiting without a clean stop`);
    deps.exit(FORCED_EXIT[signal]);
  });
  try {
    if (config.workers > 1 && deps.self) {
      const { runForegroundGroup } = await import('./foreground-group.js');
      return await runForegroundGroup({
        config,
        saveFile: options.saveFile,
        cwd: deps.cwd,
        logLevel: options.logLevel,
        self: deps.self,
        version: deps.version,
        logger,
        stderr: deps.stderr,
        controlSocket: lock !== null,
        stop: signals.stop,
        onReload: (reload) => signals.onReload(reload),
      });
    }
    let proxy: StoppableProxy;
    try {
      // A reload re-reads the file the same way, -s included, so it does not look like a save-directory change.
      proxy = await deps.startProxy(config, logger, { loadConfig: (path) => loadServedConfig(path, options.saveFile, deps.cwd) });
    } catch (error) {
      deps.stderr(`mysqlda: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
      return EXIT.failure;
    }
    logger.notice({ listen: proxy.address, configPath }, `mysqlda listening on ${formatAddress(proxy.address.host, proxy.address.port)}`);
    const control = lock === null ? null : await serveControl(proxy, config, deps.version, logger);
    signals.onReload(() => reloadOnSignal(proxy, logger));

    const signal = await signals.stop;
    logger.notice({ signal }, `${signal} received: stopping`);
    await control?.close();
    try {
      // Statements in flight and open transactions finish first (server.drain_timeout_s); a second signal cuts it short.
      await proxy.drain();
    } catch (error) {
      logger.error({ err: error }, 'stop failed');
      return EXIT.failure;
    }
    logger.notice('mysqlda stopped');
    return EXIT.ok;
  } finally {
    signals.dispose();
    await lock?.release();
  }
}

/**
 * The pid file; AlreadyRunningError when a live mysqlda holds it. When it cannot be written (a read-only config
 * directory) mysqlda still serves, with a warning: only `-a status | reload | stop` cannot find it.
 */
async function lockPidFile(pidFile: string, logger: Logger): Promise<PidFileLock | AlreadyRunningError | null> {
  try {
    return await acquirePidFile(pidFile);
  } catch (error) {
    if (error instanceof AlreadyRunningError) return error;
    logger.warn({ pidFile }, `cannot write the pid file (${(error as Error).message}); mysqlda -a status, reload and stop will not find this process`);
    return null;
  }
}

async function serveControl(proxy: StoppableProxy, config: MysqldaConfig, version: string, logger: Logger): Promise<ControlServer | null> {
  const startedAt = new Date();
  const socketPath = controlSocketPath(config.daemon.pidFile);
  try {
    return await listenControlSocket(
      socketPath,
      {
        status: async () => ({
          mode: 'foreground',
          version,
          pid: process.pid,
          startedAt: startedAt.toISOString(),
          uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
          configPath: config.configPath,
          logFile: null,
          worker: null,
          proxy: proxy.status(),
        }),
        reload: () => proxy.reload(),
      },
      (error) => logger.error({ err: error }, 'control request failed'),
    );
  } catch (error) {
    logger.warn(`${(error as Error).message}; mysqlda -a status and reload will not reach this process`);
    return null;
  }
}

function reloadOnSignal(proxy: StoppableProxy, logger: Logger): void {
  proxy.reload().then(
    (result) => logger.notice({ changes: result.changes }, `SIGUSR1: reload ${result.ok ? 'applied' : 'rejected'}: ${result.message}`),
    (error) => logger.error({ err: error }, 'SIGUSR1: reload failed'),
  );
}

interface SignalHandling {
  /** Resolves with the first SIGTERM or SIGINT, even one that came while the proxy was starting. */
  stop: Promise<StopSignal>;
  /** SIGUSR1 from now on; before, it is ignored (never Node's default: opening the debugger). */
  onReload(reload: () => void): void;
  dispose(): void;
}

function handleSignals(signals: ForegroundDeps['signals'], onSecondSignal: (signal: StopSignal) => void): SignalHandling {
  let first: StopSignal | undefined;
  let resolve!: (signal: StopSignal) => void;
  const stop = new Promise<StopSignal>((r) => (resolve = r));
  let reload = () => {};
  const handlers: Array<[string, () => void]> = STOP_SIGNALS.map((signal) => [
    signal,
    () => {
      if (first === undefined) {
        first = signal;
        resolve(signal);
      } else {
        onSecondSignal(signal);
      }
    },
  ]);
  handlers.push(['SIGUSR1', () => reload()], ['SIGHUP', () => {}]);
  for (const [signal, handler] of handlers) signals.on(signal, handler);
  return {
    stop,
    onReload: (handler) => void (reload = handler),
    dispose: () => handlers.forEach(([signal, handler]) => signals.off(signal, handler)),
  };
}
