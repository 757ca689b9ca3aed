import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { configReloader } from '../../src/config/reloader.js';
import type { MysqldaConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

function config(port = 13306, weight = 1): MysqldaConfig {
  const document = {
    server: { listen_ip: '127.0.0.1', listen_port: port },
    auth: { user: 'app', pass: 'pw' },
    forwards: [{ instance: 'lib_a', weight, forward: [{ ip: '10.0.0.1', port: 3306 }] }],
  };
  return parseConfigText(JSON.stringify(document), CONFIG_PATH);
}

function setUp(onDisk: () => MysqldaConfig | Error, apply: (next: MysqldaConfig) => Promise<string[]> = async () => []) {
  let running = config();
  const reports: [boolean, number][] = [];
  const reload = configReloader({
    logger: silentLogger(),
    report: (ok, changes) => reports.push([ok, changes]),
    load: async () => {
      const loaded = onDisk();
      if (loaded instanceof Error) throw loaded;
      return { config: loaded, warnings: [] };
    },
    current: () => running,
    apply: async (next) => {
      const notes = await apply(next);
      running = next;
      return notes;
    },
  });
  return { reload, reports, running: () => running };
}

describe('configReloader', () => {
  it('applies a valid change and reports each change', async () => {
    const { reload, reports, running } = setUp(() => config(13306, 4), async () => ['a note from the server']);
    expect(await reload()).toEqual({ ok: true, message: 'applied 1 change(s)', changes: ['library lib_a: weight 1 → 4', 'a note from the server'] });
    expect(running().libraries[0].weight).toBe(4);
    expect(reports).toEqual([[true, 2]]);
  });

  it('rejects an invalid file with its problems, and a change that needs a restart', async () => {
    const invalid = setUp(() => new ConfigError(CONFIG_PATH, ['forwards: required (an array of libraries)']));
    expect(await invalid.reload()).toEqual({
      ok: false,
      message: `invalid configuration ${CONFIG_PATH}: forwards: required (an array of libraries)`,
      changes: [],
    });
    const moved = setUp(() => config(13307, 2));
    expect(await moved.reload()).toMatchObject({ ok: false, message: 'a restart is needed to apply this: the listen address changes from 127.0.0.1:13306 to 127.0.0.1:13307' });
    expect(moved.running().libraries[0].weight).toBe(1);
    expect([...invalid.reports, ...moved.reports]).toEqual([[false, 0], [false, 0]]);
  });

  it('rejects the whole reload when applying it throws', async () => {
    const { reload, running } = setUp(() => config(13306, 2), async () => {
      throw new Error("cannot remove libraries that still own keys: 'lib_b' (3 keys)");
    });
    expect(await reload()).toEqual({ ok: false, message: "cannot remove libraries that still own keys: 'lib_b' (3 keys)", changes: [] });
    expect(running().libraries[0].weight).toBe(1);
  });

  it('takes a given config instead of reading the file, and says when nothing changed', async () => {
    const { reload } = setUp(() => new Error('not read'));
    expect(await reload(config())).toEqual({ ok: true, message: 'nothing changed', changes: [] });
  });

  it('runs one reload at a time, in the order asked', async () => {
    const order: string[] = [];
    let weight = 1;
    const { reload } = setUp(
      () => config(13306, ++weight),
      async (next) => {
        order.push(`start ${next.libraries[0].weight}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        order.push(`end ${next.libraries[0].weight}`);
        return [];
      },
    );
    await Promise.all([reload(), reload()]);
    expect(order).toEqual(['start 2', 'end 2', 'start 3', 'end 3']);
  });
});
