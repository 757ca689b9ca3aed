import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFileWithWarnings, parseConfigTextWithWarnings } from '../../src/config/load.js';
import { parseHostPort } from '../../src/config/extensions.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { nativePasswordHashText } from '../../src/protocol/auth.js';
import { configProblems } from './problems.js';

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

function baseConfig(): Record<string, any> {
  return {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'Pw-1Secret', db: 'appdb' },
    forwards: [
      { instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }, { ip: '10.0.0.2', port: 3306 }] },
      { instance: 'lib_b', forward: [{ ip: '10.0.1.1', port: 3306 }] },
    ],
  };
}

const parse = (config: unknown, configPath = CONFIG_PATH) => parseConfigTextWithWarnings(JSON.stringify(config), configPath);

const problemsOf = (config: unknown) => configProblems(() => parse(config));

/** An account without users[].hosts, max_connections or max_queries_per_second. */
const NO_LIMITS = { hosts: null, maxConnections: null, maxQueriesPerSecond: null };

describe('defaults of the extension sections', () => {
  it('come from schema.ts when the sections are absent', () => {
    const { config, warnings } = parse(baseConfig());
    expect(config.users).toEqual([{ user: 'app', passwordHash: nativePasswordHashText('Pw-1Secret'), database: 'appdb', library: null, key: null, admin: false, ...NO_LIMITS }]);
    expect(config.tls).toBeNull();
    expect(config.health).toEqual(DEFAULTS.health);
    expect(config.failover).toEqual({ autoFailback: false, mode: 'ordered', maxLagSeconds: 30, promoteTimeoutSeconds: 30, user: null, password: null });
    expect(config.admin).toEqual({ http: null });
    expect(config.daemon).toEqual({ pidFile: '/srv/mysqlda/etc/mysqlda.pid', logFile: '/srv/mysqlda/etc/log/mysqlda.log', logLevel: null });
    expect(config.libraries[0].servers.map((s) => s.tls)).toEqual([null, null]);
    expect(warnings).toEqual([]);
  });
});

describe('users', () => {
  it('adds accounts after the auth block: a password hash as given, a plain password hashed, routing and admin', () => {
    const config = baseConfig();
    const hash = nativePasswordHashText('dump-pw');
    config.users = [
      { user: 'dump', password_hash: hash.toLowerCase(), db: 'appdb', library: 'lib_b' },
      { user: 'ops', pass: 'ops-pw', admin: true },
      { user: 'tenant42', pass: '', key: 'customer-42' },
    ];
    const { config: loaded, warnings } = parse(config);
    expect(loaded.users.slice(1)).toEqual([
      { user: 'dump', passwordHash: hash, database: 'appdb', library: 'lib_b', key: null, admin: false, ...NO_LIMITS },
      { user: 'ops', passwordHash: nativePasswordHashText('ops-pw'), database: '', library: null, key: null, admin: true, ...NO_LIMITS },
      { user: 'tenant42', passwordHash: null, database: '', library: null, key: 'customer-42', admin: false, ...NO_LIMITS },
    ]);
    expect(warnings).toEqual([]);
  });

  it('reports every bad account with its path, and never quotes a password or hash', () => {
    const config = baseConfig();
    config.users = [
      { user: 'app', pass: 'x' },
      { user: 'a', password_hash: '*ABC-secret-hash' },
      { user: 'b' },
      { user: 'c', pass: 'x', password_hash: nativePasswordHashText('x') },
      { user: 'd', pass: 'x', library: 'lib_z' },
      { user: 'e', pass: 'x', library: 'lib_a', key: 'k' },
      { user: 'f', pass: 'x', key: 'has space' },
      { user: 'g', pass: 7, admin: 'yes' },
      { user: 'a', pass: 'x' },
      'h',
    ];
    const problems = problemsOf(config);
    expect(problems).toEqual([
      'users[0].user: user "app" is defined twice (also auth.user)',
      "users[1].password_hash: must be '*' followed by 40 hex digits (mysql_native_password, as SELECT PASSWORD('...') shows it)",
      `users[2]: one of these is required: "password_hash" (as SELECT PASSWORD('...') shows it) or "pass" (plain text; "" for none)`,
      `users[3]: give only one of "password_hash" (as SELECT PASSWORD('...') shows it) or "pass" (plain text; "" for none)`,
      'users[4].library: no library is called "lib_z" (see forwards[].instance)',
      'users[5]: give either "library" or "key" for fixed routing, not both',
      'users[6].key: key contains whitespace, got "has space"',
      'users[7].pass: must be a string, got a number',
      'users[7].admin: must be true or false, got "yes"',
      'users[8].user: user "a" is defined twice (also users[1].user)',
      'users[9]: must be an object, got "h"',
    ]);
    expect(problems.join('\n')).not.toMatch(/secret-hash|got 7/);
  });

  it('warns that an admin account with fixed routing cannot use admin statements', () => {
    const config = baseConfig();
    config.users = [{ user: 'ops', pass: 'x', admin: true, library: 'lib_a' }];
    expect(parse(config).warnings).toEqual([
      'users[0]: admin statements are answered only before a library is chosen, and this account is routed at login: it cannot use them',
    ]);
  });

  it('must be an array', () => {
    const config = baseConfig();
    config.users = { user: 'x' };
    expect(problemsOf(config)).toEqual(['users: must be an array of accounts, got an object']);
  });
});

