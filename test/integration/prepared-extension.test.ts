import { describe, expect, it } from 'vitest';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('prepared-extension', { libraries: 2, replicas: 0 });

describe('extension SQL and set-up statements as server-side prepared statements', () => {
  it('runs `select library ?` and `show library` prepared (mysql2 execute, PDO native prepares)', async () => {
    const c = await connectClient(env.proxy.port);
    await c.execute('select library ?', ['prepared-key']);
    const [rows] = await c.execute('show library');
    const [row] = rows as { library: string; key: string; server: string }[];
    expect(row.key).toBe('prepared-key');
    expect(row.server).toMatch(/^127\.0\.0\.1:\d+$/);
    await c.execute('set correl_object phone ? ?', ['555-77', 'prepared-key']);
    const other = await connectClient(env.proxy.port);
    await other.execute('select library_by_correl_object phone 555-77');
    const [[again]] = (await other.execute('show library')) as unknown as [[{ library: string }]];
    expect(again.library).toBe(row.library);
    await other.end();
    await expect(c.execute('select library ?', ['has space'])).rejects.toMatchObject({ errno: 7102 });
    await c.end();
  });

  it('answers lobby reads and carries prepared settings over, before a library is chosen', async () => {
    const c = await connectClient(env.proxy.port);
    const [[ac]] = (await c.execute('SELECT @@autocommit AS ac')) as unknown as [[{ ac: number }]];
    expect(ac.ac).toBe(1);
    await c.execute('SET time_zone = ?', ['+03:00']);
    await expect(c.execute('select * from test_table')).rejects.toMatchObject({ errno: 7101 });
    await c.query('select library prepared-settings');
    const [[tz]] = (await c.execute('SELECT @@time_zone AS tz')) as unknown as [[{ tz: string }]];
    expect(tz.tz).toBe('+03:00');
    await c.end();
  });
});

describe('server-side prepared statements across a switch of library', () => {
  it('keeps a driver-cached statement working after `select library` moves the session (prepared again lazily)', async () => {
    const c = await connectClient(env.proxy.port);
    const portOf = async () => ((await c.execute('SELECT @@port + ? AS port', [0])) as unknown as [[{ port: number }]])[0][0].port;
    const homes = new Map<number, string>();
    for (let i = 0; homes.size < 2; i++) {
      await c.query(`select library stmt-switch-${i}`);
      const port = await portOf();
      const [[{ server }]] = (await c.query('show library')) as unknown as [[{ server: string }]];
      expect(server).toBe(`127.0.0.1:${port}`);
      homes.set(port, `stmt-switch-${i}`);
    }
    // Back and forth: the same cached statement id must always run the same SQL on the current server.
    for (const [port, key] of [...homes, ...homes]) {
      await c.query(`select library ${key}`);
      expect(await portOf()).toBe(port);
      const [rows] = await c.execute('SELECT ? AS echo', ['same']);
      expect(rows).toEqual([{ echo: 'same' }]);
    }
    await c.end();
  });

  it('answers an unknown statement id with 1243, never running another statement', async () => {
    const { rawClient } = await import('../support/raw-client.js');
    const client = await rawClient(env.proxy.port);
    await client.query('select library stmt-unknown');
    const execute = Buffer.from([0x17, 99, 0, 0, 0, 0, 1, 0, 0, 0]);
    const result = await client.command(execute);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe(1243);
    client.close();
  });
});
