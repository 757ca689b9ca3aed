/**
 * What one assigning transaction of the shared directory writes, decided from what it read under the counts lock:
 * the keys of the batch that already have a row keep it, every other key gets a library by the weighted deficit
 * rule (routing/assignment.ts) over the shared counts, each key seeing the counts as the keys before it left them.
 * Pure: the SQL around it is in mysql-directory.ts.
 */
import { chooseLibrary, type LibraryLoad } from '../../routing/assignment.js';
import type { LibraryWeight } from '../key-directory.js';

export interface AssignmentPlan {
  /** Keys that had a row already (assigned by another proxy, or an earlier attempt): key → library. */
  found: Map<string, string>;
  /** New rows, in batch order. */
  assigned: { key: string; library: string }[];
  /** Keys added per library (only libraries that gain keys). */
  increments: Map<string, number>;
  /** The shared counts once this transaction commits, for every library read or configured. */
  countsAfter: Map<string, number>;
}

/**
 * Plans a batch. `keys` are distinct; `existing` holds the rows found for some of them; `counts` the shared
 * counts read FOR UPDATE (a configured library without a row counts 0). Libraries in config order.
 */
export function planAssignments(
  keys: readonly string[],
  existing: ReadonlyMap<string, string>,
  counts: ReadonlyMap<string, number>,
  libraries: readonly LibraryWeight[],
): AssignmentPlan {
  const loads: LibraryLoad[] = libraries.map(({ name, weight }) => ({ name, weight, keyCount: counts.get(name) ?? 0 }));
  const byName = new Map(loads.map((load) => [load.name, load]));
  const found = new Map<string, string>();
  const assigned: AssignmentPlan['assigned'] = [];
  const increments = new Map<string, number>();
  for (const key of keys) {
    const library = existing.get(key);
    if (library !== undefined) {
      found.set(key, library);
      continue;
    }
    const chosen = chooseLibrary(key, loads);
    byName.get(chosen)!.keyCount++;
    assigned.push({ key, library: chosen });
    increments.set(chosen, (increments.get(chosen) ?? 0) + 1);
  }
  const countsAfter = new Map(counts);
  for (const load of loads) countsAfter.set(load.name, load.keyCount);
  return { found, assigned, increments, countsAfter };
}
