import { describe, expect, it } from 'vitest';
import { adminStatementHandler, parseAdminStatement } from '../../src/admin/admin-statements.js';
import { fakeControl } from './fake-control.js';

describe('parseAdminStatement', () => {
  it('reads the statements whatever the case, spacing and trailing semicolon', () => {
    expect(parseAdminStatement('show libraries')).toEqual({ ok: true, statement: { kind: 'show_libraries' } });
    expect(parseAdminStatement('  SHOW\tServers ;')).toEqual({ ok: true, statement: { kind: 'show_servers' } });
    expect(parseAdminStatement('show sessions;')).toEqual({ ok: true, statement: { kind: 'show_sessions' } });
    expect(parseAdminStatement('RELOAD')).toEqual({ ok: true, statement: { kind: 'reload' } });
    expect(parseAdminStatement('show Directory')).toEqual({ ok: true, statement: { kind: 'show_directory' } });
    expect(parseAdminStatement('failback library lib_A')).toEqual({ ok: true, statement: { kind: 'failback', library: 'lib_A', to: null } });
    expect(parseAdminStatement('Failback Library lib_a TO 10.0.0.1:3306;')).toEqual({
      ok: true,
      statement: { kind: 'failback', library: 'lib_a', to: '10.0.0.1:3306' },
    });
    expect(parseAdminStatement('failback library lib_a to 10.0.0.2:3306 FORCE')).toEqual({
      ok: true,
      statement: { kind: 'failback', library: 'lib_a', to: '10.0.0.2:3306', force: true },
    });
  });

  it('leaves other SQL alone (null), including show library and show databases', () => {
    for (const sql of ['show library', 'show databases', 'select 1', 'show libraries like x', 'reloaded', 'set autocommit=1']) {
      expect(parseAdminStatement(sql)).toBeNull();
    }
  });

  it('answers a malformed failback with its usage', () => {
    const malformed = ['failback', 'failback lib_a', 'failback library', 'failback library a to', 'failback library a to host', 'failback library a b c'];
    for (const sql of [...malformed, 'failback library a force', 'failback library a to h:1 forced', 'failback library a to h:1 force now']) {
      expect(parseAdminStatement(sql)).toEqual({ ok: false, message: 'usage: failback library <name> [to <host:port> [force]]' });
    }
  });
});

