import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { clearImmutable, immutableFilesWork, setImmutable } from '../support/immutable-file.js';
import { connectClient, exited, spawnProxyProcess, startTestProxy, writeProxyConfig } from '../support/proxy-harness.js';

const canMakeImmutable = immutableFilesWork();

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

  it.skipIf(!canMakeImmutable)('answers 7107 for new keys while mysqlda.save cannot be written (EPERM), keeps the client, and saves again once it can', async () => {
    const etc = path.join(dir, 'etc-immutable');
    const proxy = await startTestProxy(sandbox, etc);
    const saveFile = path.join(etc, 'mysqlda.save');
    const c = await connectClient(proxy.port);
    try {
      await c.query('select library before-fault');
      setImmutable(saveFile, true);
      for (const key of ['during-fault', 'during-fault', 'after-fault']) {
        await expect(c.query(`select library ${key}`)).rejects.toMatchObject({ errno: 7107 });
      }
      await c.query('select library before-fault'); // the same connection goes on: known keys still route
      setImmutable(saveFile, false);
      await c.query('select library after-fault');
      const [rows] = await c.query('show library');
      const library = (rows as { library: string }[])[0].library;

      const saved = (await readFile(saveFile, 'utf8')).split('\n');
      expect(saved.pop()).toBe('');
      expect(saved.map((line) => line.split(' ')[2])).toEqual(['before-fault', 'after-fault']);
      expect(saved[1].endsWith(` after-fault ${library}`)).toBe(true);
    } finally {
      clearImmutable(saveFile);
      await c.end();
      await proxy.stop();
    }
  });
});
