/**
 * `mysqlda -a start --no-daemon` with server.workers > 1: this process becomes the primary of the workers (as the
 * daemon's supervisor does) and stays in the foreground; every process logs to the same stdout. Loaded only then.
 */
import type { MysqldaConfig } from '../config/types.js';
import type { Logger, LogLevel } from '../log/logger.js';
import { listenControlSocket, type ControlServer } from '../supervisor/control-socket.js';
import { GroupPrimary } from '../supervisor/group-primary.js';
import { controlSocketPath } from '../supervisor/pid-file.js';
import { loadServedConfig } from '../supervisor/proxy-config.js';
import type { SelfCommand } from '../supervisor/self-command.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { EXIT } from './args.js';

export interface ForegroundGroupOptions {
  config: MysqldaConfig;
  saveFile?: string;
  cwd: string;
  logLevel: LogLevel;
  self: SelfCommand;
  version: string;
  logger: Logger;
  stderr: (text: string) => void;
  /** Whether this process holds the pid file (then it serves the control socket too). */
  controlSocket: boolean;
  /** Resolves with the first SIGTERM/SIGINT. */
  stop: Promise<string>;
  onReload(reload: () => void): void;
}

export async function runForegroundGroup(options: ForegroundGroupOptions): Promise<number> {
  const { config, logger } = options;
  const loadConfig = (path: string) => loadServedConfig(path, options.saveFile, options.cwd);
  let primary: GroupPrimary;
  try {
    primary = await GroupPrimary.open(config, { logger: logger.child({ role: 'primary' }), loadConfig });
  } catch (error) {
    options.stderr(`mysqlda: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
  const supervisor = new Supervisor({
    self: options.self,
    settings: { configPath: config.configPath, saveFile: options.saveFile, cwd: options.cwd, logLevel: options.logLevel, logFile: null },
    logger: logger.child({ role: 'primary' }),
    version: options.version,
    workers: config.workers,
    onAsk: primary.answer,
    describeGroup: primary.describeGroup,
    mode: 'foreground',
  });
  const started = await supervisor.start();
  if (!started.ok) {
    await primary.close();
    options.stderr(`mysqlda: cannot start: ${started.reason}\n`);
    return EXIT.failure;
  }
  try {
    await primary.serve(supervisor);
  } catch (error) {
    logger.error(`the group's admin HTTP listener cannot start: ${(error as Error).message}`);
  }
  logger.notice({ listen: started.listen, workers: config.workers }, `mysqlda listening on ${started.listen} with ${config.workers} workers`);
  const control = options.controlSocket ? await serveControl(config, supervisor, primary, logger) : null;
  options.onReload(() => {
    primary.reload().then(
      (result) => logger.notice({ changes: result.changes }, `SIGUSR1: reload ${result.ok ? 'applied' : 'rejected'}: ${result.message}`),
      (error) => logger.error({ err: error }, 'SIGUSR1: reload failed'),
    );
  });

  // A crash loop ends the group by itself: then this process exits with its status.
  const ended = await Promise.race([options.stop, supervisor.finished.then((code) => ({ code }))]);
  if (typeof ended === 'string') {
    logger.notice({ signal: ended }, `${ended} received: stopping`);
    await supervisor.stop(ended);
  }
  await control?.close();
  await primary.close();
  const code = await supervisor.finished;
  return code === 0 ? EXIT.ok : EXIT.failure;
}

async function serveControl(config: MysqldaConfig, supervisor: Supervisor, primary: GroupPrimary, logger: Logger): Promise<ControlServer | null> {
  try {
    return await listenControlSocket(
      controlSocketPath(config.daemon.pidFile),
      { status: () => supervisor.status(), reload: () => primary.reload() },
      (error) => logger.error({ err: error }, 'control request failed'),
    );
  } catch (error) {
    logger.warn(`${(error as Error).message}; mysqlda -a status and reload will not reach this process`);
    return null;
  }
}