describe('admin statements against the proxy', () => {
  const run = (sql: string, control = fakeControl()) => adminStatementHandler(control)(sql, 'ops');

  it('show libraries: one row per library with its current server and servers up', async () => {
    expect(await run('show libraries')).toEqual({
      kind: 'rows',
      columns: ['library', 'weight', 'keys', 'current_server', 'current_since', 'servers_up', 'sessions'],
      rows: [
        ['lib_a', 1, 10, '10.0.0.2:3306', '2026-01-01T00:00:01.000Z', '2/2', 1],
        ['lib_b', 2, 3, null, null, '0/1', 0],
      ],
    });
  });

  it('show servers: one row per server of each library, in failover order, with when the library left it by failover, its epoch and whether the failover state store answers', async () => {
    expect(await run('show servers')).toEqual({
      kind: 'rows',
      columns: [
        'library', 'position', 'server', 'state', 'current', 'read_only', 'last_error', 'left_by_failover', 'epoch', 'failover_state',
        'replicates_from', 'io_running', 'sql_running', 'lag_seconds', 'gtid_executed', 'replication_error',
      ],
      rows: [
        ['lib_a', 1, '10.0.0.1:3306', 'up', 'no', 0, null, '2026-01-02T03:04:05.000Z', 3, 'unreachable', null, null, null, null, null, null],
        ['lib_a', 2, '10.0.0.2:3306', 'up', 'yes', 1, null, null, 3, 'unreachable', '10.0.0.1:3306', 'no', 'yes', null, '0-1-42', "IO thread: Can't connect (2003)"],
        ['lib_b', 1, '10.0.1.1:3306', 'down', 'yes', null, 'connect ECONNREFUSED', null, 1, 'unreachable', null, null, null, null, null, null],
      ],
    });
  });

  it('show directory: where the key directory lives, whether new keys can be saved, and why not', async () => {
    expect(await run('show directory')).toEqual({
      kind: 'rows',
      columns: ['kind', 'location', 'available', 'since', 'last_error', 'errors', 'keys'],
      rows: [['mysql', '10.0.9.1:3306', 0, '2026-01-01T00:00:02.000Z', '10.0.9.1:3306: connect ECONNREFUSED', 4, 13]],
    });
  });

  it('show sessions: one row per client session', async () => {
    const reply = await run('show sessions');
    expect(reply).toMatchObject({ kind: 'rows', columns: ['id', 'user', 'client', 'library', 'key', 'server', 'seconds', 'bytes_in', 'bytes_out'] });
    expect(reply?.kind === 'rows' && reply.rows).toEqual([
      [1, 'app', '127.0.0.1:5000', 'lib_a', 'k1', '10.0.0.2:3306', 3, 100, 200],
      [2, 'ops', '127.0.0.1:5001', null, null, null, 0, 10, 20],
    ]);
  });

  it('failback: OK with one affected row when the library moved, an error naming the problem otherwise', async () => {
    const control = fakeControl();
    expect(await run('failback library lib_a to 10.0.0.1:3306', control)).toEqual({ kind: 'ok', affectedRows: 1 });
    expect(await run('failback library nope', control)).toEqual({
      kind: 'error',
      error: { code: 7102, sqlState: '42000', message: "Invalid mysqlda statement: no library is called 'nope'" },
    });
    expect(await run('failback lib_a', control)).toMatchObject({ kind: 'error', error: { code: 7102 } });
    expect(await run('failback library lib_a to 10.0.0.2:3306 force', control)).toEqual({ kind: 'ok', affectedRows: 1 });
    expect(control.actions).toEqual(['failback lib_a 10.0.0.1:3306', 'failback nope (first)', 'failback lib_a 10.0.0.2:3306 force']);
  });

  it('reload: the result and each change as rows', async () => {
    expect(await run('reload')).toEqual({
      kind: 'rows',
      columns: ['result', 'detail'],
      rows: [
        ['ok', 'applied 1 change(s)'],
        ['change', 'library lib_c added'],
      ],
    });
  });

  it('returns null for SQL that is not an admin statement', async () => {
    expect(await run('select @@version_comment limit 1')).toBeNull();
  });

  it('in a worker of a group, speaks for the whole group: status, sessions, failback and reload come from the primary', async () => {
    const local = fakeControl();
    const whole = fakeControl();
    const groupAsks: string[] = [];
    const control = {
      ...local,
      group: {
        status: async () => (groupAsks.push('status'), { ...whole.status(), libraries: whole.status().libraries.map((l) => ({ ...l, sessions: 9 })) }),
        sessions: async () => (groupAsks.push('sessions'), [...whole.sessions(), { ...whole.sessions()[0], id: 4 }]),
        failback: async (library: string) => (groupAsks.push(`failback ${library}`), { ok: true as const, moved: true, message: 'moved' }),
        reload: async () => (groupAsks.push('reload'), { ok: true, message: 'nothing changed', changes: [] }),
      },
    };
    const libraries = await run('show libraries', control);
    expect(libraries?.kind === 'rows' && libraries.rows.map((row) => row[6])).toEqual([9, 9]);
    const sessions = await run('show sessions', control);
    expect(sessions?.kind === 'rows' && sessions.rows.map((row) => row[0])).toEqual([1, 2, 4]);
    expect(await run('failback library lib_a', control)).toEqual({ kind: 'ok', affectedRows: 1 });
    expect(await run('reload', control)).toMatchObject({ kind: 'rows', rows: [['ok', 'nothing changed']] });
    expect(await run('show servers', control)).toMatchObject({ kind: 'rows' });
    expect(groupAsks).toEqual(['status', 'sessions', 'failback lib_a', 'reload', 'status']);
    expect(local.actions).toEqual([]);
  });
});
