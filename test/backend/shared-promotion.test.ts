import { describe, expect, it } from 'vitest';
import { CurrentServers } from '../../src/backend/current-servers.js';
import type { PromotionPlan, PromotionResult } from '../../src/backend/promotion.js';
import { ReplicationFailover } from '../../src/backend/replication-failover.js';
import { ServerHealthBook, type ReplicationState } from '../../src/backend/server-health.js';
import type { FailoverConfig, LibraryConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { MemoryStateStore } from './memory-state-store.js';

const server = (host: string) => ({ host, port: 3306, user: 'u', password: 'p', database: 'd', tls: null });
const LIB: LibraryConfig = { name: 'lib_a', weight: 1, servers: [server('m'), server('r1'), server('r2')] };
const SETTINGS: FailoverConfig = { autoFailback: false, mode: 'promote', maxLagSeconds: 5, promoteTimeoutSeconds: 3, user: null, password: null };

const replica = (gtidExecuted: string): ReplicationState => ({
  replicating: true,
  source: 'm:3306',
  ioRunning: false,
  sqlRunning: true,
  lagSeconds: null,
  lastError: null,
  lastErrorThread: null,
  gtidExecuted,
  gtidBinlog: gtidExecuted,
});
const promoted: ReplicationState = { ...replica('0-1-42'), replicating: false, source: null, ioRunning: null, sqlRunning: null };

/** One proxy: its own health view and promotion runner, wired as Backends wires them, on the shared store. */
async function proxy(store: MemoryStateStore, plans: string[], settle: ((result: PromotionResult) => void)[]) {
  const health = new ServerHealthBook({ failThreshold: 1, riseThreshold: 1 });
  health.track(['m:3306', 'r1:3306', 'r2:3306']);
  health.record('m:3306', { ok: true, readOnly: false, replication: { ...promoted, gtidExecuted: '0-1-42' } });
  health.record('r1:3306', { ok: true, readOnly: true, replication: replica('0-1-40') });
  health.record('r2:3306', { ok: true, readOnly: true, replication: replica('0-1-42') });
  const runner = (plan: PromotionPlan) => {
    plans.push(`${plan.library}→${plan.target.host}`);
    return new Promise<PromotionResult>((resolve) => settle.push(resolve));
  };
  const failover = new ReplicationFailover(SETTINGS, health, silentLogger(), runner);
  const current = await CurrentServers.open({
    store: store.client(),
    libraries: [LIB],
    health,
    autoFailback: false,
    events: new ProxyEvents(),
    logger: silentLogger(),
    pollIntervalMs: null,
    policy: failover,
  });
  current.onMove((move) => failover.moved(LIB, move));
  health.onChange(() => current.reconcileAll());
  return { health, failover, current };
}

describe('promote mode on a shared failover state store', () => {
  it('exactly one of three proxies that see the master die promotes: the one that won the compare-and-set', async () => {
    const store = new MemoryStateStore();
    const plans: string[] = [];
    const settle: ((result: PromotionResult) => void)[] = [];
    const proxies = [await proxy(store, plans, settle), await proxy(store, plans, settle), await proxy(store, plans, settle)];

    for (const p of proxies) p.health.record('m:3306', { ok: false, error: 'connect ECONNREFUSED', conclusive: true });
    for (let round = 0; round < 20 && proxies.some((p) => p.current.pendingMove('lib_a')); round++) {
      await Promise.all(proxies.map((p) => p.current.pendingMove('lib_a')));
    }

    expect(plans).toEqual(['lib_a→r2']);
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r2:3306', epoch: 2 });
    expect(proxies.map((p) => p.current.current('lib_a'))).toEqual(['r2:3306', 'r2:3306', 'r2:3306']);
    // While the winner promotes, every proxy holds the library: no write reaches a server that still replicates.
    expect(proxies.map((p) => p.current.serverFor(LIB))).toEqual([null, null, null]);
    expect(proxies.map((p) => p.failover.phaseOf('lib_a').phase)).toEqual(['promoting', 'promoting', 'promoting']);

    // The promotion ends; the others see it promoted at their next health check.
    settle[0]({ ok: true, repointed: ['r1:3306'], notRepointed: [] });
    await Promise.all(proxies.map((p) => p.failover.settled()));
    for (const p of proxies) p.health.record('r2:3306', { ok: true, readOnly: false, replication: promoted });
    expect(proxies.map((p) => p.current.serverFor(LIB)?.host)).toEqual(['r2', 'r2', 'r2']);
    expect(plans).toHaveLength(1);
  });
});
