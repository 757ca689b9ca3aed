/**
 * What the daemon's command line needs to know about other processes: is a pid alive, is it a mysqlda, which
 * processes are its children, and when it has gone. Linux /proc is read where kill(2) cannot tell.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** True while `pid` exists and is not a zombie (an exited child nobody has reaped still answers kill 0). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return processState(pid) !== 'Z';
}

/** The one-letter state of /proc/<pid>/stat (R, S, D, Z, ...), or null when it cannot be read. */
function processState(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const match = stat === null ? null : /\) (\S) /.exec(stat.slice(stat.lastIndexOf(')')));
  return match ? match[1] : null;
}

/**
 * Whether `pid` runs mysqlda: one of its command-line words names mysqlda (`node …/bin/mysqlda`, the single
 * binary `mysqlda-linux-x64`), it is a daemon process (`--daemon-role`), or it runs this same executable with
 * `-a start` (the single binary under another name). A pid file that names anything else is stale: the pid has
 * been reused since. Without /proc nothing can be told, and the answer is yes.
 */
export function isMysqldaProcess(pid: number): boolean {
  const cmdline = readProc(`/proc/${pid}/cmdline`);
  if (cmdline === null) return true;
  const words = cmdline.split('\0');
  if (words.some((word) => path.basename(word).includes('mysqlda') || word === '--daemon-role')) return true;
  const starts = words.some((word, i) => word === '-a' && words[i + 1] === 'start');
  try {
    return starts && readlinkSync(`/proc/${pid}/exe`) === process.execPath;
  } catch {
    return false;
  }
}

/** The pids whose parent is `pid` (the supervisor's worker). Empty without /proc. */
export function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProc(`/proc/${entry}/stat`);
    const match = stat === null ? null : /\) \S (\d+) /.exec(stat.slice(stat.lastIndexOf(')')));
    if (match && Number(match[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/** Resolves true once `pid` has gone, or false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isProcessAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
