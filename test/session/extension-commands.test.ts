import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { PacketFramer } from '../../src/protocol/packet.js';
import type { ExtensionCommand } from '../../src/routing/extension-sql.js';
import { runExtension, selectLibrary, type ExtensionHost } from '../../src/session/extension-commands.js';
import type { SessionServices } from '../../src/session/session-services.js';
import { DirectoryError } from '../../src/store/durable-directory.js';

const packet = { sequenceId: 0, payload: Buffer.from('\x03select library k1') };

/** A directory with one key, one alias, and what it was asked to save. */
function directory(options: { saveFails?: unknown } = {}) {
  const keys = new Map([['k1', 'lib1'], ['k2', 'lib2']]);
  const correls = new Map([['account:a1', 'k1']]);
  return {
    saved: [] as string[],
    lookupCorrel: (correlClass: string, object: string) => correls.get(`${correlClass}:${object}`),
    async resolveKey(key: string) {
      if (options.saveFails) throw options.saveFails;
      const known = keys.get(key);
      if (known) return { library: known, isNew: false };
      keys.set(key, 'lib2');
      return { library: 'lib2', isNew: true };
    },
    async bindCorrel(correlClass: string, object: string, key: string) {
      if (options.saveFails) throw options.saveFails;
      if (!keys.has(key)) throw new DirectoryError('UNKNOWN_KEY', key);
      const bound = correls.get(`${correlClass}:${object}`);
      if (bound !== undefined && bound !== key) throw new DirectoryError('CORREL_CONFLICT', object);
      correls.set(`${correlClass}:${object}`, key);
      this.saved.push(`${correlClass}:${object}=${key}`);
    },
  };
}

/** Extension SQL driven by hand: what it asks of its session, in order. */
function harness(options: { saveFails?: unknown; closed?: boolean } = {}) {
  const calls: string[] = [];
  const written: Buffer[] = [];
  const events = new ProxyEvents();
  events.on('assignment', (event) => calls.push(`assignment event: ${event.library}`));
  const dir = directory(options);
  const host: ExtensionHost = {
    services: { directory: dir, logger: silentLogger(), events } as unknown as SessionServices,
    session: { id: 9 },
    isClosed: () => options.closed ?? false,
    routeToLibrary: async (library, key, reply) => {
      calls.push(`route to ${library} (key ${key}) seq=${reply}`);
      return true;
    },
    showLibraryRow: () => ['lib1', 'k1', '127.0.0.1:3306'],
    currentStatus: () => 2,
    deprecateEof: () => false,
    replyOk: (sequenceId) => void calls.push(`OK seq=${sequenceId}`),
    replyError: (sequenceId, error) => void calls.push(`ERR ${error.code} seq=${sequenceId}: ${error.message}`),
    write: (bytes) => void written.push(bytes),
  };
  const run = (command: ExtensionCommand) => runExtension(host, command, packet);
  return { host, calls, dir, run, packets: () => new PacketFramer().push(Buffer.concat(written)) };
}

describe('extension SQL', () => {
  it('select library routes to the key\'s library, and reports a new key\'s assignment first', async () => {
    const known = harness();
    await known.run({ kind: 'select_library', key: 'k1' });
    expect(known.calls).toEqual(['route to lib1 (key k1) seq=1']);

    const fresh = harness();
    await fresh.run({ kind: 'select_library', key: 'new-key' });
    expect(fresh.calls).toEqual(['assignment event: lib2', 'route to lib2 (key new-key) seq=1']);
  });

  it('select library answers 7107 when the assignment cannot be saved, and does not route a session that closed meanwhile', async () => {
    const failing = harness({ saveFails: new Error('disk full') });
    expect(await selectLibrary(failing.host, 'k1', 1)).toBe(false);
    expect(failing.calls).toEqual(['ERR 7107 seq=1: The assignment could not be saved: see the mysqlda log']);

    const closed = harness({ closed: true });
    expect(await selectLibrary(closed.host, 'k1', 1)).toBe(false);
    expect(closed.calls).toEqual([]);
  });

  it('select library by correl_object routes through the alias, or answers 7103 for an unknown one', async () => {
    const h = harness();
    await h.run({ kind: 'select_library_by_correl_object', correlClass: 'account', object: 'a1' });
    await h.run({ kind: 'select_library_by_correl_object', correlClass: 'account', object: 'a2' });
    expect(h.calls).toEqual(['route to lib1 (key k1) seq=1', "ERR 7103 seq=1: Unknown correl object 'a2' of class 'account'"]);
  });

  it('set correl_object binds and answers OK; a key without a library is 7104, a conflicting binding 7105 naming the bound key', async () => {
    const h = harness();
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a3', key: 'k1' });
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a4', key: 'nowhere' });
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a1', key: 'k2' });
    expect(h.dir.saved).toEqual(['account:a3=k1']);
    expect(h.calls).toEqual([
      'OK seq=1',
      "ERR 7104 seq=1: Key 'nowhere' has no library yet: send 'select library nowhere' first",
      "ERR 7105 seq=1: Correl object 'a1' of class 'account' is already bound to key 'k1'",
    ]);
  });

  it('set correl_object answers 7107 when the binding cannot be saved, and nothing once the session has closed', async () => {
    const failing = harness({ saveFails: new DirectoryError('PERSIST_FAILED', 'disk full') });
    await failing.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a3', key: 'k1' });
    expect(failing.calls).toEqual(['ERR 7107 seq=1: The assignment could not be saved: see the mysqlda log']);

    const closed = harness({ closed: true });
    await closed.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a3', key: 'k1' });
    expect(closed.calls).toEqual([]);
    expect(closed.dir.saved).toEqual(['account:a3=k1']);
  });

  it('show library answers one row: library, key, server', async () => {
    const h = harness();
    await h.run({ kind: 'show_library' });
    const packets = h.packets();
    // column count, three column definitions, EOF, the row, EOF
    expect(packets.map((p) => p.sequenceId)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(packets[5].payload.toString('latin1')).toContain('127.0.0.1:3306');
  });
});
