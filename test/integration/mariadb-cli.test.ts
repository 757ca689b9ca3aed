import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useProxyFixture } from '../support/proxy-harness.js';

const run = promisify(execFile);
const env = useProxyFixture('mariadb-cli', { libraries: 2, replicas: 0 });

function mariadb(sql: string, extra: string[] = []) {
  return run('mariadb', ['-h', '127.0.0.1', '-P', String(env.proxy.port), '-u', 'calvin', '-pcalvin', '--batch', ...extra, 'calvindb', '-e', sql]);
}

describe('the mariadb command-line client', () => {
  it('runs the mysqlda flow in batch mode', async () => {
    const { stdout } = await mariadb(
      "select library cli-user; replace into test_table values ('cli', 'hello'); select value from test_table where name = 'cli'; show library;",
    );
    expect(stdout).toContain('hello');
    expect(stdout).toMatch(/mysqlda\d\tcli-user\t127\.0\.0\.1:\d+/);
  });

  it('works with the settings an interactive session sends (--init-command)', async () => {
    const { stdout } = await mariadb('select @@version_comment limit 1; select library cli-2; select 1 + 1 as two;', ['--init-command=SET NAMES utf8mb4']);
    expect(stdout).toContain('two\n2');
  });

  it('reports a wrong password as the server would', async () => {
    await expect(run('mariadb', ['-h', '127.0.0.1', '-P', String(env.proxy.port), '-u', 'calvin', '-pnope', '-e', 'select 1'])).rejects.toMatchObject({
      stderr: expect.stringContaining("ERROR 1045 (28000): Access denied for user 'calvin'"),
    });
  });
});
