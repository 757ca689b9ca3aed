/**
 * Which server serves a read-only session of a library (`select library … for read`, users[].reads "replica"):
 * pure decisions over the health book's readings. A replica serves reads when it is up, replicates with both
 * threads running, and its last reading (no older than `maxReadingAgeMs`) puts it at most `maxLagSeconds` behind.
 * Among those, sessions take turns (round robin per library). None fresh enough: the library's current server.
 */
import type { ServerHealth } from './server-health.js';

export interface ReplicaReadRequest {
  /** The library's servers (host:port), in config order. */
  servers: readonly string[];
  /** Its current server (host:port): never a replica of itself. */
  current: string | null;
  maxLagSeconds: number;
  now: number;
  /** A reading older than this (a few health intervals) says nothing about the lag now. */
  maxReadingAgeMs: number;
}

/** Why a server does not serve replica reads now, or null when it does. */
export function staleReason(health: ServerHealth, request: Pick<ReplicaReadRequest, 'maxLagSeconds' | 'now' | 'maxReadingAgeMs'>): string | null {
  if (health.status !== 'up') return `it is ${health.status}`;
  const replication = health.replication;
  if (!replication || !replication.replicating) return 'it does not replicate';
  if (replication.ioRunning === false || replication.sqlRunning === false) return 'its replication is stopped';
  if (replication.lagSeconds === null) return 'its lag is unknown';
  if (health.checkedAt === null || request.now - health.checkedAt > request.maxReadingAgeMs) return 'its last lag reading is too old';
  if (replication.lagSeconds > request.maxLagSeconds) return `it is ${replication.lagSeconds} s behind (bound ${request.maxLagSeconds} s)`;
  return null;
}

/** The library's servers other than its current one that may serve a read now, in config order. */
export function freshReplicas(request: ReplicaReadRequest, healthOf: (server: string) => ServerHealth): string[] {
  return request.servers.filter((server) => server !== request.current && staleReason(healthOf(server), request) === null);
}

/** Round robin over each library's fresh replicas: one turn counter per library. */
export class ReplicaTurns {
  private readonly turns = new Map<string, number>();

  next(library: string, candidates: readonly string[]): string | null {
    if (candidates.length === 0) return null;
    const turn = this.turns.get(library) ?? 0;
    this.turns.set(library, (turn + 1) % 1_000_000);
    return candidates[turn % candidates.length];
  }
}
