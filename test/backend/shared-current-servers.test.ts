import { describe, expect, it } from 'vitest';
import { CurrentServers, type CurrentServersOptions, type LibraryMove } from '../../src/backend/current-servers.js';
import { ServerHealthBook } from '../../src/backend/server-health.js';
import type { LibraryConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { MemoryStateStore } from './memory-state-store.js';

const server = (host: string) => ({ host, port: 3306, user: 'u', password: 'p', database: 'd', tls: null });
const library = (name: string, hosts: string[]): LibraryConfig => ({ name, weight: 1, servers: hosts.map(server) });

const LIB = library('lib_a', ['m', 'r1', 'r2']);
const refused = { ok: false as const, error: 'connect ECONNREFUSED', conclusive: true };
const ok = { ok: true as const, readOnly: false };

interface Proxy {
  name: string;
  health: ServerHealthBook;
  current: CurrentServers;
  moves: LibraryMove[];
  logs: { level: number; msg: string }[];
}

/** One proxy of the cluster: its own health view, the shared store. Polling is driven by the test (refresh). */
async function proxy(
  store: MemoryStateStore,
  name: string,
  libraries: LibraryConfig[] = [LIB],
  seed?: CurrentServersOptions['seed'],
  storeTimeoutMs?: number,
): Promise<Proxy> {
  const health = new ServerHealthBook({ failThreshold: 3, riseThreshold: 1 });
  health.track(libraries.flatMap((l) => l.servers.map((s) => `${s.host}:3306`)));
  const logs: { level: number; msg: string }[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const current = await CurrentServers.open({ store: store.client(), libraries, health, autoFailback: false, events: new ProxyEvents(), logger, pollIntervalMs: null, seed, storeTimeoutMs });
  health.onChange(() => current.reconcileAll());
  const moves: LibraryMove[] = [];
  current.onMove((move) => moves.push(move));
  return { name, health, current, moves, logs };
}

async function cluster(store: MemoryStateStore, count = 3, libraries?: LibraryConfig[]): Promise<Proxy[]> {
  const proxies: Proxy[] = [];
  for (let i = 1; i <= count; i++) proxies.push(await proxy(store, `p${i}`, libraries));
  return proxies;
}

/** Waits until no proxy has a compare-and-set in flight (a lost one may be followed by a new proposal). */
async function settled(proxies: Proxy[], libraryName = 'lib_a'): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const pending = proxies.map((p) => p.current.pendingMove(libraryName)).filter((move) => move !== null);
    if (pending.length === 0) return;
    await Promise.all(pending);
  }
  throw new Error('compare-and-sets keep coming');
}

const record = (proxies: Proxy[], address: string, observation: typeof ok | typeof refused) => {
  for (const p of proxies) p.health.record(address, observation);
};

