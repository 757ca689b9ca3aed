import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { backendPort, connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('routing', { libraries: 3, replicas: 0 });

const masterPortOf = (library: string) => env.sandbox.libraries.find((l) => l.name === library)!.master.port;

async function errorOf(promise: Promise<unknown>): Promise<{ errno: number; sqlState: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { errno: number; sqlState: string; message: string };
  }
  throw new Error('expected an error');
}

async function showLibrary(connection: mysql.Connection) {
  const [rows] = await connection.query('show library');
  return (rows as { library: string | null; key: string | null; server: string | null }[])[0];
}

describe('the mysqlda flow', () => {
  it('routes a key to its library, keeps it there, and a correl alias from a new connection lands on the same server', async () => {
    const a = await connectClient(env.proxy.port, { database: 'calvindb' });
    await a.query('select library 13812345678');
    const { library, key, server } = await showLibrary(a);
    expect(key).toBe('13812345678');
    expect(server).toBe(`127.0.0.1:${masterPortOf(library!)}`);
    expect(await backendPort(a)).toBe(masterPortOf(library!));

    await a.query('create table if not exists accounts (no varchar(32) primary key, owner varchar(32))');
    await a.query("insert into accounts values ('6222-0001', '13812345678')");
    await a.query('set correl_object account_no 6222-0001 13812345678');
    await a.end();

    const b = await connectClient(env.proxy.port);
    await b.query('select library_by_correl_object account_no 6222-0001');
    expect((await showLibrary(b)).library).toBe(library);
    const [rows] = await b.query("select owner from accounts where no = '6222-0001'");
    expect(rows).toEqual([{ owner: '13812345678' }]);
    await b.end();

    const saved = await readFile(path.join(env.dir, 'etc', 'mysqlda.save'), 'utf8');
    expect(saved).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d 13812345678 ${library}$`, 'm'));
    const correl = await readFile(path.join(env.dir, 'etc', 'mysqlda.account_no.save'), 'utf8');
    expect(correl).toMatch(/ 6222-0001 13812345678\n$/);
    expect((await stat(path.join(env.dir, 'etc', 'mysqlda.save'))).mode & 0o777).toBe(0o600);
  });

  it('accepts the grammar mysqlda users write: any case, extra whitespace, comments, quotes and a trailing semicolon', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query("  /* route */ SELECT\tLIBRARY   'user@example.com' ;");
    expect((await showLibrary(c)).key).toBe('user@example.com');
    await c.query('select library `k-2`');
    expect((await showLibrary(c)).key).toBe('k-2');
    await c.end();
  });

  it('switches library mid-session, returning the old connection to its pool', async () => {
    const c = await connectClient(env.proxy.port);
    const libraries = new Set<string>();
    for (let i = 0; i < 12 && libraries.size < 2; i++) {
      await c.query(`select library switch-${i}`);
      const { library } = await showLibrary(c);
      libraries.add(library!);
      expect(await backendPort(c)).toBe(masterPortOf(library!));
    }
    expect(libraries.size).toBe(2);
    await c.end();
  });

  it('refuses to switch library inside a transaction, and the session stays usable', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query('select library tx-owner');
    const home = (await showLibrary(c)).library;
    // Find a key that lives elsewhere (assigning keys is allowed at any time).
    const probe = await connectClient(env.proxy.port);
    let elsewhere = '';
    for (let i = 0; !elsewhere; i++) {
      await probe.query(`select library tx-other-${i}`);
      if ((await showLibrary(probe)).library !== home) elsewhere = `tx-other-${i}`;
    }
    await probe.end();

    await c.query('begin');
    await c.query('select 1');
    await c.query('select library tx-owner'); // same library: nothing to switch, allowed
    const error = await errorOf(c.query(`select library ${elsewhere}`));
    expect(error.errno).toBe(7108);
    expect(error.sqlState).toBe('25000');
    await c.query('rollback');
    expect((await showLibrary(c)).library).toBe(home);
    await c.query(`select library ${elsewhere}`);
    expect((await showLibrary(c)).library).not.toBe(home);
    await c.end();
  });

  it('answers extension errors with their own codes and keeps the connection usable', async () => {
    const c = await connectClient(env.proxy.port);
    expect((await errorOf(c.query('select library_by_correl_object nosuch thing'))).errno).toBe(7103);
    expect((await errorOf(c.query('set correl_object phone 555 never-selected-key'))).errno).toBe(7104);
    expect((await errorOf(c.query(`select library ${'x'.repeat(65)}`))).errno).toBe(7102);
    expect((await errorOf(c.query('select library'))).errno).toBe(7102);
    expect((await errorOf(c.query('set correl_object bad.class o k'))).errno).toBe(7102);

    await c.query('select library owner-1');
    await c.query('select library owner-2');
    await c.query('set correl_object phone 555-1 owner-1');
    await c.query('set correl_object phone 555-1 owner-1'); // same binding again: OK
    const conflict = await errorOf(c.query('set correl_object phone 555-1 owner-2'));
    expect(conflict.errno).toBe(7105);
    expect(conflict.message).toContain("'owner-1'");
    const [rows] = await c.query('select 1 as ok');
    expect(rows).toEqual([{ ok: 1 }]);
    await c.end();
  });

  it('spreads new keys evenly over equal libraries', async () => {
    const c = await connectClient(env.proxy.port);
    const before = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      await c.query(`select library spread-${i}`);
      const { library } = await showLibrary(c);
      before.set(library!, (before.get(library!) ?? 0) + 1);
    }
    expect(before.size).toBe(3);
    for (const count of before.values()) expect(count).toBeGreaterThanOrEqual(15);
    await c.end();
  });
});
