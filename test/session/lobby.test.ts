import { describe, expect, it } from 'vitest';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { Lobby } from '../../src/session/lobby.js';
import type { SessionAction } from '../../src/session/session-action.js';
import { SessionHistory } from '../../src/session/session-history.js';
import type { AdminReply, ClientAccount, SessionServices } from '../../src/session/session-services.js';

const query = (sql: string) => ({ sequenceId: 0, payload: Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]) });

/** A lobby and what it decides, with the steps that wait for earlier answers carried out as the session would. */
function harness(options: { admin?: boolean; adminReply?: AdminReply | null } = {}) {
  const calls: string[] = [];
  const history = new SessionHistory();
  const account = { user: 'app', admin: options.admin ?? false } as ClientAccount;
  const services = {
    admin: async (sql: string, user: string) => {
      calls.push(`admin ${user}: ${sql}`);
      return options.adminReply ?? null;
    },
  } as unknown as SessionServices;
  const lobby = new Lobby(history);
  /** The action for `sql`, after any wait for earlier answers (noted in `calls`). */
  const decide = async (sql: string): Promise<SessionAction> => {
    let action = lobby.query(sql, query(sql), account, services);
    while (action.kind === 'when-idle') {
      calls.push('wait idle');
      action = await action.decide(ServerStatus.AUTOCOMMIT);
    }
    return action;
  };
  return { lobby, calls, history, decide };
}

const forwarded = (action: SessionAction) => (action.kind === 'forward' ? `${action.packet.payload.toString('utf8', 1)}${action.tag ? ' (recorded)' : ''}` : action.kind);

describe('Lobby', () => {
  it('runs reads of server state on a lobby server, and records settings there to carry them over', async () => {
    const h = harness();
    expect(forwarded(await h.decide('SELECT @@version'))).toBe('SELECT @@version');
    expect(forwarded(await h.decide('SET NAMES utf8mb4'))).toBe('SET NAMES utf8mb4 (recorded)');
    expect(h.calls).toEqual([]);
  });

  it('answers BEGIN itself, once earlier answers are out, and keeps it for the library connection; COMMIT drops it', async () => {
    const h = harness();
    expect(await h.decide('BEGIN')).toEqual({ kind: 'reply-ok' });
    expect(h.lobby.pendingBegin?.toString('utf8', 1)).toBe('BEGIN');
    expect(h.lobby.status).toBe(ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS);
    expect(await h.decide('COMMIT')).toEqual({ kind: 'reply-ok' });
    expect(h.lobby.pendingBegin).toBeNull();
    expect(h.lobby.status).toBe(ServerStatus.AUTOCOMMIT);
    expect(h.calls).toEqual(['wait idle', 'wait idle']);
  });

  it('refuses statements that touch data with 7101 (no library selected)', async () => {
    const h = harness();
    const action = await h.decide('SELECT * FROM t');
    expect(action.kind === 'reply-error' && action.error.code).toBe(7101);
  });

  it('runs admin statements for admin accounts only, once earlier answers are out, and answers them with rows', async () => {
    const reply: AdminReply = { kind: 'rows', columns: ['library'], rows: [['lib1']] };
    const admin = harness({ admin: true, adminReply: reply });
    expect(await admin.decide('show libraries')).toEqual({ kind: 'reply-rows', columns: [{ name: 'library' }], rows: [['lib1']] });
    expect(admin.calls).toEqual(['wait idle', 'admin app: show libraries']);

    const plain = harness({ adminReply: reply });
    const refused = await plain.decide('show libraries');
    expect(refused.kind === 'reply-error' && refused.error.code).toBe(7101);
    expect(plain.calls).toEqual([]);
  });

  it('lets other statements of an admin account through the lobby policy, and answers admin OKs with their row count', async () => {
    const notAdmin = harness({ admin: true, adminReply: null });
    expect(forwarded(await notAdmin.decide('SET autocommit=0'))).toBe('SET autocommit=0 (recorded)');
    expect(notAdmin.calls).toEqual(['wait idle', 'admin app: SET autocommit=0']);

    const ok = harness({ admin: true, adminReply: { kind: 'ok', affectedRows: 1 } });
    expect(await ok.decide('failback library lib1')).toEqual({ kind: 'reply-ok', affectedRows: 1 });
  });

  it('COM_RESET_CONNECTION drops the settings and a pending BEGIN', async () => {
    const h = harness();
    h.history.add(Buffer.from('\x03SET NAMES latin1'));
    await h.decide('BEGIN');
    h.lobby.reset();
    expect(h.history.length).toBe(0);
    expect(h.lobby.pendingBegin).toBeNull();
    expect(h.lobby.status).toBe(ServerStatus.AUTOCOMMIT);
  });
});