describe('CurrentServers on a shared failover state store', () => {
  it('writes a library without a row once at the start; later proxies adopt it', async () => {
    const store = new MemoryStateStore();
    const proxies = await cluster(store);
    expect(store.attempts).toEqual(['lib_a@0→m:3306']);
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'm:3306', epoch: 1, servers: ['m:3306', 'r1:3306', 'r2:3306'] });
    expect(proxies.map((p) => p.current.epoch('lib_a'))).toEqual([1, 1, 1]);
  });

  it('moves a library once when every proxy sees its master die: all route to the same server, the epoch advances once', async () => {
    const store = new MemoryStateStore();
    const proxies = await cluster(store);
    record(proxies, 'r1:3306', ok);
    record(proxies, 'r2:3306', ok);
    record(proxies, 'm:3306', refused);
    // The move is being stored: no proxy routes the library to a server it has not been moved to yet.
    expect(proxies.map((p) => p.current.serverFor(LIB))).toEqual([null, null, null]);
    expect(proxies.every((p) => p.current.pendingMove('lib_a') !== null)).toBe(true);
    await settled(proxies);

    expect(proxies.map((p) => p.current.serverFor(LIB)?.host)).toEqual(['r1', 'r1', 'r1']);
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r1:3306', epoch: 2 });
    expect(store.attempts.filter((attempt) => attempt.startsWith('lib_a@1'))).toHaveLength(3); // one won, two lost
    expect(proxies.map((p) => p.moves.map((m) => m.reason))).toEqual([['down'], ['adopted'], ['adopted']]);
    // The mark that keeps the library off its old master is shared too.
    expect(proxies.map((p) => typeof p.current.leftByFailover('lib_a', 'm:3306'))).toEqual(['number', 'number', 'number']);

    // The old master returns: nobody fails back.
    record(proxies, 'm:3306', ok);
    await settled(proxies);
    expect(proxies.map((p) => p.current.serverFor(LIB)?.host)).toEqual(['r1', 'r1', 'r1']);
    expect(store.rows.get('lib_a')?.epoch).toBe(2);
  });

  it("adopts the winner's choice even when its own choice differs and is up", async () => {
    const store = new MemoryStateStore();
    const [p1, p2] = await cluster(store, 2);
    // p2 sees r1 down as well, so it chooses r2; p1 would choose r1. p2 stores first.
    p2.health.record('r1:3306', refused);
    p2.health.record('r2:3306', ok);
    p2.health.record('m:3306', refused);
    p1.health.record('r1:3306', ok);
    p1.health.record('r2:3306', ok);
    p1.health.record('m:3306', refused);
    await settled([p1, p2]);
    expect([p1.current.current('lib_a'), p2.current.current('lib_a')]).toEqual(['r2:3306', 'r2:3306']);
    expect(p1.moves).toEqual([{ library: 'lib_a', from: 'm:3306', to: 'r2:3306', reason: 'adopted', epoch: 2, won: false }]);
  });

  it('follows an operator failback made through another proxy at its next poll, logging it once', async () => {
    const store = new MemoryStateStore();
    const proxies = await cluster(store);
    record(proxies, 'm:3306', refused);
    await settled(proxies);
    record(proxies, 'm:3306', ok);

    expect(await proxies[0].current.failback('lib_a')).toMatchObject({ ok: true, move: { from: 'r1:3306', to: 'm:3306', reason: 'operator', epoch: 3 } });
    expect(proxies[1].current.current('lib_a')).toBe('r1:3306');
    for (const p of proxies.slice(1)) {
      await p.current.refresh();
      await p.current.refresh(); // a second poll finds nothing new
    }
    expect(proxies.map((p) => p.current.serverFor(LIB)?.host)).toEqual(['m', 'm', 'm']);
    expect(proxies.map((p) => p.current.leftByFailover('lib_a', 'm:3306'))).toEqual([null, null, null]);
    const follows = proxies[1].logs.filter((line) => line.msg.includes('follows the move of another proxy from r1:3306 to m:3306'));
    expect(follows).toHaveLength(1);
  });

  it('moves no library while the store is unreachable, and moves it once the store is back', async () => {
    const store = new MemoryStateStore();
    const proxies = await cluster(store);
    record(proxies, 'r1:3306', ok);
    store.reachable = false;
    for (const p of proxies) await p.current.refresh();
    record(proxies, 'm:3306', refused);
    await settled(proxies);
    expect(proxies.map((p) => p.current.serverFor(LIB))).toEqual([null, null, null]);
    expect(proxies.map((p) => p.current.current('lib_a'))).toEqual(['m:3306', 'm:3306', 'm:3306']);
    expect(proxies[0].current.stateStore()).toMatchObject({ reachable: false, lastError: expect.stringContaining('ECONNREFUSED') });
    expect(await proxies[0].current.failback('lib_a', 'r1:3306')).toMatchObject({ ok: false, error: expect.stringContaining('failover state store is unreachable') });
    proxies[0].current.serverFor(LIB);
    const stuck = proxies[0].logs.filter((line) => line.msg.includes('stays on m:3306, which is down'));
    expect(stuck).toHaveLength(1);
    expect(store.attempts).toEqual(['lib_a@0→m:3306']);

    store.reachable = true;
    await Promise.all(proxies.map((p) => p.current.refresh()));
    await settled(proxies);
    for (const p of proxies) await p.current.refresh();
    expect(proxies.map((p) => p.current.serverFor(LIB)?.host)).toEqual(['r1', 'r1', 'r1']);
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r1:3306', epoch: 2 });
    expect(proxies[0].current.stateStore().reachable).toBe(true);
  });

  it('keeps a stored server this proxy does not list, rather than routing to it', async () => {
    const store = new MemoryStateStore();
    const [p1] = await cluster(store, 1, [library('lib_a', ['m', 'r1', 'x'])]);
    const p2 = await proxy(store, 'p2', [LIB]);
    p1.health.record('r1:3306', refused);
    p1.health.record('m:3306', refused);
    await settled([p1]);
    expect(p1.current.current('lib_a')).toBe('x:3306');
    await p2.current.refresh();
    expect(p2.current.current('lib_a')).toBe('m:3306');
    expect(p2.current.epoch('lib_a')).toBe(2);
    expect(p2.logs.filter((line) => line.msg.includes("not in this proxy's server list"))).toHaveLength(1);
  });

  it('applies a re-ranked list on reload through the store: the first proxy moves the library, the others adopt', async () => {
    const store = new MemoryStateStore();
    const proxies = await cluster(store);
    const reranked = library('lib_a', ['r2', 'm', 'r1']);
    for (const p of proxies) p.current.setLibraries([reranked]);
    await settled(proxies);
    expect(proxies.map((p) => p.current.serverFor(reranked)?.host)).toEqual(['r2', 'r2', 'r2']);
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r2:3306', epoch: 2, servers: ['r2:3306', 'm:3306', 'r1:3306'] });
    expect(proxies.map((p) => p.moves.map((m) => m.reason))).toEqual([['reload'], ['adopted'], ['adopted']]);
  });

  it("starts a library the store does not know from this machine's state file, not from its first server", async () => {
    const store = new MemoryStateStore();
    const saved = { current: 'r1:3306', servers: ['m:3306', 'r1:3306', 'r2:3306'], since: '2026-01-01T00:00:00.000Z', leftByFailover: new Map([['m:3306', '2026-01-01T00:00:00.000Z']]) };
    const first = await proxy(store, 'p1', [LIB], new Map([['lib_a', saved]]));
    expect(first.current.current('lib_a')).toBe('r1:3306');
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r1:3306', epoch: 1, leftByFailover: new Map([['m:3306', '2026-01-01T00:00:00.000Z']]) });
    // A row, once there, wins over any other proxy's file.
    const second = await proxy(store, 'p2', [LIB], new Map([['lib_a', { ...saved, current: 'r2:3306' }]]));
    expect(second.current.current('lib_a')).toBe('r1:3306');
  });

  it('counts a store that does not answer within storeTimeoutMs as unreachable, and finds a late answer at its next poll', async () => {
    const store = new MemoryStateStore();
    const p1 = await proxy(store, 'p1', [LIB], undefined, 50);
    p1.health.record('r1:3306', ok);
    store.silent = true;
    p1.health.record('m:3306', refused);
    const pending = p1.current.pendingMove('lib_a');
    expect(pending).not.toBeNull();
    await pending;
    expect(p1.current.stateStore()).toMatchObject({ reachable: false, lastError: 'no answer in 50 ms' });
    expect(p1.current.serverFor(LIB)).toBeNull();
    expect(await p1.current.failback('lib_a', 'r2:3306')).toMatchObject({ ok: false });

    store.silent = false; // the compare-and-set made while silent is answered now, and won
    await p1.current.refresh();
    expect(store.rows.get('lib_a')).toMatchObject({ current: 'r1:3306', epoch: 2 });
    expect(p1.current.serverFor(LIB)?.host).toBe('r1');
    expect(p1.current.stateStore().reachable).toBe(true);
  });
});
