/**
 * The full fuzz run (`npm run fuzz`): 100,000 cases by default, a seed from the clock unless given (see
 * settings.ts). Not part of `npm test`; test/integration/fuzz-quick.test.ts is its short form there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/ensure-built.js';
import { formatFailure, FuzzEnvironment, runCampaign } from './campaign.js';
import { fuzzSettings } from './settings.js';
import { formatSummary } from './summary.js';

const settings = fuzzSettings(process.env, { cases: 100_000, seed: Date.now() % 0x1_0000_0000, batchSize: 1000 });
let env: FuzzEnvironment;

beforeAll(async () => {
  ensureBuilt();
  env = await FuzzEnvironment.start();
});

afterAll(async () => {
  await env?.stop();
});

it(`the proxy survives ${settings.only?.length ?? settings.cases} fuzz cases (seed ${settings.seed}) in every place a client can be`, async () => {
  const report = await runCampaign(env, { ...settings, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`${formatSummary(report)}\n`);
  expect(report.failures.map(formatFailure)).toEqual([]);
});
