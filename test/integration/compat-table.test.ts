import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientResult, ResultsFile } from '../compat/results.js';
import { PROJECT_ROOT } from '../support/proxy-harness.js';

const run = promisify(execFile);
const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'compat-table.mjs');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-compat-table-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const client = (id: string, label: string, statuses: Array<[string, 'passed' | 'failed' | 'missing', boolean]>): ClientResult => ({
  client: id,
  label,
  version: `${label} 1.0`,
  how: 'query | execute',
  checks: statuses.map(([check, status, knownGap]) => ({ check, status, knownGap })),
  passed: statuses.filter(([, status]) => status === 'passed').length,
  failed: statuses.filter(([, status]) => status !== 'passed').length,
  durationMs: 1,
  ranAt: '2026-01-02T03:04:05.000Z',
  mysqlda: 'abc1234',
});

async function table(results: ResultsFile): Promise<string> {
  const file = path.join(dir, `${Math.random()}.json`);
  await writeFile(file, JSON.stringify(results));
  return (await run('node', [SCRIPT, file])).stdout;
}

describe('scripts/compat-table.mjs', () => {
  it('prints one markdown row per client in the order of docs/compatibility.md, with known gaps and failures named, and a legend', async () => {
    const out = await table({
      description: '',
      checks: { connect: 'connects', reset: 'resets', unused: 'not run by anyone' },
      clients: [
        client('mysql2', 'mysql2', [['connect', 'passed', false], ['reset', 'failed', true]]),
        client('mariadb_cli', 'mariadb CLI', [['connect', 'passed', false], ['reset', 'passed', false]]),
        client('sysbench', 'sysbench', [['connect', 'missing', false]]),
      ],
    });
    const rows = out.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| Client') && !line.startsWith('| ---'));
    expect(rows).toEqual([
      '| mariadb CLI | mariadb CLI 1.0 | query \\| execute. Checks: connect, reset | ✅ 2/2 |',
      '| mysql2 | mysql2 1.0 | query \\| execute. Checks: connect, reset | ⚠️ 1/2; known proxy gaps: reset |',
      '| sysbench | sysbench 1.0 | query \\| execute. Checks: connect | ❌ 0/1; failing: connect |',
    ]);
    expect(out).toContain('run of 2026-01-02 (mysqlda abc1234)');
    expect(out).toContain('- `reset`: resets');
    expect(out).not.toContain('unused');
  });

  it('fails with a message when there are no results', async () => {
    await expect(run('node', [SCRIPT, path.join(dir, 'missing.json')])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('run the compatibility suite first'),
    });
  });
});
