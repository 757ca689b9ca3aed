import { describe, expect, it } from 'vitest';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { PacketFramer } from '../../src/protocol/packet.js';
import { Lobby, type LobbyHost } from '../../src/session/lobby.js';
import { SessionHistory } from '../../src/session/session-history.js';
import type { AdminReply, ClientAccount, SessionServices } from '../../src/session/session-services.js';

const query = (sql: string) => ({ sequenceId: 0, payload: Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]) });

/** A lobby driven by hand: what it asks of its session, in order. */
function harness(options: { admin?: boolean; adminReply?: AdminReply | null; closed?: boolean } = {}) {
  const calls: string[] = [];
  const written: Buffer[] = [];
  const history = new SessionHistory();
  const account = { user: 'app', admin: options.admin ?? false } as ClientAccount;
  const services = {
    admin: async (sql: string, user: string) => {
      calls.push(`admin ${user}: ${sql}`);
      return options.adminReply ?? null;
    },
  } as unknown as SessionServices;
  const status: number = ServerStatus.AUTOCOMMIT;
  const host: LobbyHost = {
    services,
    account: () => account,
    isClosed: () => options.closed ?? false,
    waitIdle: async () => void calls.push('wait idle'),
    forwardToLobby: async (packet, tag) => void calls.push(`lobby server: ${packet.payload.toString('utf8', 1)}${tag ? ' (recorded)' : ''}`),
    releaseBackend: () => void calls.push('release backend'),
    currentStatus: () => status,
    deprecateEof: () => true,
    replyOk: (sequenceId) => void calls.push(`OK seq=${sequenceId} status=${lobby.status}`),
    replyError: (sequenceId, error) => void calls.push(`ERR ${error.code} seq=${sequenceId}`),
    write: (bytes) => void written.push(bytes),
  };
  const lobby = new Lobby(host, history);
  return {
    lobby,
    calls,
    history,
    packets: () => new PacketFramer().push(Buffer.concat(written)),
  };
}

describe('Lobby', () => {
  it('runs reads of server state on a lobby server, and records settings there to carry them over', async () => {
    const h = harness();
    await h.lobby.query('SELECT @@version', query('SELECT @@version'));
    await h.lobby.query('SET NAMES utf8mb4', query('SET NAMES utf8mb4'));
    expect(h.calls).toEqual(['lobby server: SELECT @@version', 'lobby server: SET NAMES utf8mb4 (recorded)']);
  });

  it('answers BEGIN itself and keeps it for the library connection; COMMIT drops it', async () => {
    const h = harness();
    await h.lobby.query('BEGIN', query('BEGIN'));
    expect(h.lobby.pendingBegin?.toString('utf8', 1)).toBe('BEGIN');
    expect(h.lobby.status).toBe(ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS);
    await h.lobby.query('COMMIT', query('COMMIT'));
    expect(h.lobby.pendingBegin).toBeNull();
    expect(h.calls).toEqual([
      'wait idle',
      `OK seq=1 status=${ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS}`,
      'wait idle',
      `OK seq=1 status=${ServerStatus.AUTOCOMMIT}`,
    ]);
  });

  it('refuses statements that touch data with 7101 (no library selected)', async () => {
    const h = harness();
    await h.lobby.query('SELECT * FROM t', query('SELECT * FROM t'));
    expect(h.calls).toEqual(['wait idle', 'ERR 7101 seq=1']);
  });

  it('runs admin statements for admin accounts only, and answers them with rows', async () => {
    const reply: AdminReply = { kind: 'rows', columns: ['library'], rows: [['lib1']] };
    const admin = harness({ admin: true, adminReply: reply });
    await admin.lobby.query('show libraries', query('show libraries'));
    expect(admin.calls).toEqual(['wait idle', 'admin app: show libraries']);
    const packets = admin.packets();
    expect(packets.map((p) => p.sequenceId)).toEqual([1, 2, 3, 4]); // count, column, row, end (DEPRECATE_EOF: no EOF)
    expect(packets[2].payload.toString('latin1')).toContain('lib1');

    const plain = harness({ adminReply: reply });
    await plain.lobby.query('show libraries', query('show libraries'));
    expect(plain.calls).toEqual(['wait idle', 'ERR 7101 seq=1']);
  });

  it('lets other statements of an admin account through the lobby policy, and drops an admin answer once the session has closed', async () => {
    const notAdmin = harness({ admin: true, adminReply: null });
    await notAdmin.lobby.query('SET autocommit=0', query('SET autocommit=0'));
    expect(notAdmin.calls).toEqual(['wait idle', 'admin app: SET autocommit=0', 'lobby server: SET autocommit=0 (recorded)']);

    const closed = harness({ admin: true, adminReply: { kind: 'ok', affectedRows: 1 }, closed: true });
    await closed.lobby.query('failback library lib1', query('failback library lib1'));
    expect(closed.packets()).toEqual([]);
  });

  it('COM_RESET_CONNECTION drops the settings and a pending BEGIN, gives the lobby server back, and answers OK', async () => {
    const h = harness();
    h.history.add(Buffer.from('\x03SET NAMES latin1'));
    await h.lobby.query('BEGIN', query('BEGIN'));
    h.calls.length = 0;
    await h.lobby.reset({ sequenceId: 0, payload: Buffer.from([Command.RESET_CONNECTION]) });
    expect(h.history.length).toBe(0);
    expect(h.lobby.pendingBegin).toBeNull();
    expect(h.calls).toEqual(['wait idle', 'release backend', `OK seq=1 status=${ServerStatus.AUTOCOMMIT}`]);
  });
});
