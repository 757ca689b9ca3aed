/**
 * The in-memory directory: core-object key → library, and per correl class, correl object → key.
 * Pure bookkeeping with its invariants enforced; durability lives in src/store/.
 *
 * Memory: keys live in a KeyTable (their UTF-8 bytes plus about 30 bytes each, no string per key) whose value is a
 * library id; a correl object's value is its key's entry, so an alias costs its own bytes and no copy of the key.
 * The loader feeds save-file bytes straight in (putBytes, bindCorrelBytes).
 */

import type { LibraryLoad } from './assignment.js';
import { KeyTable } from './key-table.js';

/** What loading one save-file record did: the binding is new, already there, or contradicted by an earlier one. */
export type LoadOutcome = 'added' | 'repeated' | { boundTo: string };

export class Directory {
  private readonly keys = new KeyTable();
  /** Library id (the value stored per key) → name. Ids are never reused, so a stored id always means one name. */
  private readonly names: string[] = [];
  private readonly idByName = new Map<string, number>();
  /** Keys per library id. */
  private readonly counts: number[] = [];
  /** Library ids in config order: the configured libraries (a handful, so a scan is the membership test). */
  private order: number[] = [];
  /** Correl class → (object → entry of its key in `keys`). */
  private readonly correls = new Map<string, KeyTable>();
  private correlTotal = 0;

  constructor(libraryNames: readonly string[]) {
    this.setLibraries(libraryNames);
  }

  libraryOf(key: string): string | undefined {
    const entry = this.keys.findString(key);
    return entry === -1 ? undefined : this.names[this.keys.value(entry)];
  }

  keyOfCorrel(correlClass: string, object: string): string | undefined {
    const objects = this.correls.get(correlClass);
    const entry = objects === undefined ? -1 : objects.findString(object);
    return entry === -1 ? undefined : this.keyOfEntry(objects!.value(entry));
  }

  hasLibrary(library: string): boolean {
    return this.libraryId(library) !== -1;
  }

  keyCount(library: string): number {
    const id = this.idByName.get(library);
    return id === undefined ? 0 : this.counts[id];
  }

  /** Library names in config order. */
  libraries(): string[] {
    return this.order.map((id) => this.names[id]);
  }

  /** Loads in config order, for chooseLibrary. Throws when a library has no weight. */
  loads(weights: ReadonlyMap<string, number>): LibraryLoad[] {
    return this.order.map((id) => {
      const name = this.names[id];
      const weight = weights.get(name);
      if (weight === undefined) throw new Error(`Directory.loads: no weight for library '${name}'`);
      return { name, weight, keyCount: this.counts[id] };
    });
  }

  /**
   * Replace the set and order of libraries (live reload). New libraries start with no keys. Throws, changing
   * nothing, when a library that would be removed still owns keys.
   */
  setLibraries(names: readonly string[]): void {
    const next = new Set<string>();
    for (const name of names) {
      if (name.length === 0) throw new Error('Directory: empty library name');
      if (next.has(name)) throw new Error(`Directory: library '${name}' is listed twice`);
      next.add(name);
    }
    const stranded = this.libraries().filter((name) => this.keyCount(name) > 0 && !next.has(name));
    if (stranded.length > 0) {
      const list = stranded.map((name) => `'${name}' (${this.keyCount(name)} keys)`).join(', ');
      throw new Error(`Directory: cannot remove libraries that still own keys: ${list}`);
    }
    this.order = names.map((name) => this.idOf(name));
  }

  /** Room for about `keys` more keys of `keyBytes` bytes in all (the loader's estimate for a save file). */
  reserveKeys(keys: number, keyBytes: number): void {
    this.keys.reserve(keys, keyBytes);
  }

  /** Room for about `objects` more objects of a correl class, of `objectBytes` bytes in all. */
  reserveCorrels(correlClass: string, objects: number, objectBytes: number): void {
    this.objectsOf(correlClass).reserve(objects, objectBytes);
  }

  /** Bind a key to a library. Returns false when it was already bound there; throws when bound elsewhere. */
  put(key: string, library: string): boolean {
    const id = this.configuredId(library, 'put');
    const entry = this.keys.insertString(key, id);
    if (!this.keys.added) {
      const current = this.names[this.keys.value(entry)];
      if (current === library) return false;
      throw new Error(`Directory.put: key '${key}' is bound to '${current}', cannot bind it to '${library}'`);
    }
    this.counts[id]++;
    return true;
  }

