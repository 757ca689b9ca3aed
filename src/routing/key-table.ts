/**
 * A hash table from short byte strings (the UTF-8 of core-object keys and correl objects) to int32 values, built
 * for directories of millions of keys.
 *
 * Why not a Map<string, …>: a V8 Map costs about 150 bytes per key once the key string is counted, holds at most
 * 2^24 entries (16.7M customers, then every new key fails), and loading a save file through it makes a string per
 * line. Here each key is one record in a growing Buffer (length byte, int32 value, key bytes) and the index is one
 * Int32Array of (record, hash) pairs, so a key costs its bytes plus about 21, the loader inserts straight from the
 * file's bytes, and a look-up touches two places in memory. The limit is 2 GB of records (about 100M keys).
 *
 * Open addressing with linear probing, kept at most half full. The hash is seeded per table: clients choose the
 * keys, so collisions must not be predictable (hash flooding). Pure: no I/O.
 *
 * An entry is its record's offset: stable for the table's life (records never move; removed ones stay, dead).
 */

/** Keys and objects are at most this long in bytes (a length is one byte). */
export const MAX_KEY_TABLE_BYTES = 255;

/** A record: [key length (0 = removed)][value, int32 LE][key bytes]. */
const VALUE_AT = 1;
const KEY_AT = 5;
/** Pair slot values: 0 = never used, TOMBSTONE = removed, otherwise entry + 1. */
const TOMBSTONE = -1;
const INITIAL_SLOTS = 64;
const INITIAL_RECORD_BYTES = 1024;
/** Entries are offsets kept in an Int32Array as entry + 1. */
const MAX_RECORD_BYTES = 2 ** 31 - 2;

/** Where a string key is encoded before it is hashed; long enough for any string that could be a stored key. */
const scratch = Buffer.allocUnsafe(4 * MAX_KEY_TABLE_BYTES);

export class KeyTable {
  /** Set by insert(): whether the key was added (true) or already there (false). */
  added = false;

  private readonly seed: number;
  private records = Buffer.allocUnsafe(INITIAL_RECORD_BYTES);
  private recordBytes = 0;
  private live = 0;
  private tombstones = 0;
  /** slots[2i] = entry + 1 (or 0, TOMBSTONE), slots[2i + 1] = the key's hash: one cache line per probe. */
  private slots = new Int32Array(2 * INITIAL_SLOTS);
  /** Slots in the index: any number, so that a reserved index is no bigger than it needs to be. */
  private capacity = INITIAL_SLOTS;

  constructor(seed: number = crypto.getRandomValues(new Int32Array(1))[0]) {
    this.seed = seed | 0;
  }

  /** Number of keys. */
  get size(): number {
    return this.live;
  }

  /**
   * Makes room for `keys` more keys of `keyBytes` bytes in all at once (the loader's estimate for a file): one
   * allocation instead of a doubling series, each doubling a copy of everything so far.
   */
  reserve(keys: number, keyBytes: number): void {
    const needed = this.recordBytes + KEY_AT * keys + keyBytes;
    if (needed > this.records.length) this.growRecords(needed);
    // Sized to be half full once they are in: the index is what each insert touches at random.
    const capacity = 2 * (this.live + keys);
    if (capacity > this.capacity) this.rebuild(capacity);
  }

  /** The entry of the key buf[start, end), or -1. */
  find(buf: Uint8Array, start: number, end: number): number {
    if (end - start > MAX_KEY_TABLE_BYTES || end <= start) return -1;
    const hash = this.hash(buf, start, end);
    const slots = this.slots;
    for (let slot = this.home(hash); ; slot = this.next(slot)) {
      const ref = slots[2 * slot];
      if (ref === 0) return -1;
      if (ref > 0 && slots[2 * slot + 1] === hash && this.keyEquals(ref - 1, buf, start, end)) return ref - 1;
    }
  }

  /** The entry of a string key (its UTF-8 bytes), or -1. */
  findString(key: string): number {
    if (key.length > MAX_KEY_TABLE_BYTES) return -1; // at least one byte per UTF-16 unit
    return this.find(scratch, 0, scratch.write(key, 0, 'utf8'));
  }

  /**
   * The entry of the key buf[start, end), added with `value` when absent; `added` tells which. Throws a RangeError
   * for an empty or over-long key, or when the table is full.
   */
  insert(buf: Uint8Array, start: number, end: number, value: number): number {
    const length = end - start;
    if (length <= 0 || length > MAX_KEY_TABLE_BYTES) throw new RangeError(`KeyTable: a key must be 1..${MAX_KEY_TABLE_BYTES} bytes, not ${length}`);
    const hash = this.hash(buf, start, end);
    const slots = this.slots;
    let free = -1;
    let slot = this.home(hash);
    for (; ; slot = this.next(slot)) {
      const ref = slots[2 * slot];
      if (ref === 0) break;
      if (ref === TOMBSTONE) {
        if (free === -1) free = slot;
      } else if (slots[2 * slot + 1] === hash && this.keyEquals(ref - 1, buf, start, end)) {
        this.added = false;
        return ref - 1;
      }
    }
    const entry = this.appendRecord(buf, start, end, value);
    if (free !== -1) {
      slot = free;
      this.tombstones--;
    }
    slots[2 * slot] = entry + 1;
    slots[2 * slot + 1] = hash;
    this.live++;
    this.added = true;
    if (2 * (this.live + this.tombstones) > this.capacity) this.rebuild(this.grownCapacity());
    return entry;
  }

