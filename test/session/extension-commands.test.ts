import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import type { ExtensionCommand } from '../../src/routing/extension-sql.js';
import { runExtension, selectLibrary } from '../../src/session/extension-commands.js';
import type { SessionAction } from '../../src/session/session-action.js';
import type { SessionServices } from '../../src/session/session-services.js';
import { DirectoryError } from '../../src/store/key-directory.js';

/** A directory with one key, one alias, and what it was asked to save. */
function directory(options: { saveFails?: unknown } = {}) {
  const keys = new Map([['k1', 'lib1'], ['k2', 'lib2']]);
  const correls = new Map([['account:a1', 'k1']]);
  return {
    saved: [] as string[],
    lookupCorrel: (correlClass: string, object: string) => correls.get(`${correlClass}:${object}`),
    findCorrel: async (correlClass: string, object: string) => correls.get(`${correlClass}:${object}`),
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

/** Extension SQL run for session 9, and what it decided. */
function harness(options: { saveFails?: unknown } = {}) {
  const calls: string[] = [];
  const events = new ProxyEvents();
  events.on('assignment', (event) => calls.push(`assignment event: ${event.library}`));
  const dir = directory(options);
  const services = { directory: dir, logger: silentLogger(), events } as unknown as SessionServices;
  const describeAction = (action: SessionAction) => {
    if (action.kind === 'route') return `route to ${action.library} (key ${action.key})`;
    if (action.kind === 'reply-error') return `ERR ${action.error.code}: ${action.error.message}`;
    return action.kind;
  };
  const run = async (command: ExtensionCommand) => void calls.push(describeAction(await runExtension(services, 9, command)));
  const select = async (key: string) => void calls.push(describeAction(await selectLibrary(services, 9, key)));
  return { calls, dir, run, select };
}

describe('extension SQL', () => {
  it('select library routes to the key\'s library, and reports a new key\'s assignment first', async () => {
    const known = harness();
    await known.run({ kind: 'select_library', key: 'k1' });
    expect(known.calls).toEqual(['route to lib1 (key k1)']);

    const fresh = harness();
    await fresh.run({ kind: 'select_library', key: 'new-key' });
    expect(fresh.calls).toEqual(['assignment event: lib2', 'route to lib2 (key new-key)']);
  });

  it('select library answers 7107 when the assignment cannot be saved', async () => {
    const failing = harness({ saveFails: new Error('disk full') });
    await failing.select('k1');
    expect(failing.calls).toEqual(['ERR 7107: The assignment could not be saved: see the mysqlda log']);
  });

  it('select library by correl_object routes through the alias, or answers 7103 for an unknown one', async () => {
    const h = harness();
    await h.run({ kind: 'select_library_by_correl_object', correlClass: 'account', object: 'a1' });
    await h.run({ kind: 'select_library_by_correl_object', correlClass: 'account', object: 'a2' });
    expect(h.calls).toEqual(['route to lib1 (key k1)', "ERR 7103: Unknown correl object 'a2' of class 'account'"]);
  });

  it('set correl_object binds and answers OK; a key without a library is 7104, a conflicting binding 7105 naming the bound key', async () => {
    const h = harness();
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a3', key: 'k1' });
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a4', key: 'nowhere' });
    await h.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a1', key: 'k2' });
    expect(h.dir.saved).toEqual(['account:a3=k1']);
    expect(h.calls).toEqual([
      'reply-ok',
      "ERR 7104: Key 'nowhere' has no library yet: send 'select library nowhere' first",
      "ERR 7105: Correl object 'a1' of class 'account' is already bound to key 'k1'",
    ]);
  });

  it('set correl_object answers 7107 when the binding cannot be saved', async () => {
    const failing = harness({ saveFails: new DirectoryError('PERSIST_FAILED', 'disk full') });
    await failing.run({ kind: 'set_correl_object', correlClass: 'account', object: 'a3', key: 'k1' });
    expect(failing.calls).toEqual(['ERR 7107: The assignment could not be saved: see the mysqlda log']);
  });

  it('show library is answered by the session, from its route, in the text protocol', async () => {
    const h = harness();
    await h.run({ kind: 'show_library' });
    expect(h.calls).toEqual(['show-library']);
  });
});
