import { describe, expect, it } from 'vitest';
import type { LibraryMove } from '../../src/backend/current-servers.js';
import type { PromotionPlan, PromotionResult } from '../../src/backend/promotion.js';
import { ReplicationFailover } from '../../src/backend/replication-failover.js';
import { ServerHealthBook, type ReplicationState } from '../../src/backend/server-health.js';
import type { FailoverConfig, LibraryConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';

const server = (host: string) => ({ host, port: 3306, user: 'app', password: 'pw', database: 'db', tls: null });
const LIBRARY: LibraryConfig = { name: 'lib', weight: 1, servers: [server('m'), server('r1'), server('r2')] };
const SETTINGS: FailoverConfig = { autoFailback: false, mode: 'promote', maxLagSeconds: 5, promoteTimeoutSeconds: 3, user: 'fo', password: 'fo-pw' };
const ADDRESSES = ['m:3306', 'r1:3306', 'r2:3306'];

const replica = (gtidExecuted: string, lagSeconds = 0): ReplicationState => ({
  replicating: true,
  source: 'm:3306',
  ioRunning: true,
  sqlRunning: true,
  lagSeconds,
  lastError: null,
  lastErrorThread: null,
  gtidExecuted,
  gtidBinlog: gtidExecuted,
});

/** A book where the master is down and r2 is ahead of r1; a promotion runner the test settles by hand. */
function setUp(settings: FailoverConfig = SETTINGS, r2Lag = 0) {
  const health = new ServerHealthBook({ failThreshold: 1, riseThreshold: 1 });
  health.track(ADDRESSES);
  health.record('m:3306', { ok: false, error: 'refused', conclusive: true });
  health.record('r1:3306', { ok: true, readOnly: false, replication: replica('0-1-40') });
  health.record('r2:3306', { ok: true, readOnly: false, replication: replica('0-1-42', r2Lag) });
  const plans: PromotionPlan[] = [];
  const settle: ((result: PromotionResult) => void)[] = [];
  const runner = (plan: PromotionPlan) => {
    plans.push(plan);
    return new Promise<PromotionResult>((resolve) => settle.push(resolve));
  };
  const failover = new ReplicationFailover(settings, health, silentLogger(), runner);
  return { health, failover, plans, settle };
}

const move = (to: string, reason: LibraryMove['reason'] = 'down', won = true): LibraryMove => ({ library: 'lib', from: 'm:3306', to, reason, epoch: 2, won });
const none = () => false;

describe('ReplicationFailover (promote mode)', () => {
  it('moves to the most advanced replica, promotes it with failover.user, and holds the library until that is done', async () => {
    const { failover, plans, settle } = setUp();
    expect(failover.decide(LIBRARY, ADDRESSES, 'm:3306', none)).toEqual({ to: 'r2:3306', reason: 'down' });
    failover.moved(LIBRARY, move('r2:3306'));
    expect(failover.holdReason('lib')).toMatch(/^r2:3306 is being promoted to master/);
    expect(plans).toEqual([
      {
        library: 'lib',
        target: { ...server('r2'), user: 'fo', password: 'fo-pw', database: '' },
        replicas: [{ ...server('r1'), user: 'fo', password: 'fo-pw', database: '' }],
        timeoutMs: 3000,
        force: false,
      },
    ]);
    settle[0]({ ok: true, repointed: ['r1:3306'], notRepointed: [] });
    await failover.settled();
    expect(failover.holdReason('lib')).toBeNull();
    expect(failover.phaseOf('lib')).toEqual({ phase: 'serving' });
  });

  it('a failed promotion keeps the library on 7106 with the reason; the operator retries it, or forces the server as it is', async () => {
    const { failover, plans, settle } = setUp();
    failover.moved(LIBRARY, move('r2:3306'));
    settle[0]({ ok: false, step: 'catch up', error: 'it did not apply what it received' });
    await failover.settled();
    expect(failover.holdReason('lib')).toBe(
      'the promotion of r2:3306 failed: catch up: it did not apply what it received; retry with `failback library lib to r2:3306`, or serve from it as it is with `failback library lib to r2:3306 force`',
    );
    expect(failover.checkOperatorMove(LIBRARY, 'r2:3306', 'r2:3306', false)).toEqual({ ok: true, retried: 'the promotion of r2:3306 for library lib is retried' });
    expect(plans).toHaveLength(2);
    settle[1]({ ok: false, step: 'RESET SLAVE ALL', error: 'denied' });
    await failover.settled();
    expect(failover.checkOperatorMove(LIBRARY, 'r2:3306', 'r2:3306', true)).toEqual({ ok: true, retried: 'library lib serves from r2:3306 as it is (forced)' });
    expect(failover.holdReason('lib')).toBeNull();
  });

  it('refuses a lagging choice until an operator forces a server, which then is promoted skipping the catch-up', async () => {
    const { failover, plans } = setUp(SETTINGS, 9);
    expect(failover.decide(LIBRARY, ADDRESSES, 'm:3306', none)).toBeNull();
    expect(failover.holdReason('lib')).toMatch(/^m:3306 is down and the most advanced candidate r2:3306 at 0-1-42 lagged 9 s .*`failback library lib to <host:port> force`$/);
    expect(failover.checkOperatorMove(LIBRARY, 'm:3306', 'r2:3306', false)).toEqual({ ok: false, error: expect.stringContaining('add `force`') });
    expect(failover.checkOperatorMove(LIBRARY, 'm:3306', 'r2:3306', true)).toEqual({ ok: true });
    failover.operatorMoved(LIBRARY, move('r2:3306', 'operator'), true);
    expect(plans.map((plan) => [plan.target.host, plan.force])).toEqual([['r2', true]]);
  });

  it('a late result of a promotion superseded by another move is dropped', async () => {
    const { failover, settle } = setUp();
    failover.moved(LIBRARY, move('r2:3306'));
    failover.moved(LIBRARY, { library: 'lib', from: 'r2:3306', to: 'r1:3306', reason: 'down', epoch: 3, won: true });
    settle[0]({ ok: false, step: 'connect', error: 'gone' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(failover.phaseOf('lib')).toMatchObject({ phase: 'promoting', target: 'r1:3306' });
  });

  it('ordered libraries are left to the list-order policy; most_advanced moves without promoting', () => {
    const { failover, plans } = setUp({ ...SETTINGS, mode: 'ordered' });
    expect(failover.decide(LIBRARY, ADDRESSES, 'm:3306', none)).toBeUndefined();
    const advanced = { ...LIBRARY, failoverMode: 'most_advanced' as const };
    expect(failover.decide(advanced, ADDRESSES, 'm:3306', none)).toEqual({ to: 'r2:3306', reason: 'down' });
    failover.moved(advanced, move('r2:3306'));
    expect(plans).toEqual([]);
    expect(failover.holdReason('lib')).toBeNull();
  });

  it('a move adopted from another proxy never promotes: the library is held until the target shows promoted', () => {
    const { health, failover, plans } = setUp();
    failover.moved(LIBRARY, move('r2:3306', 'adopted', false));
    expect(plans).toEqual([]);
    expect(failover.holdReason('lib')).toMatch(/^r2:3306 is being promoted to master by another proxy/);
    expect(failover.decide(LIBRARY, ADDRESSES, 'r2:3306', none)).toBeNull();
    expect(failover.holdReason('lib')).not.toBeNull();
    health.record('r2:3306', { ok: true, readOnly: false, replication: { ...replica('0-1-42'), replicating: false, source: null, ioRunning: null, sqlRunning: null } });
    expect(failover.decide(LIBRARY, ADDRESSES, 'r2:3306', none)).toBeNull();
    expect(failover.holdReason('lib')).toBeNull();
  });
});