  /** insert() for a string key. */
  insertString(key: string, value: number): number {
    if (key.length > MAX_KEY_TABLE_BYTES) throw new RangeError(`KeyTable: a key must be 1..${MAX_KEY_TABLE_BYTES} bytes`);
    return this.insert(scratch, 0, scratch.write(key, 0, 'utf8'), value);
  }

  /** Removes an entry (rollbacks only: its record stays, dead, and its entry is never handed out again). */
  remove(entry: number): void {
    if (!this.isLive(entry)) return;
    const start = entry + KEY_AT;
    const slots = this.slots;
    for (let slot = this.home(this.hash(this.records, start, start + this.records[entry])); ; slot = this.next(slot)) {
      const ref = slots[2 * slot];
      if (ref === 0) return; // cannot happen: a live entry is always indexed
      if (ref === entry + 1) {
        slots[2 * slot] = TOMBSTONE;
        break;
      }
    }
    this.records[entry] = 0;
    this.live--;
    this.tombstones++;
  }

  /** Whether `entry` is a key of this table that has not been removed. */
  isLive(entry: number): boolean {
    // Only entries this table handed out are asked about; the range check keeps a stray number harmless.
    return entry >= 0 && entry + KEY_AT < this.recordBytes && this.records[entry] !== 0;
  }

  value(entry: number): number {
    const records = this.records;
    const at = entry + VALUE_AT;
    return records[at] | (records[at + 1] << 8) | (records[at + 2] << 16) | (records[at + 3] << 24);
  }

  setValue(entry: number, value: number): void {
    this.records.writeInt32LE(value | 0, entry + VALUE_AT);
  }

  /** The key of a live entry, decoded from UTF-8. */
  keyOf(entry: number): string {
    const start = entry + KEY_AT;
    return this.records.toString('utf8', start, start + this.records[entry]);
  }

  /** Slots of the index (at least twice the keys). */
  get slotCount(): number {
    return this.capacity;
  }

  /** Bytes held for records and index, for memory figures. */
  get byteSize(): number {
    return this.records.length + this.slots.byteLength;
  }

  /** The slot a hash starts probing at: its high bits scaled to the capacity (no power of two needed). */
  private home(hash: number): number {
    return Math.floor(((hash >>> 0) * this.capacity) / 2 ** 32);
  }

  private next(slot: number): number {
    return slot + 1 === this.capacity ? 0 : slot + 1;
  }

  /** Seeded 32-bit hash of the bytes (a multiply-xorshift per byte, then a final mix). */
  private hash(buf: Uint8Array, start: number, end: number): number {
    let h = this.seed ^ (end - start);
    for (let i = start; i < end; i++) {
      h = Math.imul(h ^ buf[i], 0x5bd1e995);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  private keyEquals(entry: number, buf: Uint8Array, start: number, end: number): boolean {
    const records = this.records;
    const length = end - start;
    if (records[entry] !== length) return false;
    const key = entry + KEY_AT;
    for (let k = 0; k < length; k++) if (records[key + k] !== buf[start + k]) return false;
    return true;
  }

  private appendRecord(buf: Uint8Array, start: number, end: number, value: number): number {
    const length = end - start;
    const entry = this.recordBytes;
    if (entry + KEY_AT + length > this.records.length) this.growRecords(entry + KEY_AT + length);
    const records = this.records;
    records[entry] = length;
    records[entry + VALUE_AT] = value;
    records[entry + VALUE_AT + 1] = value >>> 8;
    records[entry + VALUE_AT + 2] = value >>> 16;
    records[entry + VALUE_AT + 3] = value >>> 24;
    let at = entry + KEY_AT;
    for (let i = start; i < end; i++) records[at++] = buf[i];
    this.recordBytes = at;
    return entry;
  }

  private growRecords(needed: number): void {
    if (needed > MAX_RECORD_BYTES) throw new RangeError('KeyTable: full (2 GB of keys)');
    const grown = Buffer.allocUnsafe(Math.min(MAX_RECORD_BYTES, Math.max(needed, 2 * this.records.length)));
    this.records.copy(grown, 0, 0, this.recordBytes);
    this.records = grown;
  }

  /**
   * Slots for the index when it is half full: twice as many when keys filled it, as many when tombstones did (so
   * that removals never make every insert rebuild); either way at most 3/8 full after the rebuild.
   */
  private grownCapacity(): number {
    let capacity = this.capacity;
    while (8 * this.live > 3 * capacity) capacity *= 2;
    return capacity;
  }

  /** A new index of `capacity` slots, without tombstones. */
  private rebuild(capacity: number): void {
    if (capacity > 2 ** 28) throw new RangeError('KeyTable: full (2^27 keys)');
    const old = this.slots;
    this.slots = new Int32Array(2 * capacity);
    this.capacity = capacity;
    this.tombstones = 0;
    const slots = this.slots;
    for (let i = 0; i < old.length; i += 2) {
      const ref = old[i];
      if (ref <= 0) continue;
      const hash = old[i + 1];
      let slot = this.home(hash);
      while (slots[2 * slot] !== 0) slot = this.next(slot);
      slots[2 * slot] = ref;
      slots[2 * slot + 1] = hash;
    }
  }
}
