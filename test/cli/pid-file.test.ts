import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquirePidFile, AlreadyRunningError, controlSocketPath, inspectPidFile } from '../../src/supervisor/pid-file.js';

/** A live process whose command line names mysqlda, or not. */
function sleeper(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', name], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('spawn', () => resolve(child)));
}

describe('the pid file', () => {
  let dir: string;
  let pidFile: string;
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-pid-'));
    pidFile = path.join(dir, 'run', 'mysqlda.pid');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('is written with the pid (its directory created) and removed on release', async () => {
    const lock = await acquirePidFile(pidFile, 4242);
    expect(await readFile(pidFile, 'utf8')).toBe('4242\n');
    expect((await stat(pidFile)).mode & 0o777).toBe(0o644 & ~process.umask());
    await lock.release();
    await expect(stat(pidFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is not removed by a release once another process has taken it over', async () => {
    const lock = await acquirePidFile(pidFile, 4242);
    await writeFile(pidFile, '4343\n');
    await lock.release();
    expect(await readFile(pidFile, 'utf8')).toBe('4343\n');
  });

  it('refuses a second start while it names a live mysqlda', async () => {
    const other = await sleeper('mysqlda');
    children.push(other);
    await acquirePidFile(pidFile, other.pid!);
    expect(await inspectPidFile(pidFile)).toEqual({ state: 'running', pid: other.pid });
    await expect(acquirePidFile(pidFile)).rejects.toThrow(new AlreadyRunningError(other.pid!, pidFile));
  });

  it('is stale, and replaced, when its pid is dead, reused by another program, our own, or unreadable', async () => {
    const unrelated = await sleeper('some-other-daemon');
    children.push(unrelated);
    for (const [content, pid] of [
      ['999999999\n', 999999999],
      [`${unrelated.pid}\n`, unrelated.pid],
      [`${process.pid}\n`, process.pid],
      ['garbage', null],
    ] as const) {
      await rm(pidFile, { force: true });
      await acquirePidFile(pidFile, 1);
      await writeFile(pidFile, content);
      expect(await inspectPidFile(pidFile)).toEqual({ state: 'stale', pid });
      await acquirePidFile(pidFile, 4242);
      expect(await readFile(pidFile, 'utf8')).toBe('4242\n');
    }
    expect(await inspectPidFile(path.join(dir, 'none.pid'))).toEqual({ state: 'absent' });
  });

  it('has its control socket beside it', () => {
    expect(controlSocketPath('/run/mysqlda/mysqlda.pid')).toBe('/run/mysqlda/mysqlda.ctl');
    expect(controlSocketPath('/var/run/proxy.lock')).toBe('/var/run/proxy.lock.ctl');
  });
});