describe('tls', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-tls-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves cert and key against the config directory and checks they can be read', async () => {
    await writeFile(path.join(dir, 'proxy.crt'), 'cert');
    await writeFile(path.join(dir, 'proxy.key'), 'key');
    const config = baseConfig();
    config.tls = { cert: 'proxy.crt', key: path.join(dir, 'proxy.key'), require: true };
    config.forwards[0].forward[1].tls = true;
    const file = path.join(dir, 'mysqlda.conf');
    await writeFile(file, JSON.stringify(config), { mode: 0o600 });
    const { config: loaded } = await loadConfigFileWithWarnings(file);
    expect(loaded.tls).toEqual({ certFile: path.join(dir, 'proxy.crt'), keyFile: path.join(dir, 'proxy.key'), required: true });
    expect(loaded.libraries[0].servers.map((s) => s.tls)).toEqual([null, { mode: 'required', caFile: null, certFile: null, keyFile: null }]);
  });

  it('refuses missing files, naming the key and the resolved path', () => {
    const config = baseConfig();
    config.tls = { cert: 'missing.crt', key: 'missing.key' };
    expect(problemsOf(config)).toEqual([
      'tls.cert: cannot read /srv/mysqlda/etc/missing.crt: no such file',
      'tls.key: cannot read /srv/mysqlda/etc/missing.key: no such file',
    ]);
  });

  it('refuses a directory and reports bad types', async () => {
    const config = baseConfig();
    config.tls = { cert: dir, key: 5, require: 'always' };
    expect(problemsOf(config)).toEqual([
      'tls.key: must be a string, got 5',
      'tls.require: must be true or false, got "always"',
    ]);
    config.tls = { cert: dir, key: dir };
    expect(problemsOf(config)).toEqual([`tls.cert: cannot read ${dir}: it is a directory`, `tls.key: cannot read ${dir}: it is a directory`]);
    await chmod(dir, 0o700);
  });

  it('rejects a forward tls setting that is neither a flag nor an object', () => {
    const config = baseConfig();
    config.forwards[1].forward[0].tls = 1;
    expect(problemsOf(config)).toEqual(['forwards[1].forward[0].tls: must be true, false or an object { "mode", "ca", "cert", "key" }, got 1']);
    config.forwards[1].forward[0].tls = ['verify_ca'];
    expect(problemsOf(config)).toEqual(['forwards[1].forward[0].tls: must be true, false or an object { "mode", "ca", "cert", "key" }, got an array']);
  });
});

