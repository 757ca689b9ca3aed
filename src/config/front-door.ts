/**
 * The front door's configuration: the limits, timeouts and allow lists of the client side (extension keys of
 * `server` and of each `users[]` account) and the SQL rules (`rules`). Pure; defaults come from schema.ts.
 */
import { parseAddressPattern } from '../guard/address-list.js';
import { childPath, type JsonObject, type JsonValue } from './jsonc.js';
import { Review, checkKnownKeys, describe, field, fieldPath, isJsonObject, readInteger, readOptionalString, readString, type Field } from './fields.js';
import { DEFAULTS, KNOWN_KEYS, LIMITS } from './schema.js';
import type { ClientUserConfig, FrontDoorConfig, SqlRuleConfig } from './types.js';

/** The extension keys of `server`. `server` is the section already read for listen_ip/listen_port. */
export function readFrontDoor(review: Review, server: JsonObject): FrontDoorConfig | undefined {
  const d = DEFAULTS.frontDoor;
  const int = (key: string, range: { min: number; max: number }, fallback: number) => readInteger(review, field(server, key, 'server'), range, fallback);
  const config = {
    maxConnections: int('max_connections', LIMITS.maxClientConnections, d.maxConnections),
    loginTimeoutMs: int('login_timeout_ms', LIMITS.loginTimeoutMs, d.loginTimeoutMs),
    clientIdleTimeoutSeconds: int('client_idle_timeout_s', LIMITS.clientIdleTimeoutSeconds, d.clientIdleTimeoutSeconds),
    allow: readAddressList(review, field(server, 'allow', 'server')),
    maxLoginFailures: int('max_login_failures', LIMITS.maxLoginFailures, d.maxLoginFailures),
    maxLoginDelayMs: int('max_login_delay_ms', LIMITS.maxLoginDelayMs, d.maxLoginDelayMs),
    maxThrottleMs: int('max_throttle_ms', LIMITS.maxThrottleMs, d.maxThrottleMs),
    maxLobbyPacketBytes: int('max_lobby_packet_bytes', LIMITS.maxLobbyPacketBytes, d.maxLobbyPacketBytes),
  };
  return Object.values(config).some((value) => value === undefined) ? undefined : (config as FrontDoorConfig);
}

export type AccountLimits = Pick<ClientUserConfig, 'hosts' | 'maxConnections' | 'maxQueriesPerSecond' | 'queryTimeoutMs'>;

/** hosts, max_connections, max_queries_per_second, query_timeout_ms of a users[] account or of the auth block. */
export function readAccountLimits(review: Review, entry: JsonObject, userPath: string): AccountLimits | undefined {
  const hosts = readAddressList(review, field(entry, 'hosts', userPath));
  const maxConnections = readOptionalInteger(review, field(entry, 'max_connections', userPath), LIMITS.accountMaxConnections);
  const maxQueriesPerSecond = readOptionalInteger(review, field(entry, 'max_queries_per_second', userPath), LIMITS.maxQueriesPerSecond);
  const queryTimeoutMs = readInteger(review, field(entry, 'query_timeout_ms', userPath), LIMITS.queryTimeoutMs, DEFAULTS.userQueryTimeoutMs);
  if (hosts === undefined || maxConnections === undefined || maxQueriesPerSecond === undefined || queryTimeoutMs === undefined) return undefined;
  // Only accounts with a timeout carry the key: the others pay nothing for it, per statement or in comparisons.
  return { hosts, maxConnections, maxQueriesPerSecond, ...(queryTimeoutMs > 0 ? { queryTimeoutMs } : {}) };
}

/**
 * `rules`: [{ name?, match, users?, libraries?, action: "block", message? }]. Accounts and libraries are checked
 * against the config so that a typo does not leave a rule that never applies.
 */
