import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { connectClient, exited, spawnProxyProcess, writeProxyConfig } from '../support/proxy-harness.js';

let dir: string;
let sandbox: Sandbox;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-durability-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 3, replicas: 0 });
});

afterAll(async () => {
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the durable directory', () => {
  it('keeps every acknowledged assignment when the proxy is killed with SIGKILL during a storm of new keys', async () => {
    const etc = path.join(dir, 'etc');
    const { configPath, port } = await writeProxyConfig(sandbox, etc);
    const child = await spawnProxyProcess(configPath, port);

    const acknowledged = new Map<string, string | null>();
    let stop = false;
    const worker = async (w: number) => {
      let c;
      try {
        c = await connectClient(port);
        for (let i = 0; !stop; i++) {
          const key = `storm-${w}-${i}`;
          await c.query(`select library ${key}`);
          acknowledged.set(key, null);
          const [rows] = await c.query('show library');
          acknowledged.set(key, (rows as { library: string }[])[0].library);
        }
      } catch {
        // the proxy died under us: expected
      } finally {
        c?.destroy();
      }
    };
    const workers = Array.from({ length: 32 }, (_, w) => worker(w));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGKILL');
    stop = true;
    await exited(child);
    await Promise.all(workers);
    expect(acknowledged.size).toBeGreaterThan(100);

    const restarted = await spawnProxyProcess(configPath, port);
    try {
      const saved = await readFile(path.join(etc, 'mysqlda.save'), 'utf8');
      const c = await connectClient(port);
      for (const [key, library] of acknowledged) {
        expect(saved).toContain(` ${key} `);
        if (library === null) continue;
        await c.query(`select library ${key}`);
        const [rows] = await c.query('show library');
        expect((rows as { library: string }[])[0].library).toBe(library);
      }
      await c.end();
    } finally {
      restarted.kill('SIGTERM');
      await exited(restarted);
    }
  });
});
