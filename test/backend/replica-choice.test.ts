import { describe, expect, it } from 'vitest';
import { freshReplicas, ReplicaTurns, staleReason } from '../../src/backend/replica-choice.js';
import { initialHealth, type ReplicationState, type ServerHealth } from '../../src/backend/server-health.js';

const NOW = 1_000_000;
const replicating = (lagSeconds: number | null, running = true): ReplicationState => ({
  replicating: true,
  source: '10.0.0.1:3306',
  ioRunning: running,
  sqlRunning: running,
  lagSeconds,
  lastError: null,
  gtidExecuted: null,
  gtidBinlog: null,
});
const up = (replication?: ReplicationState, checkedAt = NOW - 500): ServerHealth => ({ ...initialHealth(0), status: 'up', checkedAt, replication });
const request = { servers: ['m:1', 'r1:1', 'r2:1'], current: 'm:1', maxLagSeconds: 5, now: NOW, maxReadingAgeMs: 6_000 };

describe('replica choice for read sessions', () => {
  it('takes replicas that are up, replicating and within the lag bound; never the current server', () => {
    const book: Record<string, ServerHealth> = { 'm:1': up(), 'r1:1': up(replicating(0)), 'r2:1': up(replicating(5)) };
    expect(freshReplicas(request, (s) => book[s])).toEqual(['r1:1', 'r2:1']);
  });

  it.each([
    ['lagging beyond the bound', up(replicating(6)), 'it is 6 s behind (bound 5 s)'],
    ['SQL thread stopped', up(replicating(null, false)), 'its replication is stopped'],
    ['lag unknown', up(replicating(null)), 'its lag is unknown'],
    ['not replicating', up({ ...replicating(0), replicating: false }), 'it does not replicate'],
    ['no reading yet', up(), 'it does not replicate'],
    ['an old reading', up(replicating(0), NOW - 7_000), 'its last lag reading is too old'],
    ['down', { ...up(replicating(0)), status: 'down' as const }, 'it is down'],
  ])('passes over a replica %s', (_, health, reason) => {
    expect(staleReason(health, request)).toBe(reason);
    expect(freshReplicas(request, (s) => (s === 'r1:1' ? health : up()))).toEqual([]);
  });

  it('spreads sessions over the fresh replicas in turn, per library', () => {
    const turns = new ReplicaTurns();
    const picks = [1, 2, 3, 4].map(() => turns.next('lib_a', ['r1:1', 'r2:1']));
    expect(picks).toEqual(['r1:1', 'r2:1', 'r1:1', 'r2:1']);
    expect(turns.next('lib_b', ['x:1'])).toBe('x:1');
    expect(turns.next('lib_a', [])).toBeNull();
  });
});
