import { describe, expect, it } from 'vitest';
import type { BackendConnection, CommandResult } from '../../src/backend/backend-connection.js';
import type { LibraryConfig } from '../../src/config/types.js';
import { acquireLobbyServer, connectLibrary, findLibrary } from '../../src/session/library-connection.js';
import { SessionHistory } from '../../src/session/session-history.js';
import type { SessionServices } from '../../src/session/session-services.js';

const shape = { capabilities: 0, charset: 45 };
const lib1 = { name: 'lib1' } as LibraryConfig;
const lib2 = { name: 'lib2' } as LibraryConfig;

/** Pools whose libraries answer or not, with connections that run (or refuse) what they are sent. */
function pools(options: { down?: string[]; refuse?: string } = {}) {
  const calls: string[] = [];
  const connection = (library: string) =>
    ({
      alive: true,
      async execute(payload: Buffer): Promise<CommandResult> {
        const sql = payload.toString('utf8', 1);
        calls.push(`${library}: ${sql}`);
        if (sql === options.refuse) return { ok: false, packets: [], error: { code: 1193, sqlState: 'HY000', message: 'Unknown system variable' } };
        return { ok: true, packets: [] };
      },
      tracker: { lastInsertId: 0 },
    }) as unknown as BackendConnection;
  const services = {
    config: () => ({ libraries: [lib1, lib2] }),
    pools: {
      async acquireForLibrary(library: LibraryConfig) {
        if (options.down?.includes(library.name)) throw new Error(`no server of ${library.name} answers`);
        calls.push(`acquire ${library.name}`);
        return connection(library.name);
      },
      async acquireForRead(library: LibraryConfig, _shape: unknown, maxLagSeconds: number) {
        calls.push(`acquire for read ${library.name} within ${maxLagSeconds} s`);
        return { connection: connection(`${library.name} replica`), onReplica: true };
      },
      async release(_connection: BackendConnection, idle: boolean) {
        calls.push(`release (idle: ${idle})`);
      },
    },
  } as unknown as SessionServices;
  return { services, calls };
}

const query = (sql: string) => Buffer.from(`\x03${sql}`);

describe('library connections', () => {
  it('finds a library of the live configuration by name', () => {
    const { services } = pools();
    expect(findLibrary(services, 'lib2')).toBe(lib2);
    expect(findLibrary(services, 'gone')).toBeUndefined();
  });

  it('takes the lobby server from the first library that answers, or none', async () => {
    const second = pools({ down: ['lib1'] });
    expect(await acquireLobbyServer(second.services, shape)).not.toBeNull();
    expect(second.calls).toEqual(['acquire lib2']);
    expect(await acquireLobbyServer(pools({ down: ['lib1', 'lib2'] }).services, shape)).toBeNull();
  });

  it('replays the settings, then a BEGIN sent in the lobby, on the library connection', async () => {
    const { services, calls } = pools();
    const history = new SessionHistory();
    history.add(query('SET NAMES utf8mb4'));
    history.add(query('SET autocommit=0'));
    const connected = await connectLibrary(services, lib1, shape, history, { pendingBegin: query('BEGIN') });
    expect(connected.ok).toBe(true);
    expect(calls).toEqual(['acquire lib1', 'lib1: SET NAMES utf8mb4', 'lib1: SET autocommit=0', 'lib1: BEGIN']);
  });

  it('answers 7106 when no server of the library answers', async () => {
    const { services } = pools({ down: ['lib1'] });
    const connected = await connectLibrary(services, lib1, shape, new SessionHistory(), { pendingBegin: null });
    expect(connected).toEqual({ ok: false, error: expect.objectContaining({ code: 7106, message: "No server of library 'lib1' is reachable: no server of lib1 answers" }) });
  });

  it('gives the connection back and names the library when its server refuses a setting', async () => {
    const { services, calls } = pools({ refuse: 'SET @@x=1' });
    const history = new SessionHistory();
    history.add(query('SET @@x=1'));
    history.add(query('SET NAMES utf8mb4'));
    const connected = await connectLibrary(services, lib1, shape, history, { pendingBegin: null });
    expect(connected).toEqual({
      ok: false,
      error: { code: 1193, sqlState: 'HY000', message: "Could not carry the session's settings over to library 'lib1': Unknown system variable" },
    });
    expect(calls).toEqual(['acquire lib1', 'lib1: SET @@x=1', 'release (idle: true)']);
  });

  it('carries LAST_INSERT_ID() over, and makes a read route read-only on the replica, before a lobby BEGIN', async () => {
    const { services, calls } = pools();
    const history = new SessionHistory();
    history.add(query('SET NAMES utf8mb4'));
    const connected = await connectLibrary(services, lib1, shape, history, { pendingBegin: query('BEGIN') }, { readMaxLagSeconds: 5, lastInsertId: 42 });
    expect(connected).toMatchObject({ ok: true, onReplica: true, connection: { tracker: { lastInsertId: 42 } } });
    expect(calls).toEqual([
      'acquire for read lib1 within 5 s',
      'lib1 replica: SET NAMES utf8mb4',
      'lib1 replica: DO LAST_INSERT_ID(42)',
      'lib1 replica: SET SESSION TRANSACTION READ ONLY',
      'lib1 replica: BEGIN',
    ]);
  });
});
