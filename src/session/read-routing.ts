/**
 * Whether a route is a read route, and its lag bound: `select library … for read [max_lag n]` asks for one; an
 * account with users[].reads "replica" makes every route one. The statement's max_lag wins over the account's
 * max_replica_lag_s, which wins over the default.
 */
import { DEFAULTS } from '../config/schema.js';
import type { ReplicaReadsConfig } from '../config/types.js';
import type { ReadRequest } from '../routing/extension-sql.js';

/** The largest lag (s) of a replica that may serve the route; null: not a read route (the current server). */
export function readLagBound(account: { replicaReads?: ReplicaReadsConfig } | null, request: ReadRequest | undefined): number | null {
  const reads = account?.replicaReads;
  if (request) return request.maxLagSeconds ?? reads?.maxLagSeconds ?? DEFAULTS.maxReplicaLagSeconds;
  return reads?.replicaByDefault ? reads.maxLagSeconds : null;
}
