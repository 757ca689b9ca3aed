/**
 * The pid file (config daemon.pid_file) says which process serves a config: the supervisor in daemon mode, the
 * mysqlda process itself with --no-daemon. Its control socket lives beside it. mysqlda had no pid file; its
 * script found the daemon with `ps | grep`, which missed it whenever the arguments came in another order.
 */
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMysqldaProcess, isProcessAlive } from './process-table.js';

export type PidFileState =
  | { state: 'absent' }
  /** The file names no live mysqlda (it died without cleaning up, or the pid was reused); safe to replace. */
  | { state: 'stale'; pid: number | null }
  | { state: 'running'; pid: number };

export class AlreadyRunningError extends Error {
  constructor(
    readonly pid: number,
    readonly pidFile: string,
  ) {
    super(`mysqlda is already running (pid ${pid}, pid file ${pidFile})`);
  }
}

/** `mysqlda.pid` → `mysqlda.ctl`, in the same directory; any other name gets `.ctl` appended. */
export function controlSocketPath(pidFile: string): string {
  return pidFile.endsWith('.pid') ? `${pidFile.slice(0, -'.pid'.length)}.ctl` : `${pidFile}.ctl`;
}

export async function readPidFile(pidFile: string): Promise<number | null | 'absent'> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Whether the pid file names a live mysqlda. Our own pid counts as stale: in a container mysqlda is pid 1 after
 * every restart, and the file left by the previous run names pid 1 too.
 */
export async function inspectPidFile(pidFile: string): Promise<PidFileState> {
  const pid = await readPidFile(pidFile);
  if (pid === 'absent') return { state: 'absent' };
  if (pid === null || pid === process.pid || !isProcessAlive(pid) || !isMysqldaProcess(pid)) return { state: 'stale', pid };
  return { state: 'running', pid };
}

export interface PidFileLock {
  readonly pidFile: string;
  /** Removes the pid file if it still names this process. */
  release(): Promise<void>;
}

/**
 * Writes this process's pid into `pidFile`, replacing a stale file; throws AlreadyRunningError when a live mysqlda
 * holds it. The file appears whole or not at all (written aside, then hard-linked into place, which fails if
 * another process got there first), so a concurrent start never reads an empty pid file.
 */
export async function acquirePidFile(pidFile: string, pid = process.pid): Promise<PidFileLock> {
  await mkdir(path.dirname(pidFile), { recursive: true });
  const aside = `${pidFile}.${pid}.tmp`;
  await writeFile(aside, `${pid}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; ; attempt++) {
      const current = await inspectPidFile(pidFile);
      if (current.state === 'running') throw new AlreadyRunningError(current.pid, pidFile);
      if (current.state === 'stale') await unlink(pidFile).catch(ignoreMissing);
      try {
        await link(aside, pidFile);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
    }
  } finally {
    await unlink(aside).catch(ignoreMissing);
  }
  return {
    pidFile,
    async release() {
      if ((await readPidFile(pidFile).catch(() => null)) === pid) await unlink(pidFile).catch(ignoreMissing);
    },
  };
}

export function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
