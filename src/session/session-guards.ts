/**
 * The guardrails an account's session runs under: its query rate (users[].max_queries_per_second) and the SQL
 * rules for its account and library. Both are null when not configured, so the splice's checks cost a null test.
 */
import { MAX_PACKET_PAYLOAD } from '../protocol/constants.js';
import { Verdict } from '../protocol/command-splitter.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { QueryRate } from '../guard/query-rate.js';
import type { SessionRules } from '../guard/sql-rules.js';
import { replyError, type SessionAction } from './session-action.js';
import type { SessionServices } from './session-services.js';

/** The answer to a statement checkRules discarded. */
export function tooLargeToCheck(): ProxyError {
  return ProxyErrors.ruleBlocked('Statement of 16 MB or more refused: too large to check against the SQL rules');
}

export class SessionGuards {
  /** The account's query rate, or null: no check per command. */
  rate: QueryRate | null = null;
  /** The SQL rules for this account and library, or null: no check per statement. */
  rules: SessionRules | null = null;
  constructor(private readonly services: SessionServices) {}

  /** Takes the account's query rate and SQL rules from the front door (login, routing, reload, change of user). */
  refresh(user: string | undefined, library: string | null): void {
    const { frontDoor } = this.services;
    this.rate = user === undefined ? null : frontDoor.rateOf(user);
    this.rules = user === undefined ? null : frontDoor.rulesFor(user, library);
  }

  /**
   * A statement (COM_QUERY, COM_STMT_PREPARE) under SQL rules: FORWARD when it is whole in this read and no rule
   * refuses it (the common case, decided without buffering); INTERCEPT to be checked and answered by the
   * command path; DISCARD for a statement of 16 MB or more, which cannot be held to be checked.
   */
  checkRules(buf: Buffer, start: number, payloadLength: number): Verdict {
    if (payloadLength >= MAX_PACKET_PAYLOAD) {
      this.services.events.emit('rule-blocked', { rule: '(too large to check)' });
      return Verdict.DISCARD;
    }
    if (buf.length - start < payloadLength) return Verdict.INTERCEPT;
    return this.rules!.blocking(buf.toString('utf8', start + 1, start + payloadLength)) ? Verdict.INTERCEPT : Verdict.FORWARD;
  }

  /** SQL rules on a whole statement: the refusal to answer, or null when no rule refuses it. */
  blocked(sql: string): SessionAction | null {
    const rule = this.rules?.blocking(sql);
    if (!rule) return null;
    this.services.events.emit('rule-blocked', { rule: rule.name });
    return replyError(ProxyErrors.ruleBlocked(rule.message));
  }

  /**
   * The account's query rate: a command over it waits for its turn (server.max_throttle_ms at most). Resolves to
   * null when the command may run, else to its refusal (1226).
   */
  async throttle(user: string): Promise<SessionAction | null> {
    const rate = this.rate!;
    const waitMs = rate.reserve(performance.now(), this.services.config().frontDoor.maxThrottleMs);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (waitMs >= 0) return null;
    this.services.events.emit('client-refused', { reason: 'query_rate' });
    return replyError(ProxyErrors.userLimitReached(user, 'max_queries_per_second', rate.perSecond));
  }
}
