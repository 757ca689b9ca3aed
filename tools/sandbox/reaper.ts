import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Makes sure no mariadbd outlives the Node process that started it, however that process ends:
 * - a normal exit (even without stop()): the 'exit' handler SIGKILLs every live server;
 * - a fatal signal or SIGKILL, where no JavaScript runs: a detached `sh` watchdog holds the read end of a pipe
 *   whose write end only this process has; at EOF it SIGKILLs the pids registered in the run dir.
 * The run dir is also where the Unix sockets live: it is short, because socket paths are limited to 107 bytes.
 */

/** Longest tmpdir we accept for sockets: "<tmp>/mysqlda-sandbox-XXXXXX/s12.sock" must stay under 107 bytes. */
const MAX_SOCKET_DIR_LENGTH = 80;

const WATCHDOG_SCRIPT = `
read _unused
for f in "$0"/pids/*; do
  [ -e "$f" ] || continue
  p=\${f##*/}
  [ "$(cat /proc/$p/comm 2>/dev/null)" = mariadbd ] && kill -9 "$p"
done
rm -rf "$0"
`;

const live = new Set<number>();
let runDir: string | undefined;

function killAllNow(): void {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}

function startWatchdog(dir: string): void {
  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => {}); // without sh we still have the exit handler
  watchdog.unref();
  const stdin = watchdog.stdin as unknown as { unref?: () => void; on: (e: string, f: () => void) => void } | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
}

/** This process's short run dir (sockets, pid registry), created with its watchdog on first use. */
export function sandboxRunDir(): string {
  if (runDir) return runDir;
  const base = tmpdir().length <= MAX_SOCKET_DIR_LENGTH ? tmpdir() : '/tmp';
  runDir = mkdtempSync(join(base, 'mysqlda-sandbox-'));
  mkdirSync(join(runDir, 'pids'));
  process.on('exit', killAllNow);
  startWatchdog(runDir);
  return runDir;
}

/** Registers a mariadbd child so that it dies with this process. */
export function trackServerProcess(pid: number): void {
  live.add(pid);
  writeFileSync(join(sandboxRunDir(), 'pids', String(pid)), '');
}

export function untrackServerProcess(pid: number): void {
  live.delete(pid);
  try {
    unlinkSync(join(sandboxRunDir(), 'pids', String(pid)));
  } catch {
    // never registered or already removed
  }
}

function isServerOnDataDir(pid: number, dataDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /mariadbd$/.test(argv[0] ?? '') && argv.includes(`--datadir=${dataDir}`);
  } catch {
    return false;
  }
}

/**
 * Kills a mariadbd left running on `dataDir` by an earlier run (found through its pid file), and waits for it to
 * be gone, so that the datadir can be wiped and the port reused.
 */
export async function reapStaleServer(dataDir: string, pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!(pid > 0) || !isServerOnDataDir(pid, dataDir)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isServerOnDataDir(pid, dataDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
