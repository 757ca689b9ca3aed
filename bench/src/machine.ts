/**
 * The programs the bench needs besides MariaDB (haproxy, sysbench) and a description of the machine a result was
 * measured on.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { mariadbInstallation } from '../../tools/sandbox/installation.js';

/** Debian's packages: what a CI script installs before `npm test` (which runs the quick bench). */
export const BENCH_APT_PACKAGES = ['haproxy', 'sysbench'] as const;

export const TOOLS_MISSING_HINT = `install them with: apt-get install -y ${BENCH_APT_PACKAGES.join(' ')}`;

export interface Tools {
  haproxy: string;
  sysbench: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  kernel: string;
  node: string;
  mariadb: string;
  haproxy: string;
  sysbench: string;
}

/** /usr/sbin is not on every user's PATH, and Debian puts haproxy there. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin'];

/** PATH, then Debian's sbin and bin. */
export function searchDirs(): string[] {
  return [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
}

function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Both programs, or an Error naming the missing ones and the apt-get line that installs them. */
export function findTools(dirs: readonly string[] = searchDirs()): Tools {
  const haproxy = findExecutable('haproxy', dirs);
  const sysbench = findExecutable('sysbench', dirs);
  const missing = [haproxy ? null : 'haproxy', sysbench ? null : 'sysbench'].filter((name) => name !== null);
  if (missing.length > 0) throw new Error(`the benchmark needs ${missing.join(' and ')}, not found on this machine: ${TOOLS_MISSING_HINT}`);
  return { haproxy: haproxy!, sysbench: sysbench! };
}

function firstLine(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
}

export function describeMachine(tools: Tools): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? 'unknown',
    cores: os.availableParallelism(),
    ramBytes: Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? 0) * 1024,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    mariadb: mariadbInstallation().version,
    // "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
    haproxy: /version (\S+)/.exec(firstLine(tools.haproxy, ['-v']))?.[1] ?? 'unknown',
    // "sysbench 1.0.20"
    sysbench: firstLine(tools.sysbench, ['--version']).replace(/^sysbench\s+/, ''),
  };
}

/** `git describe --always --dirty` of the project: the tree a result was measured on. */
export function describeCommit(): string {
  try {
    const cwd = PROJECT_ROOT;
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
