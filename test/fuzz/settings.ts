/**
 * How a fuzz run is chosen from the environment:
 *   MYSQLDA_FUZZ_CASES=<n>           cases to play (default: the mode's own)
 *   MYSQLDA_FUZZ_SEED=<n>            the run's seed (default: the mode's own; the full run picks one from the clock)
 *   MYSQLDA_FUZZ_ONLY=<i>[,<i>-<j>]  replay only these case indexes of the seed (and ranges)
 *   MYSQLDA_FUZZ_CONCURRENCY=<n>     sockets in flight (default 48)
 *   MYSQLDA_FUZZ_BATCH=<n>           cases between two checks (default 1000)
 *   MYSQLDA_FUZZ_ADMIN_COMMANDS=0    keep server-administration codes (COM_SHUTDOWN ...) out of routed cases
 */
import type { CampaignOptions } from './campaign.js';

export function fuzzSettings(env: NodeJS.ProcessEnv, defaults: { cases: number; seed: number; batchSize: number }): Omit<CampaignOptions, 'log'> {
  const number = (name: string, fallback: number) => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${JSON.stringify(text)}`);
    return value;
  };
  const only = env.MYSQLDA_FUZZ_ONLY ? env.MYSQLDA_FUZZ_ONLY.split(',').flatMap(indexRange) : undefined;
  return {
    seed: number('MYSQLDA_FUZZ_SEED', defaults.seed) >>> 0,
    cases: number('MYSQLDA_FUZZ_CASES', defaults.cases),
    batchSize: Math.max(1, number('MYSQLDA_FUZZ_BATCH', defaults.batchSize)),
    concurrency: Math.max(1, number('MYSQLDA_FUZZ_CONCURRENCY', 48)),
    adminCommands: env.MYSQLDA_FUZZ_ADMIN_COMMANDS !== '0',
    only,
    // A replay plays just its cases.
    probes: only === undefined,
  };
}

function indexRange(text: string): number[] {
  const [from, to = from] = text.trim().split('-').map(Number);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) throw new Error(`MYSQLDA_FUZZ_ONLY: ${JSON.stringify(text)} is not an index or a range`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
