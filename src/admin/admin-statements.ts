/**
 * Admin statements on the SQL port, for accounts with `"admin": true`, answered before a library is chosen:
 *
 *   show libraries
 *   show servers
 *   show sessions
 *   show directory
 *   failback library <name> [to <host:port> [force]]
 *   reload
 *
 * Keywords are case-insensitive, words are separated by any whitespace, one trailing `;` is allowed. Any other
 * text is not an admin statement (null), so it goes on to the lobby as usual.
 */
import { ProxyErrors } from '../protocol/error-codes.js';
import type { ProxyStatus } from '../observability/status.js';
import type { SessionSummary } from '../session/client-session.js';
import type { AdminReply } from '../session/session-services.js';
import type { ServerReplicationStatus } from '../observability/status.js';
import type { AdminControl } from './admin-control.js';

export type AdminStatement =
  | { kind: 'show_libraries' }
  | { kind: 'show_servers' }
  | { kind: 'show_sessions' }
  | { kind: 'show_directory' }
  | { kind: 'failback'; library: string; to: string | null; force?: boolean }
  | { kind: 'reload' };

export type AdminParse = { ok: true; statement: AdminStatement } | { ok: false; message: string };

const FAILBACK_USAGE = 'usage: failback library <name> [to <host:port> [force]]';

/** The statement, an error for a malformed `failback`, or null when the text is not an admin statement. */
export function parseAdminStatement(sql: string): AdminParse | null {
  const words = sql.trim().replace(/;\s*$/, '').trim().split(/\s+/);
  const keyword = (i: number) => words[i]?.toLowerCase();
  if (words.length === 2 && keyword(0) === 'show') {
    if (keyword(1) === 'libraries') return { ok: true, statement: { kind: 'show_libraries' } };
    if (keyword(1) === 'servers') return { ok: true, statement: { kind: 'show_servers' } };
    if (keyword(1) === 'sessions') return { ok: true, statement: { kind: 'show_sessions' } };
    if (keyword(1) === 'directory') return { ok: true, statement: { kind: 'show_directory' } };
    return null;
  }
  if (words.length === 1 && keyword(0) === 'reload') return { ok: true, statement: { kind: 'reload' } };
  if (keyword(0) !== 'failback') return null;
  if (keyword(1) !== 'library' || words.length < 3) return { ok: false, message: FAILBACK_USAGE };
  if (words.length === 3) return { ok: true, statement: { kind: 'failback', library: words[2], to: null } };
  if (words.length === 5 && keyword(3) === 'to' && /^\S+:\d{1,5}$/.test(words[4])) {
    return { ok: true, statement: { kind: 'failback', library: words[2], to: words[4] } };
  }
  if (words.length === 6 && keyword(3) === 'to' && /^\S+:\d{1,5}$/.test(words[4]) && keyword(5) === 'force') {
    return { ok: true, statement: { kind: 'failback', library: words[2], to: words[4], force: true } };
  }
  return { ok: false, message: FAILBACK_USAGE };
}

/** The services.admin hook: runs an admin statement against the proxy, or returns null for other SQL. */
export function adminStatementHandler(control: AdminControl): (sql: string, user: string) => Promise<AdminReply | null> {
  return async (sql) => {
    const parsed = parseAdminStatement(sql);
    if (parsed === null) return null;
    if (!parsed.ok) return { kind: 'error', error: ProxyErrors.invalidExtensionSql(parsed.message) };
    return runAdminStatement(parsed.statement, control);
  };
}

