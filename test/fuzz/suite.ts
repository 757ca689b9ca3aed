import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/ensure-built.js';
import { formatFailure, FuzzEnvironment, runCampaign, type CampaignOptions } from './campaign.js';
import { formatSummary } from './summary.js';

/** One fuzz run as a vitest test: the proxies and servers start before it and stop after it. */
export function fuzzRun(title: string, settings: Omit<CampaignOptions, 'log'>): void {
  let env: FuzzEnvironment;
  beforeAll(async () => {
    ensureBuilt();
    env = await FuzzEnvironment.start();
  });
  afterAll(async () => {
    await env?.stop();
  });
  it(title, async () => {
    const report = await runCampaign(env, { ...settings, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`${formatSummary(report)}\n`);
    expect(report.failures.map(formatFailure)).toEqual([]);
  });
}