export function readRules(
  review: Review,
  document: JsonObject,
  accounts: ReadonlySet<string> | undefined,
  libraries: ReadonlySet<string> | undefined,
): SqlRuleConfig[] | undefined {
  const list = document.rules;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    review.problem('rules', `must be an array of rules, got ${describe(list)}`);
    return undefined;
  }
  const names = new Set<string>();
  const rules = list.map((entry, i) => readRule(review, entry, childPath('rules', i), { accounts, libraries, names }));
  return rules.every((rule): rule is SqlRuleConfig => rule !== undefined) ? rules : undefined;
}

interface RuleContext {
  accounts: ReadonlySet<string> | undefined;
  libraries: ReadonlySet<string> | undefined;
  names: Set<string>;
}

function readRule(review: Review, entry: JsonValue, rulePath: string, context: RuleContext): SqlRuleConfig | undefined {
  if (!isJsonObject(entry)) {
    review.problem(rulePath, `must be an object, got ${describe(entry)}`);
    return undefined;
  }
  checkKnownKeys(review, entry, rulePath, KNOWN_KEYS.rule);
  const name = readString(review, field(entry, 'name', rulePath), { fallback: rulePath, nonEmpty: true });
  if (name !== undefined && context.names.has(name)) {
    review.problem(childPath(rulePath, 'name'), `rule name ${describe(name)} is used twice`);
    return undefined;
  }
  if (name !== undefined) context.names.add(name);
  const match = readString(review, field(entry, 'match', rulePath), { nonEmpty: true });
  if (match !== undefined) {
    try {
      new RegExp(match, 'i');
    } catch (err) {
      review.problem(childPath(rulePath, 'match'), `is not a valid regular expression: ${(err as Error).message}`);
      return undefined;
    }
  }
  const users = readNameList(review, field(entry, 'users', rulePath), context.accounts, 'account');
  const libraries = readNameList(review, field(entry, 'libraries', rulePath), context.libraries, 'library');
  const action = readString(review, field(entry, 'action', rulePath));
  if (action !== undefined && action !== 'block') {
    review.problem(childPath(rulePath, 'action'), `must be "block", got ${describe(action)}`);
    return undefined;
  }
  const message = readOptionalString(review, field(entry, 'message', rulePath), { nonEmpty: true });
  if (name === undefined || match === undefined || users === undefined || libraries === undefined || message === undefined) return undefined;
  return { name, match, users, libraries, action: 'block', message: message ?? `Statement blocked by mysqlda rule '${name}'` };
}

/** An optional list of names, each known (when the known set could be read). */
function readNameList(review: Review, f: Field, known: ReadonlySet<string> | undefined, what: string): string[] | null | undefined {
  const value = f.object[f.key];
  if (value === undefined || value === null) return null;
  const path = fieldPath(f);
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string' && item !== '')) {
    review.problem(path, `must be a non-empty array of ${what} names, got ${describe(value)}`);
    return undefined;
  }
  const names = value as string[];
  const unknown = known ? names.filter((name) => !known.has(name)) : [];
  if (unknown.length > 0) {
    review.problem(path, `no ${what} is called ${unknown.map((name) => describe(name)).join(', ')}`);
    return undefined;
  }
  return names;
}

/** An optional list of addresses and CIDR blocks; absent or null → null (no restriction). */
function readAddressList(review: Review, f: Field): string[] | null | undefined {
  const value = f.object[f.key];
  if (value === undefined || value === null) return null;
  const path = fieldPath(f);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    review.problem(path, `must be an array of addresses and CIDR blocks ("10.0.0.0/8", "::1"), got ${describe(value)}`);
    return undefined;
  }
  let ok = true;
  value.forEach((item, i) => {
    const pattern = parseAddressPattern(item as string);
    if ('problem' in pattern) {
      review.problem(childPath(path, i), `${pattern.problem}, got ${describe(item)}`);
      ok = false;
    }
  });
  if (ok && value.length === 0) review.warning(path, 'an empty list lets no client in');
  return ok ? (value as string[]) : undefined;
}

/** An optional integer within range; absent or null → null. */
function readOptionalInteger(review: Review, f: Field, range: { min: number; max: number }): number | null | undefined {
  const value = f.object[f.key];
  if (value === undefined || value === null) return null;
  return readInteger(review, f, range);
}
