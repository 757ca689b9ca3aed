import { describe, expect, it } from 'vitest';
import { adoptServerList, decideCurrent, failbackProblem } from '../../src/backend/failover-policy.js';
import type { HealthStatus } from '../../src/backend/server-health.js';

const servers = ['master:3306', 'replica1:3306', 'replica2:3306'];
const states = (map: Record<string, HealthStatus>) => (server: string) => map[server] ?? 'unknown';

describe('decideCurrent (sticky primary)', () => {
  it('stays on a current server that is up or not checked yet', () => {
    expect(decideCurrent(servers, 'master:3306', states({ 'master:3306': 'up' }), false)).toBeNull();
    expect(decideCurrent(servers, 'master:3306', states({}), false)).toBeNull();
  });

  it('fails over to the next server of the list that is up when the current one is down', () => {
    const health = states({ 'master:3306': 'down', 'replica1:3306': 'down', 'replica2:3306': 'up' });
    expect(decideCurrent(servers, 'master:3306', health, false)).toEqual({ to: 'replica2:3306', reason: 'down' });
  });

  it('stays on the replica when the old master is up again (it may have missed writes)', () => {
    const health = states({ 'master:3306': 'up', 'replica1:3306': 'up', 'replica2:3306': 'up' });
    expect(decideCurrent(servers, 'replica1:3306', health, false)).toBeNull();
  });

  it('with auto_failback, goes back to the earliest server that is up', () => {
    const health = states({ 'master:3306': 'up', 'replica1:3306': 'up', 'replica2:3306': 'up' });
    expect(decideCurrent(servers, 'replica2:3306', health, true)).toEqual({ to: 'master:3306', reason: 'failback' });
    expect(decideCurrent(servers, 'replica2:3306', states({ 'master:3306': 'unknown', 'replica1:3306': 'up' }), true)).toEqual({
      to: 'replica1:3306',
      reason: 'failback',
    });
  });

  it('wraps around the list, and prefers servers that are up over ones not checked yet', () => {
    const health = states({ 'replica2:3306': 'down', 'master:3306': 'up', 'replica1:3306': 'unknown' });
    expect(decideCurrent(servers, 'replica2:3306', health, false)).toEqual({ to: 'master:3306', reason: 'down' });
    const unchecked = states({ 'replica2:3306': 'down', 'master:3306': 'down' });
    expect(decideCurrent(servers, 'replica2:3306', unchecked, false)).toEqual({ to: 'replica1:3306', reason: 'down' });
  });

  it('never fails over to a server the library left by failover, up or not; stays (unavailable) when only those are left', () => {
    const left = (server: string) => server === 'master:3306';
    const health = states({ 'master:3306': 'up', 'replica1:3306': 'down', 'replica2:3306': 'unknown' });
    expect(decideCurrent(servers, 'replica1:3306', health, false, left)).toEqual({ to: 'replica2:3306', reason: 'down' });
    const onlyMaster = states({ 'master:3306': 'up', 'replica1:3306': 'down', 'replica2:3306': 'down' });
    expect(decideCurrent(servers, 'replica1:3306', onlyMaster, false, left)).toBeNull();
  });

  it('stays (unavailable) when every server is down', () => {
    const health = states({ 'master:3306': 'down', 'replica1:3306': 'down', 'replica2:3306': 'down' });
    expect(decideCurrent(servers, 'replica1:3306', health, true)).toBeNull();
  });
});

describe('adoptServerList', () => {
  it('starts a new library at its first server', () => {
    expect(adoptServerList(null, servers, null)).toEqual({ current: 'master:3306', reason: 'initial' });
  });

  it('keeps the current server when servers are added or removed around it', () => {
    expect(adoptServerList(servers, [...servers, 'replica3:3306'], 'replica1:3306')).toEqual({ current: 'replica1:3306', reason: 'kept' });
    expect(adoptServerList(servers, ['master:3306', 'replica1:3306'], 'replica1:3306')).toEqual({ current: 'replica1:3306', reason: 'kept' });
  });

  it('starts again at the top when the operator re-ranks the list or removes the current server', () => {
    expect(adoptServerList(servers, ['replica1:3306', 'master:3306', 'replica2:3306'], 'replica2:3306')).toEqual({
      current: 'replica1:3306',
      reason: 'reordered',
    });
    expect(adoptServerList(servers, ['master:3306', 'replica2:3306'], 'replica1:3306')).toEqual({ current: 'master:3306', reason: 'removed' });
  });
});

describe('failbackProblem', () => {
  it('refuses a server outside the list or one that is down', () => {
    const health = states({ 'master:3306': 'down' });
    expect(failbackProblem(servers, 'other:3306', health)).toBe('other:3306 is not one of its servers (master:3306, replica1:3306, replica2:3306)');
    expect(failbackProblem(servers, 'master:3306', health)).toBe('master:3306 is down');
    expect(failbackProblem(servers, 'replica1:3306', health)).toBeNull();
  });
});
