/** What /proc tells about one process: CPU seconds used so far and resident memory. Linux only. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on every common Linux build). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    ticksPerSecond = Number(text) > 0 ? Number(text) : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of the process (its threads included), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After comm, field 3 (state) is index 0: utime is field 14, stime field 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return (utime + stime) / clockTicks();
}

/** Resident set size of the process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Peak resident set size of the process so far (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** The pid of a child of this process running `comm` whose command line contains `argument`, if any. */
export function findChildPid(comm: string, argument: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (!match || match[1] !== comm || Number(match[2]) !== process.pid) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes(argument)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU seconds the whole machine spent busy (every state of /proc/stat's cpu line but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user already)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / clockTicks();
}

/** CPU seconds of this process plus those of its children that have exited and been waited for. */
export function selfAndReapedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime: fields 14 to 17.
  return [14, 15, 16, 17].reduce((sum, field) => sum + Number(fields[field - 3]), 0) / clockTicks();
}

/** TCP connections in TIME_WAIT on this machine (IPv4 and IPv6), from /proc/net/tcp*. */
export function timeWaitConnections(): number {
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    // "  sl  local_address rem_address   st ...": st 06 is TIME_WAIT.
    for (const line of text.split('\n').slice(1)) if (line.split(/\s+/)[4] === '06') count++;
  }
  return count;
}

/** Soft and hard RLIMIT_NOFILE of this process (/proc/self/limits). */
export function openFilesLimit(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const value = (text: string | undefined) => (text === undefined || text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text));
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

/**
 * Raises this process's open-files limit to `wanted` with util-linux's prlimit: the soft limit up to the hard one,
 * and the hard one too where allowed (root). Node itself starts with soft = hard, and processes started afterwards
 * inherit the limit. Returns the soft limit in force.
 */
export function raiseOpenFilesLimit(wanted: number): number {
  const { soft, hard } = openFilesLimit();
  if (soft >= wanted) return soft;
  for (const limit of [`${wanted}:${Math.max(wanted, hard)}`, `${Math.min(wanted, hard)}:${hard}`]) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}`], { stdio: 'ignore' });
      break;
    } catch {
      // not allowed (raising the hard limit needs root) or no prlimit: try the next, or keep the limit there is
    }
  }
  return openFilesLimit().soft;
}