describe('backend tls (forwards[].forward[].tls)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-backend-tls-'));
    for (const name of ['ca.pem', 'client.pem', 'client-key.pem']) await writeFile(path.join(dir, name), 'pem');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const configIn = (dir: string) => path.join(dir, 'mysqlda.conf');

  it('the object form checks the certificate and the name by default, files relative to the config directory', () => {
    const config = baseConfig();
    config.forwards[0].forward[0].tls = { ca: 'ca.pem' };
    config.forwards[0].forward[1].tls = { mode: 'verify_ca', ca: 'ca.pem', cert: 'client.pem', key: path.join(dir, 'client-key.pem') };
    config.forwards[1].forward[0].tls = { mode: 'verify_identity' };
    const { config: loaded, warnings } = parse(config, configIn(dir));
    expect(loaded.libraries[0].servers.map((s) => s.tls)).toEqual([
      { mode: 'verify_identity', caFile: path.join(dir, 'ca.pem'), certFile: null, keyFile: null },
      { mode: 'verify_ca', caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'client.pem'), keyFile: path.join(dir, 'client-key.pem') },
    ]);
    // No CA file: Node's bundled root CAs are trusted (a managed database with a public certificate).
    expect(loaded.libraries[1].servers[0].tls).toEqual({ mode: 'verify_identity', caFile: null, certFile: null, keyFile: null });
    expect(warnings).toEqual([]);
  });

  it('reports an unknown mode, a certificate without its key, unknown keys and unreadable files', () => {
    const config = baseConfig();
    config.forwards[0].forward[0].tls = { mode: 'VERIFY_FULL' };
    config.forwards[0].forward[1].tls = { cert: 'client.pem' };
    config.forwards[1].forward[0].tls = { ca: 'missing-ca.pem' };
    expect(problemsOf({ ...config, storage: { save_dir: dir } })).toEqual([
      'forwards[0].forward[0].tls.mode: must be one of required, verify_ca, verify_identity, got "VERIFY_FULL"',
      'forwards[0].forward[1].tls: "cert" and "key" go together (a client certificate and its private key)',
    ]);
    config.forwards[0].forward[0].tls = { mode: 'required', ca: 'ca.pem', verify: true };
    config.forwards[0].forward[1].tls = true;
    try {
      parse(config, configIn(dir));
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([`forwards[1].forward[0].tls.ca: cannot read ${path.join(dir, 'missing-ca.pem')}: no such file`]);
    }
    config.forwards[1].forward[0].tls = false;
    expect(parse(config, configIn(dir)).warnings).toEqual([
      'forwards[0].forward[0].tls.verify: unknown key, ignored',
      'forwards[0].forward[0].tls.ca: is not used with mode "required" (the certificate is not checked)',
    ]);
  });
});

