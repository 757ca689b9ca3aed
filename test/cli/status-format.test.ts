import { describe, expect, it } from 'vitest';
import { formatDuration, formatStatus } from '../../src/cli/status-format.js';
import type { DaemonStatus } from '../../src/supervisor/control-protocol.js';

const proxy: NonNullable<DaemonStatus['proxy']> = {
  version: '1.0.0',
  pid: 4321,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 3_725,
  listen: '127.0.0.1:13306',
  sessions: { open: 12, routed: 10 },
  libraries: [
    {
      name: 'mysqlda1',
      weight: 1,
      keys: 120_000,
      currentServer: '10.0.0.1:3306',
      servers: [
        { address: '10.0.0.1:3306', state: 'up' },
        { address: '10.0.0.2:3306', state: 'up' },
      ],
    },
    { name: 'mysqlda22', weight: 3, keys: 7, currentServer: null, servers: [{ address: '10.0.1.1:3306', state: 'down' }] },
  ],
};

const daemon: DaemonStatus = {
  mode: 'daemon',
  version: '1.0.0',
  pid: 4300,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 90_061,
  configPath: '/etc/mysqlda/mysqlda.conf',
  logFile: '/var/log/mysqlda/mysqlda.log',
  worker: { pid: 4321, phase: 'serving', restarts: 1, lastExit: 'was killed by SIGKILL' },
  proxy,
};

