/**
 * `mysqlda -a stop | status | reload | kill`: find the running mysqlda through the config's pid file, then signal
 * it or ask it over its control socket. They replace mysqlda.sh, which grepped `ps` for the monitor, waited
 * without a timeout and never checked whether a reload worked.
 */
import { unlink } from 'node:fs/promises';
import { resolveConfigPath } from '../config/locate.js';
import { DEFAULTS } from '../config/schema.js';
import { ControlUnavailableError, requestControl } from '../supervisor/control-socket.js';
import type { ControlRequest, ControlResponse } from '../supervisor/control-protocol.js';
import { controlSocketPath, ignoreMissing, inspectPidFile } from '../supervisor/pid-file.js';
import { childPids, waitForExit } from '../supervisor/process-table.js';
import { locatePidFile } from '../supervisor/proxy-config.js';
import { EXIT, type ControlAction } from './args.js';
import { formatStatus } from './status-format.js';

export interface ControlDeps {
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** How long `stop` waits for the exit; by default the drain timeout plus what the supervisor allows for the close. */
  stopTimeoutMs?: number;
}

/** Beyond the drain: the supervisor gives its worker 25 s to close sessions and flush, then kills it. */
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** After this long `stop` says what it is waiting for. */
const STOP_PATIENCE_MS = 2_000;
const STATUS_TIMEOUT_MS = 10_000;
/** A reload may probe new servers with their connect timeouts; the supervisor itself gives up after 120 s. */
const RELOAD_TIMEOUT_MS = 130_000;

interface Instance {
  pid: number;
  pidFile: string;
  socketPath: string;
  /** server.drain_timeout_s of the config, when it could be read. */
  drainTimeoutSeconds: number;
}

export async function runControlAction(action: ControlAction, configFile: string | undefined, deps: ControlDeps): Promise<number> {
  const instance = await findInstance(action, configFile, deps);
  if (typeof instance === 'number') return instance;
  switch (action) {
    case 'stop':
      return stop(instance, deps);
    case 'status':
      return status(instance, deps);
    case 'reload':
      return reload(instance, deps);
    case 'kill':
      return kill(instance, deps);
  }
}

/** The running mysqlda, or the exit status when there is none (a stale pid file is removed by stop and kill). */
async function findInstance(action: ControlAction, configFile: string | undefined, deps: ControlDeps): Promise<Instance | number> {
  const configPath = resolveConfigPath(configFile, { cwd: deps.cwd });
  const { pidFile, problem, drainTimeoutSeconds = DEFAULTS.drainTimeoutSeconds } = await locatePidFile(configPath);
  if (problem !== null) deps.stderr(`mysqlda: warning: ${problem}\n`);
  const state = await inspectPidFile(pidFile);
  const say = action === 'status' ? deps.stdout : deps.stderr;
  if (state.state === 'running') return { pid: state.pid, pidFile, socketPath: controlSocketPath(pidFile), drainTimeoutSeconds };
  if (state.state === 'absent') {
    say(`mysqlda: not running (no pid file ${pidFile})\n`);
  } else {
    say(`mysqlda: not running (the pid file ${pidFile} names ${state.pid === null ? 'no pid' : `pid ${state.pid}`}, which is not a running mysqlda)\n`);
    if (action === 'stop' || action === 'kill') await removeInstanceFiles(pidFile);
  }
  return EXIT.notRunning;
}

async function stop(instance: Instance, deps: ControlDeps): Promise<number> {
  const signalled = sendSignal(instance.pid, 'SIGTERM', deps);
  if (signalled !== null) return signalled;
  const timeoutMs = deps.stopTimeoutMs ?? instance.drainTimeoutSeconds * 1000 + DEFAULT_STOP_TIMEOUT_MS;
  let gone = await waitForExit(instance.pid, Math.min(STOP_PATIENCE_MS, timeoutMs));
  if (!gone) {
    deps.stdout(`mysqlda: waiting for pid ${instance.pid} to drain and close its sessions (up to ${Math.round(timeoutMs / 1000)} s)\n`);
    gone = await waitForExit(instance.pid, timeoutMs - STOP_PATIENCE_MS);
  }
  if (!gone) {
    deps.stderr(
      `mysqlda: pid ${instance.pid} has not exited after ${Math.round(timeoutMs / 1000)} s; it may still be stopping ` +
        '(mysqlda -a kill stops it at once)\n',
    );
    return EXIT.failure;
  }
  deps.stdout(`mysqlda: stopped (pid ${instance.pid})\n`);
  return EXIT.ok;
}

