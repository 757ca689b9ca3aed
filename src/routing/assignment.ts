/**
 * Weighted assignment of a brand-new key to its home library: the deficit rule.
 *
 * Let W be the sum of the weights and N the number of keys already placed. After this key is placed there will be
 * N + 1 keys, of which library i deserves `ideal_i = weight_i / W · (N + 1)`. Its deficit is
 * `need_i = ideal_i − count_i`. The deficits sum to exactly 1, so at least one is positive. The new key goes to a
 * library with a positive deficit, chosen with probability proportional to that deficit, using the key's own hash
 * u ∈ [0, 1) as the random draw over the cumulative deficits in config order.
 *
 * Consequences:
 * - every library stays within about one key of its weighted share, whatever the order of arrivals;
 * - a library that joins empty receives every new key until it has caught up with its share, then takes its
 *   normal share; a library whose weight is raised catches up the same way;
 * - the choice is a pure function of (key, weights, current counts in config order). The counts are rebuilt from
 *   the save file at start-up, so placement after a restart is exactly what it would have been without one.
 *
 * Why this replaces mysqlda's "power" rule (behaviour §6): there, each library owns a hash range whose width grows
 * by one for every key assigned elsewhere, so where a key lands depends on the whole history of assignments; a
 * library added by reload gets a width equal to the total (doubling it), but after a restart the width is
 * recomputed from the save file and comes out different, so new-key placement changes across restarts; the range
 * sum overflows a 32-bit int after a few hundred million keys; and there are no weights at all. The deficit rule
 * balances at least as tightly, honours weights, needs no extra persisted state and costs O(libraries) per key.
 */

import { createHash } from 'node:crypto';

export interface LibraryLoad {
  name: string;
  /** Relative share of keys; finite and > 0. */
  weight: number;
  /** Keys the library owns now. */
  keyCount: number;
}

const TWO_POW_48 = 2 ** 48;

/** Uniform in [0, 1): the first 48 bits of SHA-1 of the key's UTF-8 bytes. Stable across versions and platforms. */
export function keyHash(key: string): number {
  return createHash('sha1').update(key, 'utf8').digest().readUIntBE(0, 6) / TWO_POW_48;
}

/** Choose the home library of a brand-new key. Deterministic for the same key and the same loads (same order). */
export function chooseLibrary(key: string, loads: readonly LibraryLoad[]): string {
  if (loads.length === 0) throw new RangeError('chooseLibrary: no libraries');
  let totalWeight = 0;
  let totalKeys = 0;
  for (const load of loads) {
    if (!(Number.isFinite(load.weight) && load.weight > 0)) {
      throw new RangeError(`chooseLibrary: library '${load.name}' has weight ${load.weight}; weights must be > 0`);
    }
    if (!(Number.isSafeInteger(load.keyCount) && load.keyCount >= 0)) {
      throw new RangeError(`chooseLibrary: library '${load.name}' has key count ${load.keyCount}`);
    }
    totalWeight += load.weight;
    totalKeys += load.keyCount;
  }
  if (loads.length === 1) return loads[0].name;

  const slotsAfter = totalKeys + 1;
  let positiveNeed = 0;
  for (const load of loads) positiveNeed += Math.max(0, need(load, totalWeight, slotsAfter));

  const target = keyHash(key) * positiveNeed;
  let cumulative = 0;
  let lastCandidate = loads[0].name;
  for (const load of loads) {
    const n = need(load, totalWeight, slotsAfter);
    if (n <= 0) continue;
    cumulative += n;
    lastCandidate = load.name;
    if (target < cumulative) return load.name;
  }
  return lastCandidate; // only reached through rounding when target is within an ulp of positiveNeed
}

function need(load: LibraryLoad, totalWeight: number, slotsAfter: number): number {
  return (load.weight / totalWeight) * slotsAfter - load.keyCount;
}
