import { describe, expect, it } from 'vitest';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('lobby', { libraries: 2, replicas: 0 });

describe('before a library is chosen (the lobby)', () => {
  it('answers connector set-up chatter from a real server', async () => {
    const c = await connectClient(env.proxy.port, { database: 'calvindb' });
    await c.query('SET NAMES utf8mb4');
    await c.query("set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')");
    const [vars] = await c.query('SELECT @@max_allowed_packet AS m, @@system_time_zone AS z, @@time_zone AS t, @@auto_increment_increment AS i');
    expect((vars as { m: number }[])[0].m).toBeGreaterThan(0);
    const [[one]] = (await c.query('SELECT 1 AS one, DATABASE() AS db, VERSION() AS v')) as unknown as [[{ one: number; db: string; v: string }]];
    expect(one.one).toBe(1);
    expect(one.db).toBe('calvindb');
    expect(one.v).toMatch(/MariaDB/);
    const [variables] = await c.query("SHOW VARIABLES LIKE 'character_set_client'");
    expect(variables).toEqual([{ Variable_name: 'character_set_client', Value: 'utf8mb4' }]);
    await c.query('SHOW COLLATION');
    await c.query('SHOW CHARACTER SET');
    await c.ping();
    await c.query('USE calvindb');
    await c.query('select @@version_comment limit 1');
    await c.end();
  });

  it('carries session settings made before `select library` over to the library connection', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query("SET time_zone = '+05:30'");
    await c.query("SET SESSION sql_mode = 'ANSI_QUOTES'");
    await c.query('SET autocommit = 0');
    await c.query('SET @tag = 42');
    await c.query('SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE');
    await c.query('select library settings-1');
    const [rows] = await c.query('SELECT @@time_zone AS tz, @@sql_mode AS mode, @@autocommit AS ac, @tag AS tag, @@tx_isolation AS iso');
    expect(rows).toEqual([{ tz: '+05:30', mode: 'ANSI_QUOTES', ac: 0, tag: 42, iso: 'SERIALIZABLE' }]);

    // ...and over to the next library after a switch (settings made while routed count too).
    await c.query('commit');
    await c.query('SET @later = 7');
    for (let i = 0; i < 10; i++) {
      await c.query(`select library settings-other-${i}`);
      const [again] = await c.query('SELECT @@time_zone AS tz, @@autocommit AS ac, @later AS later');
      expect(again).toEqual([{ tz: '+05:30', ac: 0, later: 7 }]);
      await c.query('commit');
    }
    await c.end();
  });

  it('refuses statements that touch data with an error that names the fix, and keeps the connection', async () => {
    const c = await connectClient(env.proxy.port);
    for (const sql of ['select * from test_table', 'insert into test_table values (1, 2)', 'show tables', 'create table x (a int)']) {
      await expect(c.query(sql)).rejects.toMatchObject({ errno: 7101, message: expect.stringContaining('select library') });
    }
    await expect(c.execute('select * from test_table where name = ?', ['a'])).rejects.toMatchObject({ errno: 7101 });
    const [rows] = await c.query('select 2 as two');
    expect(rows).toEqual([{ two: 2 }]);
    await c.end();
  });

  it('starts a transaction begun in the lobby on the library connection', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query('begin');
    await c.query('select library tx-in-lobby');
    await c.query("insert into test_table values ('lobby-tx', 'v')");
    await c.query('rollback');
    const [rows] = await c.query("select * from test_table where name = 'lobby-tx'");
    expect(rows).toEqual([]);
    await c.end();
  });

  it('reports the transaction a lobby BEGIN opened in its OK, also once a set-up statement has reached a server', async () => {
    const IN_TRANS = 0x0001;
    const c = await connectClient(env.proxy.port);
    await c.query('set names utf8mb4'); // runs on a lobby server, whose status never saw the BEGIN below
    const [begun] = (await c.query('begin')) as unknown as [{ serverStatus: number }];
    expect(begun.serverStatus & IN_TRANS).toBe(IN_TRANS);
    const [ended] = (await c.query('rollback')) as unknown as [{ serverStatus: number }];
    expect(ended.serverStatus & IN_TRANS).toBe(0);
    await c.end();
  });

  it('COM_RESET_CONNECTION in the lobby answers with fresh status flags (autocommit back on)', async () => {
    const AUTOCOMMIT = 0x0002;
    const { rawClient } = await import('../support/raw-client.js');
    const { parseOk } = await import('../../src/protocol/generic-packets.js');
    const raw = await rawClient(env.proxy.port);
    const off = await raw.query('set autocommit = 0');
    expect(parseOk(off.packets[0]).statusFlags & AUTOCOMMIT).toBe(0);
    const reset = await raw.command(Buffer.from([0x1f]));
    expect(reset.ok).toBe(true);
    expect(parseOk(reset.packets[0]).statusFlags & AUTOCOMMIT).toBe(AUTOCOMMIT);
    raw.close();
  });
});