async function status(instance: Instance, deps: ControlDeps): Promise<number> {
  const response = await ask(instance, { command: 'status' }, STATUS_TIMEOUT_MS, deps);
  if (response === null) return EXIT.failure;
  if (!response.ok || !('status' in response)) {
    deps.stderr(`mysqlda: status failed: ${response.ok ? 'unexpected answer' : response.error}\n`);
    return EXIT.failure;
  }
  deps.stdout(formatStatus(response.status));
  return response.status.proxy === null ? EXIT.failure : EXIT.ok;
}

async function reload(instance: Instance, deps: ControlDeps): Promise<number> {
  const response = await ask(instance, { command: 'reload' }, RELOAD_TIMEOUT_MS, deps);
  if (response === null) return EXIT.failure;
  if (!response.ok || !('reload' in response)) {
    deps.stderr(`mysqlda: reload failed: ${response.ok ? 'unexpected answer' : response.error}\n`);
    return EXIT.failure;
  }
  const result = response.reload;
  const changes = result.changes.map((change) => `  ${change}\n`).join('');
  if (result.ok) {
    deps.stdout(`mysqlda: reload applied: ${result.message}\n${changes}`);
    return EXIT.ok;
  }
  deps.stderr(`mysqlda: reload rejected: ${result.message}\n${changes}`);
  return EXIT.failure;
}

/** SIGKILL to the supervisor and its worker (mysqlda.sh's kill -9), then the files they left are removed. */
async function kill(instance: Instance, deps: ControlDeps): Promise<number> {
  // The children first: once the supervisor is gone they belong to init and cannot be told apart.
  const workers = childPids(instance.pid);
  const signalled = sendSignal(instance.pid, 'SIGKILL', deps);
  if (signalled !== null) return signalled;
  for (const worker of workers) sendSignal(worker, 'SIGKILL', null);
  await Promise.all([instance.pid, ...workers].map((pid) => waitForExit(pid, 5_000)));
  await removeInstanceFiles(instance.pidFile);
  const what = workers.length === 0 ? `pid ${instance.pid}` : `pid ${instance.pid} (supervisor) and ${workers.join(', ')} (${workers.length === 1 ? 'worker' : 'workers'})`;
  deps.stdout(`mysqlda: killed ${what}\n`);
  return EXIT.ok;
}

async function ask(instance: Instance, request: ControlRequest, timeoutMs: number, deps: ControlDeps): Promise<ControlResponse | null> {
  try {
    return await requestControl(instance.socketPath, request, timeoutMs);
  } catch (error) {
    if (!(error instanceof ControlUnavailableError)) throw error;
    deps.stderr(`mysqlda: pid ${instance.pid} is running but does not answer on its control socket ${error.message}\n`);
    return null;
  }
}

/** null once sent (or the process had gone already), else the exit status after printing why not. */
function sendSignal(pid: number, signal: NodeJS.Signals, deps: ControlDeps | null): number | null {
  try {
    process.kill(pid, signal);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return null;
    deps?.stderr(`mysqlda: cannot send ${signal} to pid ${pid}: ${code === 'EPERM' ? 'permission denied (run as the user mysqlda runs as)' : (error as Error).message}\n`);
    return EXIT.failure;
  }
}

async function removeInstanceFiles(pidFile: string): Promise<void> {
  await unlink(pidFile).catch(ignoreMissing);
  await unlink(controlSocketPath(pidFile)).catch(ignoreMissing);
}
