/**
 * Extension users[].reads and users[].max_replica_lag_s: an account whose sessions read from the key's library's
 * replicas (read-only), on a replica no further behind than the bound; see docs/failover-masking-and-replica-reads.md.
 */
import { childPath, type JsonObject } from './jsonc.js';
import { Review, describe, field, readInteger } from './fields.js';
import { DEFAULTS, LIMITS } from './schema.js';
import type { ReplicaReadsConfig } from './types.js';

const READS = ['current', 'replica'] as const;

/** The account's replica-read setting: null for the default (`reads: "current"`), undefined after a problem. */
export function readReplicaReads(review: Review, entry: JsonObject, userPath: string): ReplicaReadsConfig | null | undefined {
  const reads = entry.reads ?? 'current';
  if (typeof reads !== 'string' || !(READS as readonly string[]).includes(reads)) {
    review.problem(childPath(userPath, 'reads'), `must be "current" (the library's current server) or "replica" (read-only, on a fresh enough replica), got ${describe(reads)}`);
    return undefined;
  }
  const maxLagSeconds = readInteger(review, field(entry, 'max_replica_lag_s', userPath), LIMITS.maxReplicaLagSeconds, DEFAULTS.maxReplicaLagSeconds);
  if (maxLagSeconds === undefined) return undefined;
  // With reads "current", the bound still serves the account's `for read` statements that give none of their own.
  if (reads === 'current') return entry.max_replica_lag_s === undefined ? null : { replicaByDefault: false, maxLagSeconds };
  return { replicaByDefault: true, maxLagSeconds };
}
