/**
 * The guarded proxy: a second mysqlda on the stage whose config has every guardrail of the front door on (server
 * limits and allow list, the limits of the account sysbench logs in with, a second account with a statement
 * timeout, ten SQL rules, the slow-query log), set so that none of them ever fires under the bench's load: what
 * point selects through it cost over the plain proxy is the cost of the checks themselves.
 */

/**
 * Merged, section by section, over the bench's usual proxy config (the sandbox's `server`, `auth`, `forwards`, ...).
 * The account sysbench uses has a statement timeout far above any statement's time: its timer is re-armed per
 * statement and never fires.
 */
export const GUARDED_CONFIG = {
  server: {
    max_connections: 5_000,
    allow: ['127.0.0.0/8', '::1'],
    client_idle_timeout_s: 600,
    login_timeout_ms: 5_000,
    max_login_failures: 5,
    max_login_delay_ms: 5_000,
    max_throttle_ms: 500,
    max_lobby_packet_bytes: 16_384,
    drain_timeout_s: 10,
  },
  auth: {
    hosts: ['127.0.0.0/8'],
    max_connections: 4_000,
    // Far above what two cores serve: the rate is checked on every command and never throttles.
    max_queries_per_second: 10_000_000,
    query_timeout_ms: 60_000,
  },
  users: [{ user: 'other', pass: 'x', query_timeout_ms: 60_000 }],
  // Statements an operator would refuse; none matches the bench's point selects, `select library` or `SELECT 1`,
  // so every rule is tried against every text statement.
  rules: [
    { name: 'no_drop', match: '^\\s*drop\\s+(table|database)', action: 'block' },
    { name: 'no_truncate', match: '^\\s*truncate\\s', action: 'block' },
    { name: 'no_outfile', match: '\\binto\\s+outfile\\b', action: 'block' },
    { name: 'no_load_file', match: '\\bload_file\\s*\\(', action: 'block' },
    { name: 'no_shutdown', match: '^\\s*shutdown\\b', action: 'block' },
    { name: 'no_grant', match: '^\\s*grant\\s', action: 'block' },
    { name: 'no_long_sleep', match: '\\bsleep\\s*\\(\\s*[0-9]{3,}', action: 'block' },
    { name: 'no_alter_user', match: '^\\s*alter\\s+user\\b', action: 'block' },
    { name: 'no_benchmark', match: '\\bbenchmark\\s*\\(', action: 'block' },
    { name: 'no_kill', match: '^\\s*kill\\s', action: 'block' },
  ],
  // On, and far above a point select's latency: every statement is timed, none is logged.
  log: { slow_query_ms: 1_000 },
};

export type GuardedConfig = typeof GUARDED_CONFIG;
