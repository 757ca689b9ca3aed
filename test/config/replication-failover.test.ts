import { describe, expect, it } from 'vitest';
import { diffConfigs } from '../../src/config/diff.js';
import { parseConfigTextWithWarnings } from '../../src/config/load.js';
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

const parse = (config: unknown) => parseConfigTextWithWarnings(JSON.stringify(config), CONFIG_PATH);

describe('replication-aware failover keys', () => {
  it('default to ordered failover, 30 s of lag and promotion time, the servers\' own credentials', () => {
    const { config } = parse(baseConfig());
    expect(config.failover).toEqual({ autoFailback: false, mode: 'ordered', maxLagSeconds: 30, promoteTimeoutSeconds: 30, user: null, password: null });
    expect(config.libraries.map((library) => library.failoverMode)).toEqual([undefined, undefined]);
  });

  it('reads failover.mode, max_lag_s, promote_timeout_s, user, pass and a library\'s failover_mode', () => {
    const document = baseConfig();
    document.failover = { mode: 'promote', max_lag_s: 5, promote_timeout_s: 10, user: 'mysqlda_failover', pass: 'Fo-secret' };
    document.forwards[1].failover_mode = 'follow_read_only';
    const { config, warnings } = parse(document);
    expect(config.failover).toEqual({ autoFailback: false, mode: 'promote', maxLagSeconds: 5, promoteTimeoutSeconds: 10, user: 'mysqlda_failover', password: 'Fo-secret' });
    expect(config.libraries.map((library) => library.failoverMode)).toEqual([undefined, 'follow_read_only']);
    expect(warnings).toEqual([]);
  });

  it('warns that auto_failback does not apply to the replication-aware modes', () => {
    const document = baseConfig();
    document.failover = { mode: 'most_advanced', auto_failback: true };
    expect(parse(document).warnings).toContain('failover.auto_failback: applies to failover.mode "ordered" only; "most_advanced" chooses its server by itself');
  });

  it('reports unknown modes and out-of-range numbers with their paths, never the password', () => {
    const document = baseConfig();
    document.failover = { mode: 'newest', max_lag_s: -1, promote_timeout_s: 0, user: '', pass: 42 };
    document.forwards[0].failover_mode = 'fastest';
    const problems = configProblems(() => parse(document));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^forwards\[0\]\.failover_mode: must be one of ordered, most_advanced, promote, follow_read_only, got "fastest"/),
        expect.stringMatching(/^failover\.mode: must be one of ordered, most_advanced, promote, follow_read_only, got "newest"/),
        expect.stringMatching(/^failover\.max_lag_s: /),
        expect.stringMatching(/^failover\.promote_timeout_s: /),
        expect.stringMatching(/^failover\.user: /),
        expect.stringMatching(/^failover\.pass: /),
      ]),
    );
    expect(problems.join('\n')).not.toContain('42');
  });

  it('a reload applies mode changes, per library too, and names them without the password', () => {
    const old = parse(baseConfig()).config;
    const document = baseConfig();
    document.failover = { mode: 'most_advanced', user: 'fo', pass: 'Fo-secret' };
    document.forwards[0].failover_mode = 'promote';
    const diff = diffConfigs(old, parse(document).config);
    expect(diff.failover).toBe(true);
    expect(diff.restartNeeded).toEqual([]);
    expect(diff.changes).toEqual(
      expect.arrayContaining([
        'failover.mode ordered → most_advanced',
        'failover.user/pass changed; the next promotion uses them',
        'failover mode of lib_a (failover.mode) → promote',
      ]),
    );
    expect(diff.changes.join('\n')).not.toContain('Fo-secret');
  });
});
