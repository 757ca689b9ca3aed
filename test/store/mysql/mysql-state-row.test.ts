import { describe, expect, it } from 'vitest';
import { stateOf } from '../../../src/store/mysql/mysql-state-store.js';

describe('a mysqlda_library_state row as stored failover state', () => {
  it('reads the server list, the marks and the epoch; `since` from seconds since the epoch', () => {
    expect(stateOf({ current_server: 'r:1', servers: '["m:1","r:1"]', left_by_failover: '{"m:1":"2026-01-02T00:00:00.000Z"}', epoch: '7', since_s: '1767225600.250' })).toEqual({
      current: 'r:1',
      servers: ['m:1', 'r:1'],
      leftByFailover: new Map([['m:1', '2026-01-02T00:00:00.000Z']]),
      epoch: 7,
      since: '2026-01-01T00:00:00.250Z',
    });
  });

  it('reads a row with damaged JSON columns as its current server alone, with no marks (the next move rewrites it)', () => {
    const row = { current_server: 'm:1', servers: '["m:1"]', left_by_failover: '{}', epoch: 3, since_s: 0 };
    for (const damaged of [{ servers: 'not json' }, { servers: '{"m":1}' }, { left_by_failover: '[]' }, { left_by_failover: '' }]) {
      expect(stateOf({ ...row, ...damaged })).toMatchObject({ current: 'm:1', servers: ['m:1'], leftByFailover: new Map(), epoch: 3 });
    }
  });
});
