import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServedConfig } from '../../src/supervisor/proxy-config.js';

describe('the served config', () => {
  let dir: string;
  let configPath: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-served-'));
    configPath = path.join(dir, 'mysqlda.conf');
    const config = { server: { listen_ip: '127.0.0.1', listen_port: 13306, bogus: 1 }, auth: { user: 'u', pass: 'p' }, forwards: [{ instance: 'a', forward: [{ ip: '127.0.0.1', port: 3306 }] }] };
    await writeFile(configPath, JSON.stringify(config));
    await chmod(configPath, 0o600);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the file's warnings unprefixed for the reloader, which adds 'config: ' itself", async () => {
    const served = await loadServedConfig(configPath, undefined, dir);
    expect(served.warnings).toEqual(['server.bogus: unknown key, ignored']);
  });

  it("says at start each file warning once as 'config: …', and an -s name other than mysqlda.save", async () => {
    const served = await loadServedConfig(configPath, path.join(dir, 'other.save'), dir);
    expect(served.startWarnings).toEqual([
      'config: server.bogus: unknown key, ignored',
      `-s: only the directory is used; the core save file is ${path.join(dir, 'mysqlda.save')}`,
    ]);
  });
});
