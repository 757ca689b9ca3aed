import { describe, expect, it } from 'vitest';
import { backendPort, useProxyFixture } from '../support/proxy-harness.js';
import { keyOn, serverStatus, sessionOn, until } from '../support/replication.js';
import { nextEvent } from '../support/next-event.js';
import { address } from '../support/server-state.js';

const env = useProxyFixture('replication-follow', {
  libraries: 1,
  replicas: 2,
  extra: {
    health: { interval_ms: 250, timeout_ms: 2000, fail_threshold: 3, rise_threshold: 1 },
    failover: { mode: 'follow_read_only' },
  },
});

describe('failover.mode follow_read_only', () => {
  it('follows an external promotion, and does not move while two servers are writable', async () => {
    const { proxy, port } = env.proxy;
    const [library] = env.sandbox.libraries;
    const [first, second] = library.replicas;
    const key = await keyOn(port, library.name, 'follow');
    const readOnlyIs = (server: typeof first, value: boolean) => () => serverStatus(proxy, server)?.readOnly === value;
    for (const replica of library.replicas) await replica.query('SET GLOBAL read_only = 1');
    await until('the replicas to read as read-only', () => readOnlyIs(first, true)() && readOnlyIs(second, true)());
    let client = await sessionOn(port, key);
    expect(await backendPort(client)).toBe(library.master.port);
    await client.end();

    // What an external manager does: the master read-only, a replica writable.
    const moved = nextEvent(proxy.events, 'failover', (event) => event.library === library.name);
    await library.master.query('SET GLOBAL read_only = 1');
    await first.query('SET GLOBAL read_only = 0');
    expect(await moved).toEqual({ library: library.name, from: address(library.master), to: address(first) });
    client = await sessionOn(port, key);
    expect(await backendPort(client)).toBe(first.port);
    await client.end();

    // A second writable server: no move, and the library says why.
    const moves: unknown[] = [];
    const stop = proxy.events.on('failover', (event) => moves.push(event));
    await second.query('SET GLOBAL read_only = 0');
    await until('the split-brain guard', () => proxy.status().libraries[0].failover?.phase === 'split_brain');
    expect(proxy.status().libraries[0].failover).toEqual({ mode: 'follow_read_only', phase: 'split_brain', detail: `${address(first)}, ${address(second)}` });
    client = await sessionOn(port, key);
    expect(await backendPort(client)).toBe(first.port);
    await client.end();
    stop();
    expect(moves).toEqual([]);

    // One writable server again (the manager demoted the first): the library follows.
    const movedAgain = nextEvent(proxy.events, 'failover', (event) => event.library === library.name);
    await first.query('SET GLOBAL read_only = 1');
    expect(await movedAgain).toEqual({ library: library.name, from: address(first), to: address(second) });
    expect(proxy.status().libraries[0].failover).toEqual({ mode: 'follow_read_only', phase: 'serving' });
  });
});