describe('formatStatus (mysqlda -a status)', () => {
  it('shows supervisor, worker, listen address, sessions and every library with its current server and keys', () => {
    expect(formatStatus(daemon)).toBe(
      [
        'mysqlda v1.0.0 is running (daemon)',
        '  supervisor   pid 4300, up 1d 1h 1m 1s',
        '  worker       pid 4321, serving, up 1h 2m 5s, 1 restart (last exit: was killed by SIGKILL)',
        '  config       /etc/mysqlda/mysqlda.conf',
        '  log file     /var/log/mysqlda/mysqlda.log',
        '  listening    127.0.0.1:13306',
        '  sessions     12 open, 10 routed to a library',
        '  libraries',
        '    NAME       WEIGHT    KEYS  CURRENT SERVER  SERVERS',
        '    mysqlda1        1  120000  10.0.0.1:3306   10.0.0.1:3306 up, 10.0.0.2:3306 up',
        '    mysqlda22       3       7  -               10.0.1.1:3306 down',
        '',
      ].join('\n'),
    );
  });

  it('shows each library\'s epoch and whether the failover state store answers, when the proxy reports them', () => {
    const shared = {
      ...proxy,
      libraries: proxy.libraries.map((library, i) => ({ ...library, epoch: i + 4 })),
      failoverState: { kind: 'mysql' as const, location: '10.0.9.1:3306', reachable: false, lastError: 'connect ECONNREFUSED', since: '2026-01-01T00:00:02.000Z' },
    };
    const text = formatStatus({ ...daemon, proxy: shared });
    expect(text).toContain('  failover     state in mysql 10.0.9.1:3306, UNREACHABLE since 2026-01-01T00:00:02.000Z (connect ECONNREFUSED): no library fails over\n');
    expect(text).toContain('    NAME       WEIGHT    KEYS  EPOCH  CURRENT SERVER  SERVERS\n');
    expect(text).toContain('    mysqlda1        1  120000      4  10.0.0.1:3306   10.0.0.1:3306 up, 10.0.0.2:3306 up\n');
  });

  it('adds each server\'s replication and the libraries whose failover waits for an operator', () => {
    const replica = { replicating: true, source: '10.0.0.1:3306', ioRunning: false, sqlRunning: true, lagSeconds: null, lastError: "IO thread: Can't connect (2003)", gtidExecuted: '0-1-42', gtidBinlog: '0-1-42', lastKnownLagSeconds: 45 };
    const withReplication = {
      ...proxy,
      libraries: [
        {
          ...proxy.libraries[0],
          currentServer: null,
          failover: { mode: 'most_advanced' as const, phase: 'refused' as const, detail: '10.0.0.1:3306 is down and the most advanced candidate lagged 45 s' },
          servers: [
            { address: '10.0.0.1:3306', state: 'down' as const, replication: { ...replica, replicating: false, source: null, ioRunning: null, sqlRunning: null, lastError: null, lastKnownLagSeconds: null } },
            { address: '10.0.0.2:3306', state: 'up' as const, replication: replica },
          ],
        },
        { ...proxy.libraries[1], servers: [{ address: '10.0.1.1:3306', state: 'down' as const, replication: null }] },
      ],
    };
    expect(formatStatus({ ...daemon, proxy: withReplication }).split('\n').slice(11)).toEqual([
      '  replication',
      '    10.0.0.1:3306  not a replica, gtid 0-1-42',
      "    10.0.0.2:3306  replica of 10.0.0.1:3306, io no, sql yes, lag unknown, gtid 0-1-42, error: IO thread: Can't connect (2003)",
      '    10.0.1.1:3306  unknown (no privilege to read the replica status)',
      '  failover',
      '    mysqlda1  most_advanced: refused: 10.0.0.1:3306 is down and the most advanced candidate lagged 45 s',
      '',
    ]);
  });

  it('says when no worker is serving', () => {
    const text = formatStatus({ ...daemon, worker: { pid: null, phase: 'restarting', restarts: 3, lastExit: 'exited with status 1' }, proxy: null });
    expect(text).toContain('  worker       no pid, restarting, 3 restarts (last exit: exited with status 1)\n');
    expect(text).toMatch(/ {2}not serving: no worker is running at the moment\n$/);
  });

  it('shows one pid and stdout in foreground mode', () => {
    const text = formatStatus({ ...daemon, mode: 'foreground', worker: null, logFile: null, uptimeSeconds: 59 });
    expect(text).toMatch(/^mysqlda v1\.0\.0 is running \(foreground, --no-daemon\)\n {2}pid {10}4300, up 59s\n/);
    expect(text).toContain('  log file     stdout\n');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [60, '1m 0s'],
    [3_600, '1h 0m 0s'],
    [86_400 * 400 + 1, '400d 0h 0m 1s'],
  ])('%d s is %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('lists every worker of a group with its pid, phase, restarts and sessions', () => {
    const group: DaemonStatus = {
      ...daemon,
      workers: [
        { slot: 0, pid: 4321, phase: 'serving', restarts: 1, lastExit: 'was killed by SIGKILL', sessions: 7 },
        { slot: 1, pid: null, phase: 'restarting', restarts: 0, lastExit: null, sessions: null },
      ],
    };
    const lines = formatStatus(group).split('\n');
    expect(lines.slice(1, 5)).toEqual([
      '  supervisor   pid 4300, up 1d 1h 1m 1s',
      '  workers      1 of 2 serving',
      '    #0  pid 4321, serving, 1 restart (last exit: was killed by SIGKILL), 7 sessions',
      '    #1  no pid, restarting, 0 restarts',
    ]);
    expect(lines).toContain('  sessions     12 open, 10 routed to a library');
  });
});

describe('formatStatus with the shared directory', () => {
  it('shows the directory, and while it is unavailable, what that means and why', () => {
    const up = formatStatus({ ...daemon, proxy: { ...proxy, directory: { kind: 'mysql', available: true, location: '10.0.9.1:3306', lastError: null, since: '2026-01-01T00:00:00.000Z', errors: 0 } } });
    expect(up).toContain('\n  directory    mysql 10.0.9.1:3306, available since 2026-01-01T00:00:00.000Z\n');
    const down = formatStatus({
      ...daemon,
      proxy: { ...proxy, directory: { kind: 'mysql', available: false, location: '10.0.9.2:3306', lastError: '10.0.9.1:3306: connect ECONNREFUSED', since: '2026-01-01T00:01:00.000Z', errors: 3 } },
    });
    expect(down).toContain(
      '\n  directory    mysql 10.0.9.2:3306, UNAVAILABLE since 2026-01-01T00:01:00.000Z (new keys get 7107; known keys route): 10.0.9.1:3306: connect ECONNREFUSED\n',
    );
  });
});
