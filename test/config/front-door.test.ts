import { describe, expect, it } from 'vitest';
import { parseConfigTextWithWarnings } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { diffConfigs } from '../../src/config/diff.js';
import { configProblems } from './problems.js';

function baseConfig(): Record<string, any> {
  return {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'pw', db: 'appdb' },
    forwards: [
      { instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }] },
      { instance: 'lib_b', forward: [{ ip: '10.0.1.1', port: 3306 }] },
    ],
  };
}

const parse = (config: unknown) => parseConfigTextWithWarnings(JSON.stringify(config), '/srv/mysqlda/etc/mysqlda.conf');

const problemsOf = (config: unknown) => configProblems(() => parse(config));

describe('the front door keys of server', () => {
  it('take their defaults from schema.ts, with no rules', () => {
    const { config, warnings } = parse(baseConfig());
    expect(config.frontDoor).toEqual({ ...DEFAULTS.frontDoor, allow: null });
    expect(config.rules).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('read limits, timeouts and the allow list', () => {
    const document = baseConfig();
    Object.assign(document.server, { max_connections: 50, login_timeout_ms: 2000, client_idle_timeout_s: 0, allow: ['10.0.0.0/8', '::1'], max_login_failures: 0 });
    const { config } = parse(document);
    expect(config.frontDoor).toMatchObject({ maxConnections: 50, loginTimeoutMs: 2000, clientIdleTimeoutSeconds: 0, allow: ['10.0.0.0/8', '::1'], maxLoginFailures: 0 });
  });

  it('report every bad value with its path', () => {
    const document = baseConfig();
    Object.assign(document.server, { max_connections: 0, allow: ['10.0.0.0/40', 'db.example.com'], max_lobby_packet_bytes: 10 });
    expect(problemsOf(document)).toEqual([
      'server.max_connections: must be an integer 1..1000000, got 0',
      'server.allow[0]: the prefix length must be 0..32, got "10.0.0.0/40"',
      'server.allow[1]: an IP address or a CIDR block (a.b.c.d/n, x::/n) is expected, got "db.example.com"',
      'server.max_lobby_packet_bytes: must be an integer 1024..16777216, got 10',
    ]);
  });
});

describe('account limits', () => {
  it('read hosts, max_connections and max_queries_per_second of each account', () => {
    const document = { ...baseConfig(), users: [{ user: 'report', pass: 'x', hosts: ['192.0.2.0/24'], max_connections: 5, max_queries_per_second: 100 }] };
    const { config } = parse(document);
    expect(config.users[1]).toMatchObject({ user: 'report', hosts: ['192.0.2.0/24'], maxConnections: 5, maxQueriesPerSecond: 100 });
    expect(config.users[0]).toMatchObject({ hosts: null, maxConnections: null, maxQueriesPerSecond: null });
  });
});

describe('rules', () => {
  it('read each rule, naming unnamed ones by their path and giving a default message', () => {
    const document = { ...baseConfig(), users: [{ user: 'report', pass: 'x' }], rules: [{ match: 'drop\\s+table', action: 'block' }, { name: 'r2', match: 'x', users: ['report'], libraries: ['lib_b'], action: 'block', message: 'no' }] };
    const { config } = parse(document);
    expect(config.rules).toEqual([
      { name: 'rules[0]', match: 'drop\\s+table', users: null, libraries: null, action: 'block', message: "Statement blocked by mysqlda rule 'rules[0]'" },
      { name: 'r2', match: 'x', users: ['report'], libraries: ['lib_b'], action: 'block', message: 'no' },
    ]);
  });

  it('refuse a bad pattern, an unknown account or library, an unknown action and a repeated name', () => {
    const document = {
      ...baseConfig(),
      rules: [
        { name: 'a', match: '(', action: 'block' },
        { name: 'b', match: 'x', users: ['ghost'], libraries: ['lib_z'], action: 'block' },
        { name: 'c', match: 'x', action: 'rewrite' },
        { name: 'c', match: 'y', action: 'block' },
      ],
    };
    const problems = problemsOf(document);
    expect(problems).toEqual([
      expect.stringMatching(/^rules\[0\]\.match: is not a valid regular expression/),
      'rules[1].users: no account is called "ghost"',
      'rules[1].libraries: no library is called "lib_z"',
      'rules[2].action: must be "block", got "rewrite"',
      'rules[3].name: rule name "c" is used twice',
    ]);
  });

  it('show in a reload diff, as do the server limits', () => {
    const before = parse(baseConfig()).config;
    const document = baseConfig();
    document.server.max_connections = 5;
    const after = parse({ ...document, rules: [{ match: 'x', action: 'block' }] }).config;
    const diff = diffConfigs(before, after);
    expect(diff.frontDoor).toBe(true);
    expect(diff.rules).toBe(true);
    expect(diff.restartNeeded).toEqual([]);
  });
});

describe('limits of the auth account', () => {
  it('are read from the auth block, for configs with mysqlda\'s single account', () => {
    const document = baseConfig();
    Object.assign(document.auth, { hosts: ['10.0.0.0/8'], max_connections: 100, max_queries_per_second: 2000 });
    const { config, warnings } = parse(document);
    expect(config.users[0]).toMatchObject({ user: 'app', hosts: ['10.0.0.0/8'], maxConnections: 100, maxQueriesPerSecond: 2000 });
    expect(config.auth).toEqual({ user: 'app', password: 'pw', database: 'appdb' });
    expect(warnings).toEqual([]);
  });
});

describe('statement timeouts', () => {
  it('are read on users[] accounts and on the auth block; 0 or absent leaves the key out', () => {
    const document = baseConfig();
    Object.assign(document.auth, { query_timeout_ms: 5000 });
    const { config } = parse({ ...document, users: [{ user: 'a', pass: 'x', query_timeout_ms: 0 }, { user: 'b', pass: 'x', query_timeout_ms: 250 }] });
    expect(config.users.map((user) => user.queryTimeoutMs)).toEqual([5000, undefined, 250]);
    expect('queryTimeoutMs' in config.users[1]).toBe(false);
  });
});