  /**
   * Move a known key to another configured library (a key move made elsewhere, read from the shared directory's
   * change feed). Returns false, changing nothing, when the key is unknown or the library is not configured.
   */
  rebind(key: string, library: string): boolean {
    const entry = this.keys.findString(key);
    const id = this.libraryId(library);
    if (entry === -1 || id === -1) return false;
    const current = this.keys.value(entry);
    if (current === id) return true;
    this.counts[current]--;
    this.counts[id]++;
    this.keys.setValue(entry, id);
    return true;
  }

  /** A configured library's id for putBytes, or -1. */
  libraryId(library: string): number {
    const id = this.idByName.get(library);
    return id !== undefined && this.order.includes(id) ? id : -1;
  }

  /** put() from a save file: the key is buf[start, end) (valid UTF-8), the library a libraryId(). */
  putBytes(buf: Uint8Array, start: number, end: number, id: number): LoadOutcome {
    const entry = this.keys.insert(buf, start, end, id);
    if (this.keys.added) {
      this.counts[id]++;
      return 'added';
    }
    const current = this.keys.value(entry);
    return current === id ? 'repeated' : { boundTo: this.names[current] };
  }

  /**
   * Undo put() (rollback when persistence failed). The caller unbinds the key's correl objects first; the durable
   * directory never binds one to a key whose own binding is not yet on disk, so there are none.
   */
  unput(key: string): void {
    const entry = this.keys.findString(key);
    if (entry === -1) return;
    this.counts[this.keys.value(entry)]--;
    this.keys.remove(entry);
  }

  /**
   * Bind a correl object to a key that already has a library. Returns false when it was already bound to that
   * key; throws when the key is unknown or the object is bound to another key.
   */
  bindCorrel(correlClass: string, object: string, key: string): boolean {
    const keyEntry = this.keys.findString(key);
    if (keyEntry === -1) throw new Error(`Directory.bindCorrel: key '${key}' has no library`);
    const objects = this.objectsOf(correlClass);
    const entry = objects.insertString(object, keyEntry);
    if (objects.added) {
      this.correlTotal++;
      return true;
    }
    const current = objects.value(entry);
    if (current === keyEntry) return false;
    if (!this.keys.isLive(current)) {
      // Bound to a key rolled back since (cannot happen through the durable directory): the new binding stands.
      objects.setValue(entry, keyEntry);
      return true;
    }
    throw new Error(`Directory.bindCorrel: ${correlClass} object '${object}' is bound to key '${this.keyOfEntry(current)}'`);
  }

  /**
   * bindCorrel() from a save file: object and key are byte ranges of `buf` (valid UTF-8). 'unknown-key' when the
   * key has no library.
   */
  bindCorrelBytes(
    correlClass: string, buf: Uint8Array, objectStart: number, objectEnd: number, keyStart: number, keyEnd: number,
  ): LoadOutcome | 'unknown-key' {
    const keyEntry = this.keys.find(buf, keyStart, keyEnd);
    if (keyEntry === -1) return 'unknown-key';
    const objects = this.objectsOf(correlClass);
    const entry = objects.insert(buf, objectStart, objectEnd, keyEntry);
    if (objects.added) {
      this.correlTotal++;
      return 'added';
    }
    const current = objects.value(entry);
    return current === keyEntry ? 'repeated' : { boundTo: this.keyOfEntry(current)! };
  }

  /** Undo bindCorrel() (rollback when persistence failed). */
  unbindCorrel(correlClass: string, object: string): void {
    const objects = this.correls.get(correlClass);
    const entry = objects === undefined ? -1 : objects.findString(object);
    if (entry === -1) return;
    objects!.remove(entry);
    this.correlTotal--;
    if (objects!.size === 0) this.correls.delete(correlClass);
  }

  /** Number of keys. */
  size(): number {
    return this.keys.size;
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
    return Object.fromEntries(this.order.map((id) => [this.names[id], this.counts[id]]));
  }

  private idOf(name: string): number {
    let id = this.idByName.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.counts.push(0);
      this.idByName.set(name, id);
    }
    return id;
  }

  private configuredId(library: string, caller: string): number {
    const id = this.libraryId(library);
    if (id === -1) throw new Error(`Directory.${caller}: unknown library '${library}'`);
    return id;
  }

  private objectsOf(correlClass: string): KeyTable {
    let objects = this.correls.get(correlClass);
    if (objects === undefined) {
      objects = new KeyTable();
      this.correls.set(correlClass, objects);
    }
    return objects;
  }

  /** The key of a core entry; undefined when that key was rolled back. */
  private keyOfEntry(entry: number): string | undefined {
    return this.keys.isLive(entry) ? this.keys.keyOf(entry) : undefined;
  }
}
