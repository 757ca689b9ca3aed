/**
 * Typed readers over a parsed JSON object that record a problem (with its JSON path) instead of throwing,
 * so validation can report every problem of a file at once.
 */
import { isIP } from 'node:net';
import { childPath, type JsonObject, type JsonValue } from './jsonc.js';
import { SECRET_KEYS, type IntegerRange } from './schema.js';

export class Review {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  problem(path: string, message: string): void {
    this.problems.push(`${path === '' ? '(top level)' : path}: ${message}`);
  }

  warning(path: string, message: string): void {
    this.warnings.push(`${path === '' ? '(top level)' : path}: ${message}`);
  }
}

/** A field to read: the object holding it, its key, and the object's own path. */
export interface Field {
  object: JsonObject;
  key: string;
  parentPath: string;
}

export function field(object: JsonObject, key: string, parentPath: string): Field {
  return { object, key, parentPath };
}

/** Whether the key is present at all (a present `null` counts). */
export function isPresent(f: Field): boolean {
  return valueOf(f) !== undefined;
}

function pathOf(f: Field): string {
  return childPath(f.parentPath, f.key);
}

function valueOf(f: Field): JsonValue | undefined {
  return Object.prototype.hasOwnProperty.call(f.object, f.key) ? f.object[f.key] : undefined;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a wrong value is quoted in a message: its type only for secrets, else a short literal. */
export function describe(value: JsonValue, secret = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (secret) return `a ${typeof value}`;
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

function got(f: Field, value: JsonValue): string {
  return `got ${describe(value, SECRET_KEYS.has(f.key))}`;
}

/** Warn about every key of `object` not in `known`; mysqlda ignored such keys, so do we. */
export function checkKnownKeys(review: Review, object: JsonObject, path: string, known: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) review.warning(childPath(path, key), 'unknown key, ignored');
  }
}

/**
 * A section object. Absent → an empty object, so its required keys are reported one by one.
 * Present but not an object → a problem, and undefined so its contents are not examined.
 */
export function readSection(review: Review, f: Field, known: readonly string[]): JsonObject | undefined {
  const value = valueOf(f);
  if (value === undefined) return Object.create(null) as JsonObject;
  if (!isJsonObject(value)) {
    review.problem(pathOf(f), `must be an object, ${got(f, value)}`);
    return undefined;
  }
  checkKnownKeys(review, value, pathOf(f), known);
  return value;
}

export function readArray(review: Review, f: Field, what: string): JsonValue[] | undefined {
  const value = valueOf(f);
  if (value === undefined) {
    review.problem(pathOf(f), `required (${what})`);
    return undefined;
  }
  if (!Array.isArray(value)) {
    review.problem(pathOf(f), `must be ${what}, ${got(f, value)}`);
    return undefined;
  }
  if (value.length === 0) review.problem(pathOf(f), `must not be empty (${what})`);
  return value;
}

function rangeText(range: IntegerRange): string {
  return range.max >= Number.MAX_SAFE_INTEGER ? `an integer >= ${range.min}` : `an integer ${range.min}..${range.max}`;
}

/**
 * An integer within range. As mysqlda did, a string of digits ("13307") is accepted; unlike mysqlda,
 * "3306x", 3306.9 and negative numbers are not silently truncated.
 * Absent → `fallback`, or a problem when there is none.
 */
export function readInteger(review: Review, f: Field, range: IntegerRange, fallback?: number): number | undefined {
  const value = valueOf(f);
  if (value === undefined) {
    if (fallback === undefined) review.problem(pathOf(f), `required (${rangeText(range)})`);
    return fallback;
  }
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < range.min || n > range.max) {
    review.problem(pathOf(f), `must be ${rangeText(range)}, ${got(f, value)}`);
    return undefined;
  }
  return n;
}

/** A JSON number greater than zero. */
export function readPositiveNumber(review: Review, f: Field, fallback: number): number | undefined {
  const value = valueOf(f);
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    review.problem(pathOf(f), `must be a number > 0, ${got(f, value)}`);
    return undefined;
  }
  return value;
}

export interface StringRule {
  /** Returned when the key is absent; without it the key is required. */
  fallback?: string;
  nonEmpty?: boolean;
}

export function readString(review: Review, f: Field, rule: StringRule = {}): string | undefined {
  const value = valueOf(f);
  if (value === undefined) {
    if (rule.fallback === undefined) review.problem(pathOf(f), 'required (a string)');
    return rule.fallback;
  }
  if (typeof value !== 'string') {
    review.problem(pathOf(f), `must be a string, ${got(f, value)}`);
    return undefined;
  }
  if (rule.nonEmpty && value === '') {
    review.problem(pathOf(f), 'must not be empty');
    return undefined;
  }
  return value;
}

/** An IP literal (v4 or v6) or a DNS host name (RFC 1123 labels; `_` tolerated, as container names use it). */
export function isHostOrIp(text: string): boolean {
  if (isIP(text) !== 0) return true;
  if (text.length === 0 || text.length > 253) return false;
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (/^[0-9.]+$/.test(name)) return false; // looks like an IPv4 address but is not one
  return name.split('.').every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

/** A required host: an IP literal or a host name. */
export function readHost(review: Review, f: Field): string | undefined {
  const host = readString(review, f);
  if (host === undefined) return undefined;
  if (!isHostOrIp(host)) {
    review.problem(pathOf(f), `must be an IP address or host name, ${got(f, host)}`);
    return undefined;
  }
  return host;
}

/** A JSON boolean (true/false only: "yes" or 1 would hide a typo). Absent → `fallback`. */
export function readBoolean(review: Review, f: Field, fallback: boolean): boolean | undefined {
  const value = valueOf(f);
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    review.problem(pathOf(f), `must be true or false, ${got(f, value)}`);
    return undefined;
  }
  return value;
}

/** An optional string: absent (or null) → null. */
export function readOptionalString(review: Review, f: Field, rule: { nonEmpty?: boolean } = {}): string | null | undefined {
  const value = valueOf(f);
  if (value === undefined || value === null) return null;
  return readString(review, f, rule);
}

/** The JSON path of a field, for messages made outside this module. */
export function fieldPath(f: Field): string {
  return pathOf(f);
}
