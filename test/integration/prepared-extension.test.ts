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
