/**
 * The front door of one proxy: who may connect, how many at once, how fast, and which statements are refused.
 * Holds the state the limits need (sessions per account, failed logins per address, each account's query rate,
 * the compiled rules) and reads the limits from the live configuration, so a reload applies to the next
 * connection and the next command. No I/O: the session and the listener act on its answers.
 */
import { DEFAULTS } from '../config/schema.js';
import type { ClientUserConfig, MysqldaConfig } from '../config/types.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { AddressList, clientIp } from './address-list.js';
import { LoginThrottle } from './login-throttle.js';
import { QueryRate } from './query-rate.js';
import { RuleBook, type SessionRules } from './sql-rules.js';

/** Why a client was turned away: the label of mysqlda_client_refused_total. */
export type RefusalReason = 'max_connections' | 'host_not_allowed' | 'user_max_connections' | 'query_rate' | 'login_timeout' | 'rule';

export class FrontDoor {
  private allow: AddressList | null = null;
  private readonly accountHosts = new Map<string, AddressList>();
  private readonly accountSessions = new Map<string, number>();
  private readonly rates = new Map<string, QueryRate>();
  private ruleBook: RuleBook;
  readonly throttle: LoginThrottle;

  constructor(private config: MysqldaConfig) {
    this.throttle = new LoginThrottle(() => ({
      threshold: this.config.frontDoor.maxLoginFailures,
      maxDelayMs: this.config.frontDoor.maxLoginDelayMs,
      stepMs: DEFAULTS.loginDelayStepMs,
    }));
    this.ruleBook = new RuleBook([]);
    this.apply(config);
  }

  /** Takes a new configuration (start, reload). Query rates whose limit is unchanged keep their state. */
  apply(config: MysqldaConfig): void {
    this.config = config;
    this.allow = config.frontDoor.allow ? new AddressList(config.frontDoor.allow) : null;
    this.accountHosts.clear();
    const limited = new Set<string>();
    for (const user of config.users) {
      if (user.hosts) this.accountHosts.set(user.user, new AddressList(user.hosts));
      if (user.maxQueriesPerSecond !== null) {
        limited.add(user.user);
        if (this.rates.get(user.user)?.perSecond !== user.maxQueriesPerSecond) this.rates.set(user.user, new QueryRate(user.maxQueriesPerSecond, performance.now()));
      }
    }
    for (const user of this.rates.keys()) if (!limited.has(user)) this.rates.delete(user);
    this.ruleBook = new RuleBook(config.rules);
  }

  get limits(): MysqldaConfig['frontDoor'] {
    return this.config.frontDoor;
  }

  /**
   * A new TCP connection, before its greeting: refused (allow list, max_connections) or let in after `delayMs`
   * (failed-login throttling of its address).
   */
  admitConnection(remoteAddress: string | undefined, openSessions: number): { refused: ProxyError; reason: RefusalReason } | { delayMs: number } {
    if (this.allow && !this.allow.includes(remoteAddress)) {
      return { refused: ProxyErrors.hostNotAllowed(clientIp(remoteAddress)), reason: 'host_not_allowed' };
    }
    if (openSessions >= this.config.frontDoor.maxConnections) return { refused: ProxyErrors.tooManyConnections(), reason: 'max_connections' };
    return { delayMs: this.throttle.delayFor(clientIp(remoteAddress)) };
  }

  /** The account's own host list, checked once the client has named it and before its password is. */
  checkAccountHost(user: string, remoteAddress: string | undefined): ProxyError | null {
    const hosts = this.accountHosts.get(user);
    return hosts && !hosts.includes(remoteAddress) ? ProxyErrors.hostNotAllowed(clientIp(remoteAddress)) : null;
  }

  /** A login succeeded: counted against the account's max_connections, or refused. Pair with leave(). */
  enter(account: Pick<ClientUserConfig, 'user'>, remoteAddress: string | undefined): ProxyError | null {
    this.throttle.succeeded(clientIp(remoteAddress));
    const limit = this.config.users.find((user) => user.user === account.user)?.maxConnections ?? null;
    const open = this.accountSessions.get(account.user) ?? 0;
    if (limit !== null && open >= limit) return ProxyErrors.userLimitReached(account.user, 'max_user_connections', limit);
    this.accountSessions.set(account.user, open + 1);
    return null;
  }

  /** A session counted by enter() ended (or changed user). */
  leave(user: string): void {
    const open = (this.accountSessions.get(user) ?? 1) - 1;
    if (open > 0) this.accountSessions.set(user, open);
    else this.accountSessions.delete(user);
  }

  loginFailed(remoteAddress: string | undefined): void {
    this.throttle.failed(clientIp(remoteAddress));
  }

  /** The account's query rate, or null when it has none. */
  rateOf(user: string): QueryRate | null {
    return this.rates.get(user) ?? null;
  }

  rulesFor(user: string, library: string | null): SessionRules | null {
    return this.ruleBook.forSession(user, library);
  }

  /** Sessions per account, for /status. */
  sessionsPerAccount(): Record<string, number> {
    return Object.fromEntries(this.accountSessions);
  }
}