/** In a worker of a group every statement speaks for the whole group (the primary gathers from all workers). */
export async function runAdminStatement(statement: AdminStatement, control: AdminControl): Promise<AdminReply> {
  const group = control.group;
  switch (statement.kind) {
    case 'show_libraries':
      return showLibraries(group ? await group.status() : control.status());
    case 'show_servers':
      return showServers(group ? await group.status() : control.status());
    case 'show_sessions':
      return showSessions(group ? await group.sessions() : control.sessions());
    case 'show_directory':
      return showDirectory(group ? await group.status() : control.status());
    case 'failback': {
      const to = statement.to ?? undefined;
      const outcome = await (group ?? control).failback(statement.library, to, statement.force ?? false);
      if (!outcome.ok) return { kind: 'error', error: ProxyErrors.invalidExtensionSql(outcome.error) };
      return { kind: 'ok', affectedRows: outcome.moved ? 1 : 0 };
    }
    case 'reload': {
      const result = await (group ?? control).reload();
      const rows: (string | null)[][] = [[result.ok ? 'ok' : 'rejected', result.message]];
      for (const change of result.changes) rows.push(['change', change]);
      return { kind: 'rows', columns: ['result', 'detail'], rows };
    }
  }
}

function showLibraries(status: ProxyStatus): AdminReply {
  const rows = status.libraries.map((library) => [
    library.name,
    library.weight,
    library.keys,
    library.currentServer,
    library.currentSince ?? null,
    `${library.servers.filter((server) => server.state === 'up').length}/${library.servers.length}`,
    library.sessions ?? 0,
  ]);
  return { kind: 'rows', columns: ['library', 'weight', 'keys', 'current_server', 'current_since', 'servers_up', 'sessions'], rows };
}

function showDirectory(status: ProxyStatus): AdminReply {
  const directory = status.directory;
  const keys = status.libraries.reduce((sum, library) => sum + library.keys, 0);
  const row = directory
    ? [directory.kind, directory.location, directory.available ? 1 : 0, directory.since, directory.lastError, directory.errors, keys]
    : [null, null, null, null, null, null, keys];
  return { kind: 'rows', columns: ['kind', 'location', 'available', 'since', 'last_error', 'errors', 'keys'], rows: [row] };
}

function showServers(status: ProxyStatus): AdminReply {
  const store = status.failoverState ? (status.failoverState.reachable ? 'reachable' : 'unreachable') : null;
  const rows = status.libraries.flatMap((library) =>
    library.servers.map((server, i) => [
      library.name,
      i + 1,
      server.address,
      server.state,
      server.current ? 'yes' : 'no',
      server.readOnly === undefined || server.readOnly === null ? null : server.readOnly ? 1 : 0,
      server.lastError ?? null,
      server.leftByFailoverAt ?? null,
      library.epoch ?? null,
      store,
      ...replicationCells(server.replication),
    ]),
  );
  const columns = ['library', 'position', 'server', 'state', 'current', 'read_only', 'last_error', 'left_by_failover', 'epoch', 'failover_state', ...REPLICATION_COLUMNS];
  return { kind: 'rows', columns, rows };
}

/** Replication as `show servers` shows it: all NULL when it was not read (or the account may not read it). */
const REPLICATION_COLUMNS = ['replicates_from', 'io_running', 'sql_running', 'lag_seconds', 'gtid_executed', 'replication_error'];

function replicationCells(replication: ServerReplicationStatus | null | undefined): (string | number | null)[] {
  if (!replication) return REPLICATION_COLUMNS.map(() => null);
  const yesNo = (value: boolean | null) => (value === null ? null : value ? 'yes' : 'no');
  return [
    replication.replicating ? replication.source : '',
    yesNo(replication.ioRunning),
    yesNo(replication.sqlRunning),
    replication.lagSeconds,
    replication.gtidExecuted,
    replication.lastError,
  ];
}

function showSessions(sessions: SessionSummary[]): AdminReply {
  const now = Date.now();
  const rows = sessions.map((session) => [
    session.id,
    session.user,
    session.client,
    session.library,
    session.key,
    session.server,
    Math.round((now - session.startedAt) / 1000),
    session.bytesFromClient,
    session.bytesToClient,
  ]);
  return { kind: 'rows', columns: ['id', 'user', 'client', 'library', 'key', 'server', 'seconds', 'bytes_in', 'bytes_out'], rows };
}
