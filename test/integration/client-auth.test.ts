import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativePasswordHashText } from '../../src/protocol/auth.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { connectClient, startTestProxy, type ProxyUnderTest } from '../support/proxy-harness.js';

const run = promisify(execFile);
let dir: string;
let sandbox: Sandbox;
let plain: ProxyUnderTest;
let secure: ProxyUnderTest;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-auth-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 2, replicas: 0 });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=mysqlda-test']);
  // Accounts known only by their stored hash (no plaintext anywhere in the config).
  const addUsers = (config: import('../../src/config/types.js').MysqldaConfig) => {
    config.users.push(
      { user: 'hashed', passwordHash: nativePasswordHashText('s3cret'), database: 'calvindb', library: null, key: null, admin: false, hosts: null, maxConnections: null, maxQueriesPerSecond: null },
      { user: 'dumper', passwordHash: nativePasswordHashText('dump'), database: 'calvindb', library: 'mysqlda2', key: null, admin: false, hosts: null, maxConnections: null, maxQueriesPerSecond: null },
    );
  };
  plain = await startTestProxy(sandbox, path.join(dir, 'plain'), undefined, addUsers);
  secure = await startTestProxy(sandbox, path.join(dir, 'secure'), undefined, (config) => {
    addUsers(config);
    config.tls = { certFile, keyFile, required: true };
  });
});

afterAll(async () => {
  await plain?.stop();
  await secure?.stop();
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

function mariadb(port: number, user: string, password: string, sql: string, extra: string[] = []) {
  return run('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', user, `-p${password}`, '--batch', '--skip-column-names', ...extra, '-e', sql]);
}

describe('client authentication', () => {
  it('accepts caching_sha2_password clients on the fast path', async () => {
    const { stdout } = await mariadb(plain.port, 'calvin', 'calvin', 'select 40 + 2', ['--default-auth=caching_sha2_password', '--ssl=0']);
    expect(stdout.trim()).toBe('42');
  });

  it('takes caching_sha2_password full authentication through the RSA key exchange, then the fast path', async () => {
    for (let i = 0; i < 2; i++) {
      const { stdout } = await mariadb(plain.port, 'hashed', 's3cret', 'select 1', ['--default-auth=caching_sha2_password', '--ssl=0']);
      expect(stdout.trim()).toBe('1');
    }
    await expect(mariadb(plain.port, 'hashed', 'wrong', 'select 1', ['--default-auth=caching_sha2_password', '--ssl=0'])).rejects.toMatchObject({
      stderr: expect.stringContaining('1045'),
    });
  });

  it('logs in several accounts, each with its own password, stored only as hashes', async () => {
    const c = await connectClient(plain.port, { user: 'hashed', password: 's3cret' });
    await c.query('select library by-hashed-user');
    await c.end();
    await expect(connectClient(plain.port, { user: 'hashed', password: 'calvin' })).rejects.toMatchObject({ errno: 1045 });
  });

  it('routes an account with a fixed library at login, for tools that cannot send extension SQL', async () => {
    const { stdout } = await mariadb(plain.port, 'dumper', 'dump', 'show library; select @@port', ['--skip-ssl']);
    const port = sandbox.libraries.find((l) => l.name === 'mysqlda2')!.master.port;
    expect(stdout).toContain(`mysqlda2`);
    expect(stdout).toContain(String(port));
    const dump = await run('mariadb-dump', ['-h', '127.0.0.1', '-P', String(plain.port), '-u', 'dumper', '-pdump', '--skip-ssl', 'calvindb', 'test_table']);
    expect(dump.stdout).toContain('CREATE TABLE `test_table`');
  });

  it('speaks TLS to clients that ask, and refuses plain connections when TLS is required', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: secure.port, user: 'calvin', password: 'calvin', ssl: { rejectUnauthorized: false } });
    await c.query('select library over-tls');
    const [rows] = await c.query('select 7 as seven');
    expect(rows).toEqual([{ seven: 7 }]);
    await c.end();
    await expect(connectClient(secure.port)).rejects.toMatchObject({ errno: 3159 });
    // Full caching_sha2 authentication may send the password itself once the connection is encrypted.
    const { stdout } = await mariadb(secure.port, 'hashed', 's3cret', 'select 5', ['--default-auth=caching_sha2_password', '--ssl', '--ssl-verify-server-cert=0']);
    expect(stdout.trim()).toBe('5');
  });

  it('handles COM_CHANGE_USER itself: the session starts afresh and stays on its library', async () => {
    const c = await connectClient(plain.port);
    await c.query('select library change-user-key');
    const [[before]] = (await c.query('show library')) as unknown as [[{ library: string }]];
    await c.query('set @x = 1');
    await c.changeUser({ user: 'hashed', password: 's3cret' });
    const [[after]] = (await c.query('show library')) as unknown as [[{ library: string }]];
    expect(after.library).toBe(before.library);
    const [[vars]] = (await c.query('select @x as x, current_user() is not null as ok')) as unknown as [[{ x: unknown }]];
    expect(vars.x).toBeNull();
    await expect(c.changeUser({ user: 'hashed', password: 'nope' })).rejects.toMatchObject({ errno: 1045 });
    c.destroy();
  });
});
