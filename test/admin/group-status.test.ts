import { describe, expect, it } from 'vitest';
import { mergeStatuses } from '../../src/observability/group-status.js';
import { fakeControl } from './fake-control.js';

const facts = { pid: 1, startedAt: '2026-01-01T00:00:00.000Z', uptimeSeconds: 9, admin: '127.0.0.1:9' };

describe('mergeStatuses (the status of a group of workers)', () => {
  it("sums sessions over the workers and per library, with the owner's key counts and the primary's identity", () => {
    const one = fakeControl().status();
    const two = { ...fakeControl().status(), pid: 99, sessions: { open: 5, routed: 4, closing: 1 } };
    const merged = mergeStatuses([one, two], { ...facts, keysPerLibrary: { lib_a: 40, lib_b: 2 } })!;
    expect(merged).toMatchObject({ pid: 1, admin: '127.0.0.1:9', uptimeSeconds: 9, sessions: { open: 7, routed: 5, closing: 1 } });
    expect(merged.libraries.map((library) => [library.name, library.keys, library.sessions])).toEqual([
      ['lib_a', 40, 2],
      ['lib_b', 2, 0],
    ]);
    expect(merged.libraries[0].servers).toEqual(one.libraries[0].servers);
  });

  it('takes the largest count a worker has seen when no owner counts keys, and is null with no worker', () => {
    const one = fakeControl().status();
    const two = { ...one, libraries: one.libraries.map((library) => ({ ...library, keys: library.keys + 5 })) };
    expect(mergeStatuses([one, two], { ...facts, keysPerLibrary: null })!.libraries.map((library) => library.keys)).toEqual([15, 8]);
    expect(mergeStatuses([], { ...facts, keysPerLibrary: null })).toBeNull();
  });

  it("shows a library's failover phase from the worker that holds it, and a store or directory any worker cannot reach", () => {
    const given = fakeControl().status();
    const one = { ...given, failoverState: { ...given.failoverState!, reachable: true, lastError: null }, directory: { ...given.directory!, available: true, lastError: null } };
    const failed = { mode: 'promote' as const, phase: 'promotion_failed' as const, detail: '10.0.0.2:3306: catch up: timed out' };
    const two = {
      ...one,
      libraries: one.libraries.map((library, i) => (i === 0 ? { ...library, currentServer: null, failover: failed } : library)),
      failoverState: { kind: 'worker' as const, location: 'primary pid 1', reachable: false, lastError: 'no answer', since: '2026-01-01T00:00:03.000Z' },
      directory: { ...given.directory!, errors: 1 },
    };
    const merged = mergeStatuses([{ ...one, libraries: one.libraries.map((library) => ({ ...library, failover: { mode: 'promote' as const, phase: 'serving' as const } })) }, two], {
      ...facts,
      keysPerLibrary: null,
    })!;
    expect(merged.libraries[0]).toMatchObject({ currentServer: null, failover: failed });
    expect(merged.failoverState).toMatchObject({ reachable: false, lastError: 'no answer' });
    expect(merged.directory).toMatchObject({ available: false, lastError: given.directory!.lastError, errors: given.directory!.errors + 1 });
  });
});

