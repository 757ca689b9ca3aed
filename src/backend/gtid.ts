/**
 * GTID positions as servers print them, and which of two is further ahead. Pure.
 *
 * MariaDB: a position is one GTID per replication domain, `domain-server-sequence`, comma-separated
 * (@@gtid_current_pos). Sequence numbers grow within a domain whatever server wrote them, so a position is ahead
 * of another when it is ahead in some domain and behind in none; ahead in one domain and behind in another is a
 * divergence (each holds transactions the other lacks).
 *
 * MySQL: a GTID set, `uuid:interval[:interval…]` per source, comma-separated (@@gtid_executed). One set is ahead of
 * another when it contains it.
 */

export type GtidPosition =
  | { flavor: 'mariadb'; domains: Map<number, bigint> }
  | { flavor: 'mysql'; sources: Map<string, Interval[]> }
  /** An empty position (nothing executed): behind or equal to anything. */
  | { flavor: 'empty' };

/** Inclusive range of transaction numbers. */
type Interval = [bigint, bigint];

export type GtidComparison = 'equal' | 'ahead' | 'behind' | 'diverged' | 'incomparable';

export class GtidParseError extends Error {
  override name = 'GtidParseError';
}

/** Parses either flavor; throws GtidParseError on anything else. */
export function parseGtidPosition(text: string): GtidPosition {
  const trimmed = text.replace(/\s+/g, '');
  if (trimmed === '') return { flavor: 'empty' };
  return trimmed.includes(':') ? parseMysqlSet(trimmed) : parseMariadbPosition(trimmed);
}

/** The position of `text`, or null when it is missing or malformed (then the server has no known position). */
export function tryParseGtidPosition(text: string | null | undefined): GtidPosition | null {
  if (text === null || text === undefined) return null;
  try {
    return parseGtidPosition(text);
  } catch {
    return null;
  }
}

function parseMariadbPosition(text: string): GtidPosition {
  const domains = new Map<number, bigint>();
  for (const gtid of text.split(',')) {
    const match = /^(\d+)-(\d+)-(\d+)$/.exec(gtid);
    if (!match) throw new GtidParseError(`not a MariaDB GTID (domain-server-sequence): ${JSON.stringify(gtid)}`);
    const domain = Number(match[1]);
    const sequence = BigInt(match[3]);
    // A position holds one GTID per domain; should a server print two, the higher one is where it is.
    if ((domains.get(domain) ?? -1n) < sequence) domains.set(domain, sequence);
  }
  return { flavor: 'mariadb', domains };
}

function parseMysqlSet(text: string): GtidPosition {
  const sources = new Map<string, Interval[]>();
  for (const part of text.split(',')) {
    const [uuid, ...ranges] = part.split(':');
    if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(uuid) || ranges.length === 0) {
      throw new GtidParseError(`not a MySQL GTID set (uuid:interval…): ${JSON.stringify(part)}`);
    }
    const intervals = sources.get(uuid.toLowerCase().replace(/-/g, '')) ?? [];
    for (const range of ranges) {
      const match = /^(\d+)(?:-(\d+))?$/.exec(range);
      if (!match) throw new GtidParseError(`not a GTID interval: ${JSON.stringify(range)} in ${JSON.stringify(part)}`);
      const start = BigInt(match[1]);
      const end = BigInt(match[2] ?? match[1]);
      if (end < start) throw new GtidParseError(`interval ends before it starts: ${JSON.stringify(range)}`);
      intervals.push([start, end]);
    }
    sources.set(uuid.toLowerCase().replace(/-/g, ''), mergeIntervals(intervals));
  }
  return { flavor: 'mysql', sources };
}

function mergeIntervals(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: Interval[] = [];
  for (const [start, end] of sorted) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1] + 1n) last[1] = end > last[1] ? end : last[1];
    else merged.push([start, end]);
  }
  return merged;
}

/** How `a` stands against `b`. */
export function compareGtid(a: GtidPosition, b: GtidPosition): GtidComparison {
  if (a.flavor === 'empty' && b.flavor === 'empty') return 'equal';
  if (a.flavor === 'empty') return isEmpty(b) ? 'equal' : 'behind';
  if (b.flavor === 'empty') return isEmpty(a) ? 'equal' : 'ahead';
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return fromFlags(...mariadbFlags(a.domains, b.domains));
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return fromFlags(!contains(b.sources, a.sources), !contains(a.sources, b.sources));
  return 'incomparable';
}

function isEmpty(position: GtidPosition): boolean {
  if (position.flavor === 'mariadb') return position.domains.size === 0;
  if (position.flavor === 'mysql') return position.sources.size === 0;
  return true;
}

/** [a has something b lacks, b has something a lacks] */
function mariadbFlags(a: Map<number, bigint>, b: Map<number, bigint>): [boolean, boolean] {
  let aAhead = false;
  let bAhead = false;
  for (const domain of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(domain) ?? 0n;
    const y = b.get(domain) ?? 0n;
    if (x > y) aAhead = true;
    if (y > x) bAhead = true;
  }
  return [aAhead, bAhead];
}

function fromFlags(aHasMore: boolean, bHasMore: boolean): GtidComparison {
  if (aHasMore && bHasMore) return 'diverged';
  if (aHasMore) return 'ahead';
  if (bHasMore) return 'behind';
  return 'equal';
}

/** Whether every transaction of `inner` is in `outer`. */
function contains(outer: Map<string, Interval[]>, inner: Map<string, Interval[]>): boolean {
  for (const [source, intervals] of inner) {
    const covering = outer.get(source) ?? [];
    for (const [start, end] of intervals) {
      if (!covering.some(([from, to]) => from <= start && end <= to)) return false;
    }
  }
  return true;
}
