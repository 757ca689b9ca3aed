import { describe, expect, it } from 'vitest';
import type { SessionAction } from '../../src/session/session-action.js';
import type { KillableSession, SessionServices } from '../../src/session/session-services.js';
import { killByConnectionId } from '../../src/session/session-kill.js';

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
  const services = { findSession: (id: number) => sessions.find((s) => s.id === id) } as unknown as SessionServices;
  /** What KILL comes to, with its wait for earlier answers carried out as the session would (noted in `calls`). */
  const kill = async (request: { query: boolean; id: number }): Promise<SessionAction | null> => {
    let action = killByConnectionId(services, { session: self, admin: options.admin ?? false, routed: options.routed ?? false }, request);
    while (action?.kind === 'when-idle') {
      calls.push('wait idle');
      action = await action.decide(0);
    }
    return action;
  };
  return { kill, calls };
}

const code = (action: SessionAction | null) => (action?.kind === 'reply-error' ? action.error.code : action?.kind);

describe('KILL of mysqlda connection ids', () => {
  it('KILL QUERY stops the statement of another session of the same user, which stays open', async () => {
    const { kill, calls } = killer({ others: (c) => [session(7, 'app', c)] });
    expect(await kill({ query: true, id: 7 })).toEqual({ kind: 'reply-ok' });
    expect(calls).toEqual(['wait idle', '7: kill query']);
  });

  it('KILL CONNECTION also closes that session, naming the killer', async () => {
    const { kill, calls } = killer({ others: (c) => [session(7, 'app', c)] });
    expect(await kill({ query: false, id: 7 })).toEqual({ kind: 'reply-ok' });
    expect(calls).toEqual(['wait idle', '7: kill query', '7: close warn: killed by session 1']);
  });

  it("refuses to kill another user's session with 1095, unless the killer is an admin account", async () => {
    const refused = killer({ others: (c) => [session(7, 'other', c)] });
    expect(code(await refused.kill({ query: false, id: 7 }))).toBe(1095);
    expect(refused.calls).toEqual(['wait idle']);

    const admin = killer({ admin: true, others: (c) => [session(7, 'other', c)] });
    expect(await admin.kill({ query: false, id: 7 })).toEqual({ kind: 'reply-ok' });
    expect(admin.calls).toEqual(['wait idle', '7: kill query', '7: close warn: killed by session 1']);
  });

  it('KILL CONNECTION of its own id closes the session without an answer; KILL QUERY of it is answered OK', async () => {
    const connection = killer();
    expect(await connection.kill({ query: false, id: 1 })).toEqual({ kind: 'close', reason: 'killed itself (KILL CONNECTION)' });
    expect(connection.calls).toEqual(['wait idle']);

    const query = killer();
    expect(await query.kill({ query: true, id: 1 })).toEqual({ kind: 'reply-ok' });
    expect(query.calls).toEqual(['wait idle', '1: kill query']);
  });

  it('answers an unknown id with 1094 in the lobby, and leaves it to the server once routed (a backend thread id)', async () => {
    const lobby = killer();
    expect(code(await lobby.kill({ query: false, id: 999 }))).toBe(1094);

    const routed = killer({ routed: true });
    expect(await routed.kill({ query: false, id: 999 })).toBeNull();
    expect(routed.calls).toEqual([]);
  });
});
