import { describe, expect, it } from 'vitest';
import { parseConfigTextWithWarnings } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { configProblems } from './problems.js';

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

function configWith(users: unknown[]): Record<string, unknown> {
  return {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'Pw-1Secret', db: 'appdb' },
    forwards: [{ instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }, { ip: '10.0.0.2', port: 3306 }] }],
    users,
  };
}

const parse = (config: unknown) => parseConfigTextWithWarnings(JSON.stringify(config), CONFIG_PATH);

describe('users[].reads and users[].max_replica_lag_s', () => {
  it('reads an account that reads from replicas, with its own bound or the default one', () => {
    const { config, warnings } = parse(
      configWith([
        { user: 'reports', pass: 'x', reads: 'replica', max_replica_lag_s: 30 },
        { user: 'dash', pass: 'x', reads: 'replica' },
        { user: 'web', pass: 'x', max_replica_lag_s: 2 },
        { user: 'plain', pass: 'x', reads: 'current' },
      ]),
    );
    expect(config.users[1].replicaReads).toEqual({ replicaByDefault: true, maxLagSeconds: 30 });
    expect(config.users[2].replicaReads).toEqual({ replicaByDefault: true, maxLagSeconds: DEFAULTS.maxReplicaLagSeconds });
    expect(config.users[3].replicaReads).toEqual({ replicaByDefault: false, maxLagSeconds: 2 });
    expect('replicaReads' in config.users[4]).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('reports a bad mode or bound with its path', () => {
    expect(configProblems(() => parse(configWith([{ user: 'r', pass: 'x', reads: 'replicas', max_replica_lag_s: -1 }])))).toEqual([
      'users[0].reads: must be "current" (the library\'s current server) or "replica" (read-only, on a fresh enough replica), got "replicas"',
    ]);
    expect(configProblems(() => parse(configWith([{ user: 'r', pass: 'x', reads: 'replica', max_replica_lag_s: 90_000 }])))).toEqual([
      'users[0].max_replica_lag_s: must be an integer 0..86400, got 90000',
    ]);
  });
});
