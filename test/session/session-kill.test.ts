import { describe, expect, it } from 'vitest';
import type { ClientAccount, KillableSession, SessionServices } from '../../src/session/session-services.js';
import { killByConnectionId, type KillHost } from '../../src/session/session-kill.js';

const packet = { sequenceId: 0, payload: Buffer.from('\x03KILL 7') };

/** A session others can kill, recording what is done to it. */
function session(id: number, user: string, calls: string[]): KillableSession {
  return {
    id,
    user,
    killQuery: async () => void calls.push(`${id}: kill query`),
    close: (reason, level = 'info') => void calls.push(`${id}: close ${level}: ${reason}`),
  };
}

/** The killer's side: session 1 of `user`, with the other sessions of the process. */
function killer(options: { user?: string; admin?: boolean; routed?: boolean; others?: (calls: string[]) => KillableSession[] } = {}) {
  const calls: string[] = [];
  const self = session(1, options.user ?? 'app', calls);
  const sessions = [self, ...(options.others?.(calls) ?? [])];
  const account = { user: self.user, admin: options.admin ?? false } as ClientAccount;
  const host: KillHost = {
    services: { findSession: (id: number) => sessions.find((s) => s.id === id) } as unknown as SessionServices,
    session: self,
    account: () => account,
    isRouted: () => options.routed ?? false,
    waitIdle: async () => void calls.push('wait idle'),
    replyOk: (sequenceId) => void calls.push(`OK seq=${sequenceId}`),
    replyError: (sequenceId, error) => void calls.push(`ERR ${error.code} seq=${sequenceId}`),
  };
  return { host, calls };
}

describe('KILL of mysqlda connection ids', () => {
  it('KILL QUERY stops the statement of another session of the same user, which stays open', async () => {
    const { host, calls } = killer({ others: (c) => [session(7, 'app', c)] });
    expect(await killByConnectionId(host, { query: true, id: 7 }, packet)).toBe(true);
    expect(calls).toEqual(['wait idle', '7: kill query', 'OK seq=1']);
  });

  it('KILL CONNECTION also closes that session, naming the killer', async () => {
    const { host, calls } = killer({ others: (c) => [session(7, 'app', c)] });
    await killByConnectionId(host, { query: false, id: 7 }, packet);
    expect(calls).toEqual(['wait idle', '7: kill query', '7: close warn: killed by session 1', 'OK seq=1']);
  });

  it("refuses to kill another user's session with 1095, unless the killer is an admin account", async () => {
    const refused = killer({ others: (c) => [session(7, 'other', c)] });
    await killByConnectionId(refused.host, { query: false, id: 7 }, packet);
    expect(refused.calls).toEqual(['wait idle', 'ERR 1095 seq=1']);

    const admin = killer({ admin: true, others: (c) => [session(7, 'other', c)] });
    await killByConnectionId(admin.host, { query: false, id: 7 }, packet);
    expect(admin.calls).toEqual(['wait idle', '7: kill query', '7: close warn: killed by session 1', 'OK seq=1']);
  });

  it('KILL CONNECTION of its own id closes the session without an answer; KILL QUERY of it is answered OK', async () => {
    const connection = killer();
    await killByConnectionId(connection.host, { query: false, id: 1 }, packet);
    expect(connection.calls).toEqual(['wait idle', '1: close info: killed itself (KILL CONNECTION)']);

    const query = killer();
    await killByConnectionId(query.host, { query: true, id: 1 }, packet);
    expect(query.calls).toEqual(['wait idle', '1: kill query', 'OK seq=1']);
  });

  it('answers an unknown id with 1094 in the lobby, and leaves it to the server once routed (a backend thread id)', async () => {
    const lobby = killer();
    expect(await killByConnectionId(lobby.host, { query: false, id: 999 }, packet)).toBe(true);
    expect(lobby.calls).toEqual(['wait idle', 'ERR 1094 seq=1']);

    const routed = killer({ routed: true });
    expect(await killByConnectionId(routed.host, { query: false, id: 999 }, packet)).toBe(false);
    expect(routed.calls).toEqual([]);
  });
});
