import { describe, expect, it } from 'vitest';
import { diffConfigs, isReordered } from '../../src/config/diff.js';
import { parseConfigText } from '../../src/config/load.js';
import type { MysqldaConfig } from '../../src/config/types.js';

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

function config(change: (document: Record<string, any>) => void = () => {}): MysqldaConfig {
  const document: Record<string, any> = {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'pw', db: 'appdb' },
    forwards: [
      { instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }, { ip: '10.0.0.2', port: 3306 }] },
      { instance: 'lib_b', forward: [{ ip: '10.0.1.1', port: 3306 }] },
    ],
  };
  change(document);
  return parseConfigText(JSON.stringify(document), CONFIG_PATH);
}

describe('diffConfigs', () => {
  it('finds nothing between equal configs', () => {
    const diff = diffConfigs(config(), config());
    expect(diff.changes).toEqual([]);
    expect(diff.restartNeeded).toEqual([]);
  });

  it('needs a restart for another listen address, port or save directory', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.server.listen_port = 13307;
        d.storage = { save_dir: '/data' };
      }),
    );
    expect(diff.restartNeeded).toEqual([
      'the listen address changes from 127.0.0.1:13306 to 127.0.0.1:13307',
      'the save directory changes from /srv/mysqlda/etc to /data',
    ]);
  });

  it('lists added and removed libraries, weights and the library order', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.forwards = [
          { instance: 'lib_c', weight: 2, forward: [{ ip: '10.0.2.1', port: 3306 }] },
          { instance: 'lib_a', weight: 3, forward: d.forwards[0].forward },
        ];
      }),
    );
    expect(diff.librariesAdded).toEqual(['lib_c']);
    expect(diff.librariesRemoved).toEqual(['lib_b']);
    expect(diff.weightsChanged).toEqual([{ library: 'lib_a', from: 1, to: 3 }]);
    expect(diff.libraryOrderChanged).toBe(false);
    expect(diff.changes).toEqual(['library lib_c added', 'library lib_b removed', 'library lib_a: weight 1 → 3']);
    expect(diffConfigs(config(), config((d) => d.forwards.reverse())).changes).toEqual([
      'library order changed (it breaks ties when new keys are assigned)',
    ]);
  });

  it('lists servers added, removed, reordered and with new credentials, per library', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.forwards[0].forward = [
          { ip: '10.0.0.2', port: 3306, pass: 'new' },
          { ip: '10.0.0.1', port: 3306 },
          { ip: '10.0.0.3', port: 3306 },
        ];
        d.forwards[1].forward = [{ ip: '10.0.1.2', port: 3306 }];
      }),
    );
    expect(diff.servers).toEqual([
      { library: 'lib_a', added: ['10.0.0.3:3306'], removed: [], reordered: true, changed: ['10.0.0.2:3306'] },
      { library: 'lib_b', added: ['10.0.1.2:3306'], removed: ['10.0.1.1:3306'], reordered: false, changed: [] },
    ]);
    expect(diff.changes).toEqual([
      'server 10.0.0.3:3306 added to lib_a',
      'failover order of lib_a changed: the library starts again at its first server',
      'server 10.0.0.2:3306 of lib_a: credentials or TLS changed',
      'server 10.0.1.2:3306 added to lib_b',
      'server 10.0.1.1:3306 removed from lib_b',
    ]);
    expect(diff.changes.join('\n')).not.toContain('new');
  });

  it('lists pool, users, TLS-off, health, failover, admin, log level and daemon file changes without secrets', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.session_pool = { unused_forward_session_timeout: 5, max_connections_per_server: 7, connect_timeout_ms: 500 };
        d.users = [{ user: 'ops', pass: 'very-secret', admin: true }];
        d.health = { interval_ms: 500, timeout_ms: 200, fail_threshold: 1, rise_threshold: 1 };
        d.failover = { auto_failback: true };
        d.admin = { http: '127.0.0.1:0' };
        d.daemon = { log_level: 'debug', pid_file: 'x.pid' };
      }),
    );
    expect(diff).toMatchObject({ pool: true, users: true, tls: false, health: true, failover: true, admin: true, daemonFiles: true });
    expect(diff.logLevel).toEqual({ from: null, to: 'debug' });
    expect(diff.changes).toEqual([
      'session_pool: idle 60 s, max 100, connect 3000 ms, reset within 5 ms → idle 5 s, max 7, connect 500 ms, reset within 5 ms',
      'client accounts changed (1 → 2); new logins use them',
      'health checks: every 2000 ms, timeout 1000 ms, down after 3, up after 2 → every 500 ms, timeout 200 ms, down after 1, up after 1',
      'failover.auto_failback false → true',
      'admin HTTP listener off → 127.0.0.1:0',
      'log level (command line) → debug',
      'daemon pid_file/log_file changed: used from the next start',
    ]);
    expect(diff.changes.join('\n')).not.toMatch(/very-secret|\*[0-9A-F]{40}/);
  });

  it('lists a new drain timeout and slow-query threshold', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.server.drain_timeout_s = 10;
        d.log = { slow_query_ms: 100 };
      }),
    );
    expect(diff).toMatchObject({ drainTimeout: true, slowQuery: true, restartNeeded: [] });
    expect(diff.changes).toEqual(['server.drain_timeout_s 30 → 10', 'log.slow_query_ms 0 → 100 (0: off)']);
  });

  it('a password change of the auth block is a change of accounts and of every server', () => {
    const diff = diffConfigs(config(), config((d) => (d.auth.pass = 'rotated')));
    expect(diff.users).toBe(true);
    expect(diff.servers.map((s) => s.changed)).toEqual([['10.0.0.1:3306', '10.0.0.2:3306'], ['10.0.1.1:3306']]);
  });
});

describe('isReordered', () => {
  it('is true only when servers kept in both lists changed their relative order', () => {
    expect(isReordered(['a', 'b', 'c'], ['a', 'b', 'c', 'd'])).toBe(false);
    expect(isReordered(['a', 'b', 'c'], ['a', 'c'])).toBe(false);
    expect(isReordered(['a', 'b', 'c'], ['x', 'a', 'b', 'c'])).toBe(false);
    expect(isReordered(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(isReordered(['a', 'b', 'c'], ['a', 'c', 'b'])).toBe(true);
  });

  // --- server.workers ---
  it('lists a new server.workers as used from the next start, without refusing the reload', () => {
    const diff = diffConfigs(
      config(),
      config((d) => {
        d.server.workers = 2;
      }),
    );
    expect(diff.restartNeeded).toEqual([]);
    expect(diff.changes).toEqual(['server.workers 1 → 2: used from the next start']);
  });
});