describe('health, failover, admin, daemon', () => {
  it('reads every key', () => {
    const config = baseConfig();
    config.health = { interval_ms: 500, timeout_ms: 250, fail_threshold: 2, rise_threshold: 5 };
    config.failover = { auto_failback: true };
    config.admin = { http: '127.0.0.1:13380' };
    config.daemon = { pid_file: 'run/mysqlda.pid', log_file: '/var/log/mysqlda.log', log_level: 'WARN' };
    const { config: loaded, warnings } = parse(config);
    expect(loaded.health).toEqual({ intervalMs: 500, timeoutMs: 250, failThreshold: 2, riseThreshold: 5 });
    expect(loaded.failover).toEqual({ autoFailback: true, mode: 'ordered', maxLagSeconds: 30, promoteTimeoutSeconds: 30, user: null, password: null });
    expect(loaded.admin).toEqual({ http: { host: '127.0.0.1', port: 13380 } });
    expect(loaded.daemon).toEqual({ pidFile: '/srv/mysqlda/etc/run/mysqlda.pid', logFile: '/var/log/mysqlda.log', logLevel: 'warn' });
    expect(warnings).toEqual([
      'failover.auto_failback: true: a library goes back to an earlier server as soon as it is up again, even if that server missed writes',
    ]);
  });

  it('reports bad values with their paths', () => {
    const config = baseConfig();
    config.health = { interval_ms: 10, timeout_ms: 'x', fail_threshold: 0, rise_threshold: 1.5 };
    config.failover = { auto_failback: 'no' };
    config.admin = { http: 'localhost' };
    config.daemon = { pid_file: '', log_level: 'loud' };
    expect(problemsOf(config)).toEqual([
      'health.interval_ms: must be an integer 100..3600000, got 10',
      'health.timeout_ms: must be an integer 50..600000, got "x"',
      'health.fail_threshold: must be an integer 1..1000, got 0',
      'health.rise_threshold: must be an integer 1..1000, got 1.5',
      'failover.auto_failback: must be true or false, got "no"',
      'admin.http: must be "host:port" (e.g. "127.0.0.1:13380"; "[::1]:13380" for IPv6), got "localhost"',
      'daemon.pid_file: must not be empty',
      'daemon.log_level: must be one of debug, info, notice, warn, error, fatal, got "loud"',
    ]);
  });

  it('warns about a timeout that is not below the interval, and an admin listener off loopback', () => {
    const config = baseConfig();
    config.health = { interval_ms: 1000, timeout_ms: 1000 };
    config.admin = { http: '0.0.0.0:13380' };
    expect(parse(config).warnings).toEqual([
      'health.timeout_ms: is not below health.interval_ms (1000): a slow check delays the next one',
      'admin.http: listens on 0.0.0.0: the admin endpoints have no authentication; prefer a loopback address',
    ]);
  });

  it('admin.http null is off; host:port forms', () => {
    const config = baseConfig();
    config.admin = { http: null };
    expect(parse(config).config.admin).toEqual({ http: null });
    expect(parseHostPort('[::1]:13380')).toEqual({ host: '::1', port: 13380 });
    expect(parseHostPort('admin.local:0')).toEqual({ host: 'admin.local', port: 0 });
    expect(parseHostPort('::1:13380')).toBeNull();
    expect(parseHostPort('host:123456')).toBeNull();
  });

  it('knows the new top-level keys (no unknown-key warning)', () => {
    const config = baseConfig();
    Object.assign(config, { users: [], tls: null, health: {}, failover: {}, admin: {}, daemon: {} });
    expect(parse(config).warnings).toEqual([]);
  });

  it('reads the statement timing and stop keys: log.slow_query_ms, users[].query_timeout_ms, server.drain_timeout_s', () => {
    const config = baseConfig();
    config.server.drain_timeout_s = 5;
    config.log = { slow_query_ms: 250 };
    config.users = [
      { user: 'batch', pass: 'x', query_timeout_ms: 1500 },
      { user: 'web', pass: 'x', query_timeout_ms: 0 },
    ];
    const { config: loaded, warnings } = parse(config);
    expect(warnings).toEqual([]);
    expect(loaded.shutdown).toEqual({ drainTimeoutSeconds: 5 });
    expect(loaded.log).toEqual({ slowQueryMs: 250 });
    expect(loaded.users[1].queryTimeoutMs).toBe(1500);
    expect('queryTimeoutMs' in loaded.users[2]).toBe(false);
  });

  it('defaults: a 30 s drain, no slow-query log, no statement limit', () => {
    const loaded = parse(baseConfig()).config;
    expect(loaded.shutdown.drainTimeoutSeconds).toBe(DEFAULTS.drainTimeoutSeconds);
    expect(loaded.log.slowQueryMs).toBe(0);
    expect(loaded.users[0].queryTimeoutMs).toBeUndefined();
  });

  it('reports bad statement timing and stop values with their paths', () => {
    const config = baseConfig();
    config.server.drain_timeout_s = -1;
    config.log = { slow_query_ms: 'slow' };
    config.users = [{ user: 'batch', pass: 'x', query_timeout_ms: 1.5 }];
    expect(problemsOf(config)).toEqual([
      'users[0].query_timeout_ms: must be an integer 0..2147483647, got 1.5',
      'server.drain_timeout_s: must be an integer 0..2147483, got -1',
      'log.slow_query_ms: must be an integer 0..2147483647, got "slow"',
    ]);
  });

  // --- server.workers ---
  it('reads server.workers: 1 by default, 1..64', () => {
    expect(parse(baseConfig()).config.workers).toBe(1);
    const config = baseConfig();
    config.server.workers = 4;
    expect(parse(config).config.workers).toBe(4);
  });

  it('reports a server.workers outside 1..64 with its path', () => {
    const config = baseConfig();
    config.server.workers = 0;
    expect(problemsOf(config)).toEqual(['server.workers: must be an integer 1..64, got 0']);
    config.server.workers = 65;
    expect(problemsOf(config)).toEqual(['server.workers: must be an integer 1..64, got 65']);
  });
});
