import { describe, expect, it } from 'vitest';
import { candidateProblem, chooseMostAdvanced, followReadOnly, type ServerFacts } from '../../src/backend/failover-policy.js';
import type { ReplicationState } from '../../src/backend/server-health.js';

const servers = ['master:3306', 'replica1:3306', 'replica2:3306'];

const replica = (gtidExecuted: string | null, more: Partial<ReplicationState> = {}): ReplicationState => ({
  replicating: true,
  source: 'master:3306',
  ioRunning: false,
  sqlRunning: true,
  lagSeconds: null,
  lastError: null,
  lastErrorThread: null,
  gtidExecuted,
  gtidBinlog: gtidExecuted,
  ...more,
});

function facts(map: Record<string, Partial<ServerFacts>>) {
  return (server: string): ServerFacts => ({ status: 'unknown', readOnly: null, replication: undefined, lastKnownLagSeconds: null, ...map[server] });
}

const masterDown = { status: 'down' as const };

describe('most_advanced: the replica whose executed GTID position holds every other', () => {
  it('picks the replica furthest ahead, wherever it is in the list', () => {
    const of = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: replica('0-1-40'), lastKnownLagSeconds: 0 },
      'replica2:3306': { status: 'up', replication: replica('0-1-42'), lastKnownLagSeconds: 0 },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', of, 30)).toEqual({ to: 'replica2:3306' });
  });

  it('takes list order on a tie, and compares MariaDB positions per domain', () => {
    const tie = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: replica('0-1-42,1-2-7') },
      'replica2:3306': { status: 'up', replication: replica('1-2-7,0-1-42') },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', tie, 30)).toEqual({ to: 'replica1:3306' });
    const diverged = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: replica('0-1-43,1-2-6') },
      'replica2:3306': { status: 'up', replication: replica('0-1-42,1-2-7') },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', diverged, 30)).toEqual({
      refused: expect.stringContaining("the candidates' GTID positions diverge"),
    });
  });

  it('compares MySQL GTID sets by containment', () => {
    const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    const of = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: replica(`${uuid}:1-100`) },
      'replica2:3306': { status: 'up', replication: replica(`${uuid}:1-99`) },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', of, 30)).toEqual({ to: 'replica1:3306' });
  });

  it('leaves out servers that are not up, are excluded, or whose position is unknown', () => {
    const of = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: null },
      'replica2:3306': { status: 'up', replication: replica('0-1-3') },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', of, 30)).toEqual({ to: 'replica2:3306' });
    expect(chooseMostAdvanced(servers, 'master:3306', of, 30, (server) => server === 'replica2:3306')).toEqual({
      refused: "no candidate's GTID position is known (replica1:3306: GTID position unknown, no candidate)",
    });
    expect(chooseMostAdvanced(servers, 'master:3306', facts({ 'master:3306': masterDown, 'replica1:3306': { status: 'down' } }), 30)).toBeNull();
  });

  it('refuses the choice when it lagged past max_lag_s at its last reading, or does not apply what it receives', () => {
    const lagging = facts({
      'master:3306': masterDown,
      'replica1:3306': { status: 'up', replication: replica('0-1-42'), lastKnownLagSeconds: 45 },
      'replica2:3306': { status: 'up', replication: replica('0-1-41'), lastKnownLagSeconds: 0 },
    });
    expect(chooseMostAdvanced(servers, 'master:3306', lagging, 30)).toEqual({
      refused: 'the most advanced candidate replica1:3306 at 0-1-42 lagged 45 s behind its master at its last reading (failover.max_lag_s 30)',
    });
    expect(chooseMostAdvanced(servers, 'master:3306', lagging, 60)).toEqual({ to: 'replica1:3306' });
    const broken = replica('0-1-42', { sqlRunning: false, lastError: "SQL thread: Duplicate entry 'x' (1062)", lastErrorThread: 'sql' });
    expect(candidateProblem('replica1:3306', { status: 'up', readOnly: false, replication: broken, lastKnownLagSeconds: 0 }, 30)).toBe(
      "the most advanced candidate replica1:3306 at 0-1-42 cannot take it: its replication broke: SQL thread: Duplicate entry 'x' (1062)",
    );
    const held = replica('0-1-42', { sqlRunning: false });
    expect(candidateProblem('replica1:3306', { status: 'up', readOnly: false, replication: held, lastKnownLagSeconds: 0 }, 30)).toContain('its SQL thread is stopped');
  });

  it('an IO thread error (its master is gone) is no reason to refuse; a server that does not replicate is never refused', () => {
    const reconnecting = replica('0-1-42', { ioRunning: false, lastError: "IO thread: Can't connect (2003)", lastErrorThread: 'io' });
    expect(candidateProblem('replica1:3306', { status: 'up', readOnly: false, replication: reconnecting, lastKnownLagSeconds: 1 }, 30)).toBeNull();
    const standalone = { ...replica('0-1-42'), replicating: false, sqlRunning: null };
    expect(candidateProblem('master:3306', { status: 'up', readOnly: false, replication: standalone, lastKnownLagSeconds: null }, 0)).toBeNull();
  });
});

describe('follow_read_only: the one writable server', () => {
  it('moves to the server an external manager made writable', () => {
    const of = facts({ 'master:3306': { status: 'up', readOnly: true }, 'replica1:3306': { status: 'up', readOnly: false }, 'replica2:3306': { status: 'up', readOnly: true } });
    expect(followReadOnly(servers, 'master:3306', of)).toEqual({ to: 'replica1:3306', reason: 'read_only' });
    expect(followReadOnly(servers, 'replica1:3306', of)).toBeNull();
  });

  it('stays when no server is writable or the writable one is down', () => {
    const of = facts({ 'master:3306': { status: 'down', readOnly: false }, 'replica1:3306': { status: 'up', readOnly: true } });
    expect(followReadOnly(servers, 'master:3306', of)).toBeNull();
  });

  it('does not move when two servers are writable (split-brain guard)', () => {
    const of = facts({ 'master:3306': { status: 'up', readOnly: false }, 'replica1:3306': { status: 'up', readOnly: false }, 'replica2:3306': { status: 'up', readOnly: true } });
    expect(followReadOnly(servers, 'replica2:3306', of)).toEqual({ splitBrain: ['master:3306', 'replica1:3306'] });
  });
});
