import { describe, expect, it } from 'vitest';
import { diffConfigs } from '../../src/config/diff.js';
import { parseConfigTextWithWarnings } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/validate.js';
import { configProblems } from './problems.js';

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

function document(directory?: unknown): Record<string, any> {
  return {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'Pw-1Secret', db: 'appdb' },
    forwards: [{ instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }] }],
    ...(directory === undefined ? {} : { storage: { directory } }),
  };
}

const parse = (directory?: unknown) => parseConfigTextWithWarnings(JSON.stringify(document(directory)), CONFIG_PATH);
const problemsOf = (directory: unknown) => configProblems(() => parse(directory));

describe('storage.directory', () => {
  it('is the save files when absent, null or "files"', () => {
    expect(parse().config.directory).toEqual({ kind: 'files' });
    expect(parse(null).config.directory).toEqual({ kind: 'files' });
    expect(parse('files').config.directory).toEqual({ kind: 'files' });
  });

  it('takes the MySQL servers in order, with auth.user/auth.pass and mysqlda_directory as defaults', () => {
    const { config, warnings } = parse({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }, { ip: 'dir2.example', port: 3307 }] } });
    expect(config.directory).toEqual({
      kind: 'mysql',
      mysql: {
        servers: [{ host: '10.0.9.1', port: 3306 }, { host: 'dir2.example', port: 3307 }],
        user: 'app',
        password: 'Pw-1Secret',
        database: 'mysqlda_directory',
        tls: null,
      },
    });
    expect(warnings).toEqual([]);
  });

  it('takes its own account, database and TLS (as forwards[].forward[].tls, files relative to the config)', () => {
    // validateConfig: the file checks of load.ts (the CA file must exist) are not the point here.
    const { config } = validateConfig(document({
      mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }], user: 'dir', pass: 'dir-pw', db: 'shared_dir', tls: { mode: 'verify_ca', ca: 'ca.pem' } },
    }), CONFIG_PATH);
    expect(config.directory).toEqual({
      kind: 'mysql',
      mysql: {
        servers: [{ host: '10.0.9.1', port: 3306 }],
        user: 'dir',
        password: 'dir-pw',
        database: 'shared_dir',
        tls: { mode: 'verify_ca', caFile: '/srv/mysqlda/etc/ca.pem', certFile: null, keyFile: null },
      },
    });
  });

  it('refuses bad shapes with the path of each problem, never quoting the password', () => {
    expect(problemsOf('mysql')).toEqual(['storage.directory: must be "files" or { "mysql": { "servers": [{ "ip", "port" }], ... } }, got "mysql"']);
    expect(problemsOf({})).toEqual(['storage.directory.mysql: must be an object { "servers": [{ "ip", "port" }], "user", "pass", "db", "tls" }, got nothing']);
    expect(problemsOf({ mysql: { servers: [] } })).toEqual(['storage.directory.mysql.servers: must not be empty (an array of servers { "ip", "port" }, in failover order)']);
    expect(problemsOf({ mysql: {} })).toEqual([expect.stringMatching(/^storage\.directory\.mysql\.servers: /)]);
    expect(problemsOf({ mysql: { servers: [{ ip: '10.0.9.1' }] } })).toEqual([expect.stringMatching(/^storage\.directory\.mysql\.servers\[0\]\.port: required/)]);
    expect(problemsOf({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }, { ip: '10.0.9.1', port: 3306 }] } })).toEqual([
      'storage.directory.mysql.servers[1]: server 10.0.9.1:3306 is listed twice (also storage.directory.mysql.servers[0])',
    ]);
    expect(problemsOf({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }], db: 'my-dir' } })).toEqual([
      `storage.directory.mysql.db: must be 1-64 letters, digits, '_' or '$', got "my-dir"`,
    ]);
    const secret = problemsOf({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }], pass: 12345 } });
    expect(secret).toHaveLength(1);
    expect(secret[0]).toMatch(/^storage\.directory\.mysql\.pass: /);
    expect(secret[0]).not.toContain('12345');
  });

  it('warns about unknown keys', () => {
    const { warnings } = parse({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306, weight: 2 }], pool: 4 }, redis: {} });
    expect(warnings).toEqual([
      'storage.directory.redis: unknown key, ignored',
      'storage.directory.mysql.pool: unknown key, ignored',
      'storage.directory.mysql.servers[0].weight: unknown key, ignored',
    ]);
  });

  it('needs a restart to change, and the reload message names no password', () => {
    const files = parse().config;
    const shared = parse({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }] } }).config;
    const otherPassword = parse({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }], pass: 'n3w-Secret' } }).config;
    expect(diffConfigs(files, shared).restartNeeded).toEqual(['storage.directory changes from files to mysql 10.0.9.1:3306/mysqlda_directory']);
    const credentials = diffConfigs(shared, otherPassword).restartNeeded;
    expect(credentials).toEqual(['storage.directory (mysql 10.0.9.1:3306/mysqlda_directory): credentials or TLS change']);
    expect(credentials.join()).not.toContain('n3w-Secret');
    expect(diffConfigs(shared, parse({ mysql: { servers: [{ ip: '10.0.9.1', port: 3306 }] } }).config).restartNeeded).toEqual([]);
  });
});
