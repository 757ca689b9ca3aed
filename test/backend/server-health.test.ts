import { describe, expect, it } from 'vitest';
import { initialHealth, nextHealth, ServerHealthBook, type HealthObservation, type ServerHealth } from '../../src/backend/server-health.js';

const thresholds = { failThreshold: 3, riseThreshold: 2 };
const ok: HealthObservation = { ok: true, readOnly: false };
const fail: HealthObservation = { ok: false, error: 'connect timed out' };
const refused: HealthObservation = { ok: false, error: 'ECONNREFUSED', conclusive: true };

function run(observations: HealthObservation[], start: ServerHealth = initialHealth(0)): ServerHealth[] {
  const states: ServerHealth[] = [];
  let health = start;
  observations.forEach((observation, i) => {
    health = nextHealth(health, observation, thresholds, i + 1);
    states.push(health);
  });
  return states;
}

describe('server health state machine', () => {
  it('starts unknown and is up after the first good check', () => {
    expect(initialHealth(0).status).toBe('unknown');
    expect(run([ok]).map((h) => h.status)).toEqual(['up']);
  });

  it('goes down only after fail_threshold consecutive failed checks', () => {
    expect(run([ok, fail, fail, ok, fail, fail, fail]).map((h) => h.status)).toEqual(['up', 'up', 'up', 'up', 'up', 'up', 'down']);
  });

  it('an unknown server that never answers is down after fail_threshold checks', () => {
    expect(run([fail, fail, fail]).map((h) => h.status)).toEqual(['unknown', 'unknown', 'down']);
  });

  it('a refused connection is conclusive: down at once', () => {
    expect(run([ok, refused]).map((h) => h.status)).toEqual(['up', 'down']);
  });

  it('comes back up only after rise_threshold consecutive good checks', () => {
    const down = run([refused])[0];
    expect(run([ok, fail, ok, ok], down).map((h) => h.status)).toEqual(['down', 'down', 'down', 'up']);
  });

  it('keeps the last error, @@read_only and when the status changed', () => {
    const states = run([{ ok: true, readOnly: true }, fail, fail, fail]);
    expect(states[3]).toMatchObject({ status: 'down', failures: 3, readOnly: true, lastError: 'connect timed out', since: 4, checkedAt: 4 });
    expect(states[1].since).toBe(1);
    const back = nextHealth(nextHealth(states[3], ok, thresholds, 5), { ok: true, readOnly: null }, thresholds, 6);
    expect(back).toMatchObject({ status: 'up', lastError: null, readOnly: false, since: 6, failures: 0 });
  });
});

describe('replication in server health', () => {
  const replica = (lagSeconds: number | null, replicating = true) => ({
    ok: true as const,
    readOnly: false,
    replication: { replicating, source: replicating ? '10.0.0.1:3306' : null, ioRunning: lagSeconds !== null, sqlRunning: true, lagSeconds, lastError: null, gtidExecuted: '0-1-5', gtidBinlog: '0-1-5' },
  });

  it('keeps the last known lag while Seconds_Behind_Master is NULL (the IO thread reconnects to a dead master)', () => {
    const states = run([replica(0), replica(7), replica(null), fail, replica(null)]);
    expect(states.map((h) => h.lastKnownLagSeconds)).toEqual([0, 7, 7, 7, 7]);
    expect(states[2].replication).toMatchObject({ lagSeconds: null });
    expect(states[3].replication).toMatchObject({ lagSeconds: null }); // a failed check keeps what the last good one read
  });

  it('forgets the lag once the server no longer replicates; a replica status it may not read is null', () => {
    const states = run([replica(4), replica(null, false), { ok: true, readOnly: false, replication: null }, ok]);
    expect(states.map((h) => h.lastKnownLagSeconds)).toEqual([4, null, null, null]);
    expect(states[2].replication).toBeNull();
    expect(states[3].replication).toBeNull(); // a check that does not read replication keeps the last reading
  });
});

describe('ServerHealthBook', () => {
  it('tracks servers, tells listeners about status changes only, and ignores untracked servers', () => {
    let now = 100;
    const book = new ServerHealthBook({ failThreshold: 2, riseThreshold: 1 }, () => now);
    const changes: string[] = [];
    book.onChange((change) => changes.push(`${change.server} ${change.from}→${change.to}`));
    book.track(['a:1', 'b:1']);
    book.record('a:1', ok);
    book.record('a:1', ok);
    book.record('b:1', fail);
    book.record('b:1', fail);
    expect(book.record('c:1', refused)).toBeNull();
    now = 200;
    book.track(['a:1', 'c:1']);
    expect(book.status('b:1')).toBe('unknown');
    expect(book.get('c:1')).toMatchObject({ status: 'unknown', since: 200 });
    book.setThresholds({ failThreshold: 1, riseThreshold: 1 });
    book.record('a:1', fail);
    expect(changes).toEqual(['a:1 unknown→up', 'b:1 unknown→down', 'a:1 up→down']);
    expect(book.entries().map(([server]) => server)).toEqual(['a:1', 'c:1']);
  });
});
