/**
 * Live reload of the configuration, one at a time (the file watcher, SIGUSR1 and the admin interfaces may ask
 * together): load and validate the new file, diff it against the running config, and hand an acceptable diff to
 * the server to apply. An invalid file, a change that needs a restart, or an apply that throws (e.g. a removed
 * library that still owns keys) rejects the reload as a whole: the old config keeps serving.
 */
import type { Logger } from '../log/logger.js';
import type { ReloadResult } from '../observability/status.js';
import { diffConfigs, type ConfigDiff } from './diff.js';
import { ConfigError, type ValidatedConfig } from './load.js';
import type { MysqldaConfig } from './types.js';

export interface ReloaderDeps {
  logger: Logger;
  /** Told of every reload's outcome (metrics). */
  report: (ok: boolean, changes: number) => void;
  load: (configPath: string) => Promise<ValidatedConfig>;
  current: () => MysqldaConfig;
  /** Applies an accepted diff; throws (having changed nothing) to reject it. Returns extra lines for the report. */
  apply: (next: MysqldaConfig, diff: ConfigDiff) => Promise<string[]>;
}

export function configReloader(deps: ReloaderDeps): (given?: MysqldaConfig) => Promise<ReloadResult> {
  let queue: Promise<unknown> = Promise.resolve();
  const reject = (message: string): ReloadResult => {
    deps.logger.error({ reload: 'rejected' }, `config reload rejected, the running config stays: ${message}`);
    deps.report(false, 0);
    return { ok: false, message, changes: [] };
  };
  const run = async (given?: MysqldaConfig): Promise<ReloadResult> => {
    const current = deps.current();
    let next: MysqldaConfig;
    try {
      if (given) {
        next = given;
      } else {
        const loaded = await deps.load(current.configPath);
        next = loaded.config;
        for (const warning of loaded.warnings) deps.logger.warn({ configPath: current.configPath }, `config: ${warning}`);
      }
    } catch (err) {
      if (err instanceof ConfigError) return reject(`invalid configuration ${err.configPath}: ${err.problems.join('; ')}`);
      return reject((err as Error).message);
    }
    const diff = diffConfigs(current, next);
    if (diff.restartNeeded.length > 0) return reject(`a restart is needed to apply this: ${diff.restartNeeded.join('; ')}`);
    if (diff.changes.length === 0) {
      deps.logger.info('config reload: nothing changed');
      deps.report(true, 0);
      return { ok: true, message: 'nothing changed', changes: [] };
    }
    let notes: string[];
    try {
      notes = await deps.apply(next, diff);
    } catch (err) {
      return reject((err as Error).message);
    }
    const changes = [...diff.changes, ...notes];
    for (const change of changes) deps.logger.notice({ reload: 'applied' }, `config reload: ${change}`);
    deps.report(true, changes.length);
    return { ok: true, message: `applied ${diff.changes.length} change(s)`, changes };
  };
  return (given) => {
    const result = queue.then(() => run(given));
    queue = result.catch(() => undefined);
    return result;
  };
}
