/** Small statistics over repeated runs. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The median of every numeric field over `records` (nested objects field by field). Fields missing from some
 * records are left out.
 */
export function medianRecord<T extends object>(records: readonly T[]): T {
  const result: Record<string, unknown> = {};
  const first = records[0] as Record<string, unknown>;
  for (const [key, value] of Object.entries(first)) {
    const values = records.map((record) => (record as Record<string, unknown>)[key]);
    if (typeof value === 'number') {
      if (values.every((v) => typeof v === 'number')) result[key] = median(values as number[]);
    } else if (typeof value === 'object' && value !== null) {
      if (values.every((v) => typeof v === 'object' && v !== null)) result[key] = medianRecord(values as object[]);
    }
  }
  return result as T;
}

/** The order of the paths in repetition `rep`: as given, then reversed, then as given... */
export function interleaved<T>(items: readonly T[], rep: number): T[] {
  return rep % 2 === 0 ? [...items] : [...items].reverse();
}
