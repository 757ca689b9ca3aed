import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CurrentServers, type LibraryMove } from '../../src/backend/current-servers.js';
import { readSavedState, StateFileError } from '../../src/backend/current-server-file.js';
import { FileStateStore } from '../../src/backend/file-state-store.js';
import { ServerHealthBook } from '../../src/backend/server-health.js';
import type { LibraryConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';

const server = (host: string) => ({ host, port: 3306, user: 'u', password: 'p', database: 'd', tls: null });
const library = (name: string, hosts: string[]): LibraryConfig => ({ name, weight: 1, servers: hosts.map(server) });

const LIB_A = library('lib_a', ['m', 'r1', 'r2']);
const LIB_B = library('lib_b', ['b']);
const refused = { ok: false as const, error: 'connect ECONNREFUSED', conclusive: true };
const ok = { ok: true as const, readOnly: false };

let dir: string;
let stateFile: string;
/** Every CurrentServers a test opened: their state-file writes finish before the directory is removed. */
const opened: CurrentServers[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-current-'));
  stateFile = path.join(dir, 'mysqlda.state.json');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((current) => current.flush()));
  await rm(dir, { recursive: true, force: true });
});

async function open(libraries: LibraryConfig[] = [LIB_A, LIB_B], autoFailback = false) {
  const health = new ServerHealthBook({ failThreshold: 3, riseThreshold: 1 });
  health.track(libraries.flatMap((l) => l.servers.map((s) => `${s.host}:${s.port}`)));
  const events = new ProxyEvents();
  const failovers: unknown[] = [];
  events.on('failover', (event) => failovers.push(event));
  // Several instances write one file in some tests (as restarts do): a write racing another may fail, as before.
  const store = await FileStateStore.open(stateFile, () => undefined);
  const current = await CurrentServers.open({ store, libraries, health, autoFailback, events, logger: silentLogger() });
  opened.push(current);
  health.onChange(() => current.reconcileAll());
  const moves: LibraryMove[] = [];
  current.onMove((move) => moves.push(move));
  return { health, current, failovers, moves };
}

