import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTools } from '../../bench/src/machine.js';

describe('the tools the bench needs', () => {
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-bench-tools-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('are refused when missing, with the apt-get line that installs them', () => {
    expect(() => findTools([path.join(os.tmpdir(), 'no-such-dir')])).toThrow(
      'the benchmark needs haproxy and sysbench, not found on this machine: install them with: apt-get install -y haproxy sysbench',
    );
  });

  it('name only the one missing', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'haproxy'), '#!/bin/sh\n', { mode: 0o755 });
    expect(() => findTools([dir])).toThrow(/needs sysbench, not found/);
  });

  it('are found in the directories searched', async () => {
    const dir = await tempDir();
    for (const name of ['haproxy', 'sysbench']) await writeFile(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
    expect(findTools([dir])).toEqual({ haproxy: path.join(dir, 'haproxy'), sysbench: path.join(dir, 'sysbench') });
  });
});
