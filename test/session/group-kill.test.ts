import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { SessionAction } from '../../src/session/session-action.js';
import type { GroupKill, GroupKillOutcome, KillableSession, SessionServices } from '../../src/session/session-services.js';
import { killByConnectionId, killForGroup } from '../../src/session/session-kill.js';

const SIZE = 2;
const SLOT = 0; // this worker issues ids 1, 3, 5, …; the other one 2, 4, 6, …

/** Worker 0 of a group of two; `group` is the other worker as the primary reaches it. */
function worker(group: (request: GroupKill) => Promise<GroupKillOutcome>) {
  const asked: GroupKill[] = [];
  const self: KillableSession = { id: 1, user: 'app', killQuery: async () => undefined, close: () => undefined };
  const services = {
    logger: silentLogger(),
    findSession: (id: number) => (id === 1 ? self : undefined),
    ownsConnectionId: (id: number) => (id - 1) % SIZE === SLOT,
    killInGroup: (request: GroupKill) => {
      asked.push(request);
      return group(request);
    },
  } as unknown as SessionServices;
  const passOn: SessionAction = { kind: 'none' }; // stands for the statement sent to the session's server
  const kill = async (request: { query: boolean; id: number }, routed: boolean): Promise<SessionAction | null> => {
    let action = killByConnectionId(services, { session: self, admin: false, routed }, request, passOn);
    while (action?.kind === 'when-idle') action = await action.decide(0);
    return action;
  };
  return { kill, asked, passOn };
}

const code = (action: SessionAction | null) => (action?.kind === 'reply-error' ? action.error.code : action?.kind);

describe('KILL across the workers of a group', () => {
  it("asks the worker that issued the id, and never passes the id of another worker's session to the server", async () => {
    const { kill, asked } = worker(async () => 'killed');
    expect(await kill({ query: false, id: 4 }, true)).toEqual({ kind: 'reply-ok' });
    expect(asked).toEqual([{ id: 4, query: false, user: 'app', admin: false, by: 1 }]);
  });

  it("answers 1095 when the other worker's session belongs to another user", async () => {
    const { kill } = worker(async () => 'not_owner');
    expect(code(await kill({ query: true, id: 6 }, true))).toBe(1095);
  });

  it('an id no session of the group has: to the server when routed (a backend thread id), else 1094', async () => {
    const routed = worker(async () => 'unknown');
    expect(await routed.kill({ query: false, id: 8 }, true)).toBe(routed.passOn);
    const lobby = worker(async () => 'unknown');
    expect(code(await lobby.kill({ query: false, id: 8 }, false))).toBe(1094);
  });

  it('answers 1094 rather than pass the id on when the group cannot be asked', async () => {
    const { kill } = worker(async () => {
      throw new Error('the primary did not answer');
    });
    expect(code(await kill({ query: false, id: 4 }, true))).toBe(1094);
  });

  it("an id of this worker's own is not asked of the group", async () => {
    const { kill, asked } = worker(async () => 'killed');
    expect(await kill({ query: false, id: 3 }, true)).toBeNull();
    expect(asked).toEqual([]);
  });

  it("the owning worker checks the killer's right, stops the statement, and closes the session for KILL CONNECTION", async () => {
    const calls: string[] = [];
    const target: KillableSession = { id: 4, user: 'app', killQuery: async () => void calls.push('kill query'), close: (reason) => void calls.push(`close: ${reason}`) };
    const services = { findSession: (id: number) => (id === 4 ? target : undefined) } as unknown as SessionServices;
    expect(await killForGroup(services, { id: 4, query: false, user: 'other', admin: false, by: 1 })).toBe('not_owner');
    expect(await killForGroup(services, { id: 9, query: false, user: 'app', admin: false, by: 1 })).toBe('unknown');
    expect(await killForGroup(services, { id: 4, query: false, user: 'app', admin: false, by: 1 })).toBe('killed');
    expect(calls).toEqual(['kill query', 'close: killed by session 1 of another worker']);
  });
});