describe('CurrentServers', () => {
  it('starts every library at its first server and saves that (0600)', async () => {
    const { current } = await open();
    expect(current.current('lib_a')).toBe('m:3306');
    expect(current.serverFor(LIB_A)?.host).toBe('m');
    await current.flush();
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600);
    expect([...(await readSavedState(stateFile)).entries()].map(([name, saved]) => [name, saved.current, saved.servers])).toEqual([
      ['lib_a', 'm:3306', ['m:3306', 'r1:3306', 'r2:3306']],
      ['lib_b', 'b:3306', ['b:3306']],
    ]);
  });

  it('fails over when the current server goes down, stays when it comes back, emits one event per move', async () => {
    const { health, current, failovers, moves } = await open();
    health.record('r1:3306', ok);
    health.record('m:3306', refused);
    expect(current.current('lib_a')).toBe('r1:3306');
    health.record('m:3306', ok);
    expect(current.serverFor(LIB_A)?.host).toBe('r1');
    expect(failovers).toEqual([{ library: 'lib_a', from: 'm:3306', to: 'r1:3306' }]);
    expect(moves).toEqual([{ library: 'lib_a', from: 'm:3306', to: 'r1:3306', reason: 'down', epoch: 2, won: true }]);
  });

  it('remembers the current server across a restart', async () => {
    const first = await open();
    first.health.record('m:3306', refused);
    expect(first.current.current('lib_a')).toBe('r1:3306');
    await first.current.flush();
    const second = await open();
    expect(second.current.current('lib_a')).toBe('r1:3306');
    expect(second.current.serverFor(LIB_A)?.host).toBe('r1');
  });

  it('starts at the top after a restart with a re-ranked list, and keeps the server when one was only appended', async () => {
    const first = await open();
    first.health.record('m:3306', refused);
    await first.current.flush();
    expect((await open([library('lib_a', ['m', 'r1', 'r2', 'r3']), LIB_B])).current.current('lib_a')).toBe('r1:3306');
    await rm(stateFile);
    const again = await open();
    again.health.record('m:3306', refused);
    await again.current.flush();
    expect((await open([library('lib_a', ['r2', 'm', 'r1']), LIB_B])).current.current('lib_a')).toBe('r2:3306');
  });

  it('gives null while every server of the library is down', async () => {
    const { health, current } = await open();
    for (const host of ['m', 'r1', 'r2']) health.record(`${host}:3306`, refused);
    expect(current.serverFor(LIB_A)).toBeNull();
  });

  it('fails back only when the operator asks, to a server that is not down', async () => {
    const { health, current, moves } = await open();
    health.record('m:3306', refused);
    expect(await current.failback('lib_a')).toEqual({ ok: false, error: "cannot move library 'lib_a' to m:3306: m:3306 is down" });
    expect(await current.failback('nope')).toEqual({ ok: false, error: "no library is called 'nope'" });
    health.record('m:3306', ok);
    expect(await current.failback('lib_a', 'r1:3306')).toEqual({ ok: true, move: null });
    expect(await current.failback('lib_a')).toMatchObject({ ok: true, move: { from: 'r1:3306', to: 'm:3306', reason: 'operator' } });
    expect(moves.map((m) => m.reason)).toEqual(['down', 'operator']);
  });

  it('with auto_failback goes back by itself once the earlier server is up', async () => {
    const { health, current } = await open(undefined, true);
    health.record('m:3306', refused);
    expect(current.current('lib_a')).toBe('r1:3306');
    health.record('m:3306', ok);
    expect(current.current('lib_a')).toBe('m:3306');
  });

  it('adopts a reload: new libraries, removed ones, and a reordered list moves to its first server', async () => {
    const { health, current, moves } = await open();
    health.record('m:3306', refused);
    current.setLibraries([library('lib_a', ['m', 'r1', 'r2', 'r3']), library('lib_c', ['c'])]);
    expect([current.current('lib_a'), current.current('lib_b'), current.current('lib_c')]).toEqual(['r1:3306', null, 'c:3306']);
    current.setLibraries([library('lib_a', ['r2', 'r1'])]);
    expect(current.current('lib_a')).toBe('r2:3306');
    expect(moves.at(-1)).toEqual({ library: 'lib_a', from: 'r1:3306', to: 'r2:3306', reason: 'reload', epoch: 3, won: true });
    await current.flush();
    expect([...(await readSavedState(stateFile)).keys()]).toEqual(['lib_a']);
  });

  describe('servers left by failover', () => {
    it('never fails over back to a server it left by failover, and is unavailable when no other server is usable', async () => {
      const { health, current, moves } = await open();
      health.record('r1:3306', ok);
      health.record('m:3306', refused);
      expect(current.current('lib_a')).toBe('r1:3306');
      health.record('m:3306', ok); // the old master is back, with the library's later writes missing
      health.record('r1:3306', refused);
      expect(current.current('lib_a')).toBe('r2:3306'); // r2 (unchecked) rather than m
      health.record('r2:3306', refused);
      expect(current.serverFor(LIB_A)).toBeNull();
      expect(current.leftByFailover('lib_a', 'm:3306')).toEqual(expect.any(Number));
      expect(current.leftByFailover('lib_a', 'r1:3306')).toEqual(expect.any(Number));
      expect(moves.map((m) => `${m.from}>${m.to}`)).toEqual(['m:3306>r1:3306', 'r1:3306>r2:3306']);
    });

    it('takes the server back as a candidate once an operator fails back to it', async () => {
      const { health, current } = await open();
      health.record('m:3306', refused);
      health.record('m:3306', ok);
      expect(await current.failback('lib_a', 'm:3306')).toMatchObject({ ok: true, move: { to: 'm:3306', reason: 'operator' } });
      expect(current.leftByFailover('lib_a', 'm:3306')).toBeNull();
      expect(current.leftByFailover('lib_a', 'r1:3306')).toBeNull(); // left by an operator, not by failover
    });

    it('remembers the servers left by failover across a restart, and loads a state file written without them', async () => {
      const first = await open();
      first.health.record('m:3306', refused);
      await first.current.flush();
      const saved = JSON.parse(await readFile(stateFile, 'utf8'));
      expect(saved.libraries.lib_a.left_by_failover).toEqual({ 'm:3306': expect.any(String) });
      expect(saved.libraries.lib_b).toEqual({ current: 'b:3306', servers: ['b:3306'], since: expect.any(String) });

      const second = await open();
      second.health.record('m:3306', ok);
      second.health.record('r1:3306', refused);
      second.health.record('r2:3306', refused);
      expect(second.current.serverFor(LIB_A)).toBeNull();

      await writeFile(stateFile, JSON.stringify({ version: 1, libraries: { lib_a: { current: 'r1:3306', servers: ['m:3306', 'r1:3306', 'r2:3306'], since: '2026-01-01T00:00:00.000Z' } } }));
      const old = await open();
      expect(old.current.current('lib_a')).toBe('r1:3306');
      old.health.record('m:3306', ok);
      old.health.record('r1:3306', refused);
      expect(old.current.current('lib_a')).toBe('m:3306');
    });

    it('with auto_failback, keeps the marks but lets the library go back (the operator declared returning servers safe)', async () => {
      const { health, current } = await open(undefined, true);
      health.record('m:3306', refused);
      expect(current.leftByFailover('lib_a', 'm:3306')).toBeNull();
      health.record('m:3306', ok);
      expect(current.current('lib_a')).toBe('m:3306');
    });

    it('forgets the mark of a server removed from the list (the operator re-added it on purpose)', async () => {
      const { health, current } = await open();
      health.record('m:3306', refused);
      current.setLibraries([library('lib_a', ['r1', 'r2']), LIB_B]);
      expect(current.leftByFailover('lib_a', 'm:3306')).toBeNull();
      current.setLibraries([library('lib_a', ['m', 'r1', 'r2']), LIB_B]);
      health.record('m:3306', ok);
      health.record('r1:3306', refused);
      expect(current.current('lib_a')).toBe('m:3306');
    });
  });

  it('refuses to start on a damaged state file, saying how to recover', async () => {
    await writeFile(stateFile, '{"version":1,"libraries":{"lib_a":{"current":"x:1"');
    await expect(open()).rejects.toThrow(StateFileError);
    await writeFile(stateFile, JSON.stringify({ version: 1, libraries: { lib_a: { current: 'x:1', servers: ['y:1'], since: 'now' } } }));
    await expect(open()).rejects.toThrow(/malformed entry for library "lib_a".*delete it to start every library at its first server/);
    expect(await readFile(stateFile, 'utf8')).toContain('x:1');
    await writeFile(stateFile, JSON.stringify({ version: 1, libraries: { lib_a: { current: 'y:1', servers: ['y:1'], since: 'now', left_by_failover: { 'z:1': 5 } } } }));
    await expect(open()).rejects.toThrow(/malformed entry for library "lib_a"/);
  });
});
