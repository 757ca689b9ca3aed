import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/schema.js';
import { readLagBound } from '../../src/session/read-routing.js';

describe('read routes', () => {
  const replicaAccount = { replicaReads: { replicaByDefault: true, maxLagSeconds: 30 } };
  const boundOnly = { replicaReads: { replicaByDefault: false, maxLagSeconds: 2 } };

  it('are asked for by `for read`, with its max_lag, else the account\'s bound, else the default', () => {
    expect(readLagBound(null, { maxLagSeconds: 1 })).toBe(1);
    expect(readLagBound(boundOnly, { maxLagSeconds: null })).toBe(2);
    expect(readLagBound({}, { maxLagSeconds: null })).toBe(DEFAULTS.maxReplicaLagSeconds);
  });

  it('are every route of an account with reads "replica", and no route of the others', () => {
    expect(readLagBound(replicaAccount, undefined)).toBe(30);
    expect(readLagBound(boundOnly, undefined)).toBeNull();
    expect(readLagBound(null, undefined)).toBeNull();
  });
});
