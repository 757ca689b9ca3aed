/**
 * `mysqlda -a start` (daemon mode). Everything that can be wrong is found while the operator still watches:
 * the configuration is validated, the pid file checked and the listen port bound (and released) here; then the
 * supervisor is started detached (its own session, no terminal, stdio on /dev/null, umask 027) and this command
 * waits for its report — the worker listening, or why it could not start (a save file it cannot read, say) —
 * and exits 0 or 1 accordingly. mysqlda returned 0 right after its first fork, even with an invalid config.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { isMessage, type StartReport } from '../supervisor/ipc-messages.js';
import { formatAddress } from '../supervisor/listen-address.js';
import { inspectPidFile } from '../supervisor/pid-file.js';
import { loadConfigForStart } from '../supervisor/proxy-config.js';
import type { SelfCommand } from '../supervisor/self-command.js';
import { EXIT, type StartOptions } from './args.js';

export interface DaemonStartDeps {
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  self: SelfCommand;
  /** How long to wait for the supervisor's report (the worker probes every backend before it listens). */
  readyTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 120_000;

type Outcome =
  | StartReport
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'spawn-error'; error: Error }
  | { type: 'timeout' };

export async function startDaemon(options: StartOptions, deps: DaemonStartDeps): Promise<number> {
  const loaded = await loadConfigForStart(options.configFile, options.saveFile, deps.cwd, deps.stderr);
  if (!loaded) return EXIT.failure;
  const { configPath, served } = loaded;
  const { config } = served;
  for (const warning of served.startWarnings) deps.stderr(`mysqlda: warning: ${warning}\n`);

  const current = await inspectPidFile(config.daemon.pidFile);
  if (current.state === 'running') {
    deps.stderr(`mysqlda: already running (pid ${current.pid}, pid file ${config.daemon.pidFile})\n`);
    return EXIT.failure;
  }
  const portProblem = await probeListen(config.listen.host, config.listen.port);
  if (portProblem !== null) {
    deps.stderr(`mysqlda: cannot start: ${portProblem}\n`);
    return EXIT.failure;
  }

  const outcome = await launchSupervisor(configPath, options, deps);
  switch (outcome.type) {
    case 'started':
      deps.stdout(`mysqlda: started, pid ${outcome.pid}, listening on ${outcome.listen}, log file ${outcome.logFile}\n`);
      return EXIT.ok;
    case 'start-failed':
      deps.stderr(`mysqlda: cannot start: ${outcome.reason}\n`);
      return EXIT.failure;
    case 'exited': {
      const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with status ${outcome.code}`;
      deps.stderr(`mysqlda: the daemon ${how} before it was ready; see ${config.daemon.logFile}\n`);
      return EXIT.failure;
    }
    case 'spawn-error':
      deps.stderr(`mysqlda: cannot start the daemon process: ${outcome.error.message}\n`);
      return EXIT.failure;
    case 'timeout':
      deps.stderr(
        `mysqlda: the daemon has not reported within ${Math.round((deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) / 1000)} s; ` +
          `it may still be starting: see mysqlda -a status and ${config.daemon.logFile}\n`,
      );
      return EXIT.failure;
  }
}

/** Binds and releases the listen address: null if it can be bound, else why not. */
export function probeListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE' ? 'the address is already in use'
        : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
        : error.code === 'EADDRNOTAVAIL' ? 'no such address on this machine'
        : error.message;
      resolve(`cannot listen on ${formatAddress(host, port)}: ${reason}`);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/** Starts the supervisor in a new session and waits for its one report. */
function launchSupervisor(configPath: string, options: StartOptions, deps: DaemonStartDeps): Promise<Outcome> {
  const args = [...deps.self.args, '-f', configPath, '-a', 'start'];
  if (options.saveFile !== undefined) args.push('-s', path.resolve(deps.cwd, options.saveFile));
  args.push(`--loglevel-${options.logLevel}`, '--daemon-role', 'supervisor');
  const child = spawn(deps.self.file, args, { cwd: deps.cwd, detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  let timer: NodeJS.Timeout | undefined;
  return new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ type: 'timeout' }), deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    child.on('message', (message: unknown) => {
      if (isMessage<StartReport>(message) && (message.type === 'started' || message.type === 'start-failed')) resolve(message);
    });
    // 'close', not 'exit': it comes after the IPC channel has delivered every message, a report included.
    child.once('close', (code, signal) => resolve({ type: 'exited', code, signal }));
    child.once('error', (error) => resolve({ type: 'spawn-error', error }));
  }).then((outcome) => {
    clearTimeout(timer);
    child.removeAllListeners();
    child.on('error', () => {});
    if (child.connected) child.disconnect();
    child.unref();
    return outcome;
  });
}
