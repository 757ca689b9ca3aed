/**
 * The in-memory directory: core-object key → library, and per correl class, correl object → key.
 * Pure bookkeeping with its invariants enforced; durability lives in src/store/.
 *
 * Memory: one Map entry per key whose value is the interned library-name string (one per library), so 1M keys cost
 * the key strings plus the Map's own slots (V8 Maps hold at most 2^24 entries, about 16.7M keys).
 */

import type { LibraryLoad } from './assignment.js';

export class Directory {
  /** Library name → number of keys it owns, in config order. */
  private counts = new Map<string, number>();
  /** Library name → the one string instance stored as a value in libraryByKey (survives reloads). */
  private readonly interned = new Map<string, string>();
  private readonly libraryByKey = new Map<string, string>();
  private readonly correls = new Map<string, Map<string, string>>();
  private correlTotal = 0;

  constructor(libraryNames: readonly string[]) {
    this.setLibraries(libraryNames);
  }

  libraryOf(key: string): string | undefined {
    return this.libraryByKey.get(key);
  }

  keyOfCorrel(correlClass: string, object: string): string | undefined {
    return this.correls.get(correlClass)?.get(object);
  }

  hasLibrary(library: string): boolean {
    return this.counts.has(library);
  }

  keyCount(library: string): number {
    return this.counts.get(library) ?? 0;
  }

  /** Library names in config order. */
  libraries(): string[] {
    return [...this.counts.keys()];
  }

  /** Loads in config order, for chooseLibrary. Throws when a library has no weight. */
  loads(weights: ReadonlyMap<string, number>): LibraryLoad[] {
    const result: LibraryLoad[] = [];
    for (const [name, keyCount] of this.counts) {
      const weight = weights.get(name);
      if (weight === undefined) throw new Error(`Directory.loads: no weight for library '${name}'`);
      result.push({ name, weight, keyCount });
    }
    return result;
  }

  /**
   * Replace the set and order of libraries (live reload). New libraries start with no keys. Throws, changing
   * nothing, when a library that would be removed still owns keys.
   */
  setLibraries(names: readonly string[]): void {
    const next = new Map<string, number>();
    for (const name of names) {
      if (name.length === 0) throw new Error('Directory: empty library name');
      if (next.has(name)) throw new Error(`Directory: library '${name}' is listed twice`);
      next.set(name, this.counts.get(name) ?? 0);
    }
    const stranded = [...this.counts].filter(([name, count]) => count > 0 && !next.has(name));
    if (stranded.length > 0) {
      const list = stranded.map(([name, count]) => `'${name}' (${count} keys)`).join(', ');
      throw new Error(`Directory: cannot remove libraries that still own keys: ${list}`);
    }
    for (const name of this.interned.keys()) if (!next.has(name)) this.interned.delete(name);
    for (const name of next.keys()) if (!this.interned.has(name)) this.interned.set(name, name);
    this.counts = next;
  }

  /** Bind a key to a library. Returns false when it was already bound there; throws when bound elsewhere. */
  put(key: string, library: string): boolean {
    const name = this.interned.get(library);
    if (name === undefined) throw new Error(`Directory.put: unknown library '${library}'`);
    const current = this.libraryByKey.get(key);
    if (current === name) return false;
    if (current !== undefined) {
      throw new Error(`Directory.put: key '${key}' is bound to '${current}', cannot bind it to '${library}'`);
    }
    this.libraryByKey.set(key, name);
    this.counts.set(name, this.counts.get(name)! + 1);
    return true;
  }

  /**
   * Undo put() (rollback when persistence failed). The caller unbinds the key's correl objects first; the durable
   * directory never binds one to a key whose own binding is not yet on disk, so there are none.
   */
  unput(key: string): void {
    const library = this.libraryByKey.get(key);
    if (library === undefined) return;
    this.libraryByKey.delete(key);
    const count = this.counts.get(library);
    if (count !== undefined) this.counts.set(library, count - 1);
  }

  /**
   * Bind a correl object to a key that already has a library. Returns false when it was already bound to that
   * key; throws when the key is unknown or the object is bound to another key.
   */
  bindCorrel(correlClass: string, object: string, key: string): boolean {
    if (!this.libraryByKey.has(key)) throw new Error(`Directory.bindCorrel: key '${key}' has no library`);
    let objects = this.correls.get(correlClass);
    const current = objects?.get(object);
    if (current === key) return false;
    if (current !== undefined) {
      throw new Error(`Directory.bindCorrel: ${correlClass} object '${object}' is bound to key '${current}'`);
    }
    if (objects === undefined) {
      objects = new Map();
      this.correls.set(correlClass, objects);
    }
    objects.set(object, key);
    this.correlTotal++;
    return true;
  }

  /** Undo bindCorrel() (rollback when persistence failed). */
  unbindCorrel(correlClass: string, object: string): void {
    const objects = this.correls.get(correlClass);
    if (objects === undefined || !objects.delete(object)) return;
    this.correlTotal--;
    if (objects.size === 0) this.correls.delete(correlClass);
  }

  /** Number of keys. */
  size(): number {
    return this.libraryByKey.size;
  }

  /** Number of correl objects, in one class or in all. */
  correlCount(correlClass?: string): number {
    return correlClass === undefined ? this.correlTotal : (this.correls.get(correlClass)?.size ?? 0);
  }

  correlClasses(): string[] {
    return [...this.correls.keys()];
  }

  /** Keys per library, in config order. */
  perLibrary(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
