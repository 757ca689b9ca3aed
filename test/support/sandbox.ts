import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, type SandboxOptions } from '../../tools/sandbox/sandbox.js';
import { removeTree } from '../../tools/sandbox/tree.js';

export interface TestSandbox {
  sandbox: Sandbox;
  /** The temporary directory holding the servers; removed by cleanup(). */
  dir: string;
  /** Stops every server and removes the directory (kept when MYSQLDA_KEEP_SANDBOX is set, for post-mortems). */
  cleanup(): Promise<void>;
}

/** A Sandbox in a fresh directory under os.tmpdir(). */
export async function startTestSandbox(options: Omit<SandboxOptions, 'dir'> = {}): Promise<TestSandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-test-'));
  const sandbox = await Sandbox.start({ ...options, dir });
  return {
    sandbox,
    dir,
    async cleanup() {
      await sandbox.stop();
      if (!process.env.MYSQLDA_KEEP_SANDBOX) await removeTree(dir);
    },
  };
}

/** Pids of this process's children that are mariadbd servers (zombies excluded). */
export async function childMariadbdPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ..."; comm may hold spaces, so split after its closing parenthesis.
    const match = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
    if (match && match[1] === 'mariadbd' && match[2] !== 'Z' && Number(match[3]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}
