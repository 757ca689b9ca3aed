import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECKS } from './scenario.js';

export const RESULTS_FILE = path.join(import.meta.dirname, 'results', 'latest.json');

export interface CheckResult {
  check: string;
  /** missing: the program printed nothing for it (it stopped early, or does not run it). */
  status: 'passed' | 'failed' | 'missing';
  /** Listed in the driver's knownProxyGaps. */
  knownGap: boolean;
  detail?: string;
}

export interface ClientResult {
  client: string;
  label: string;
  version: string | null;
  how: string;
  /** The program could not run (missing package, no output). */
  error?: string;
  checks: CheckResult[];
  passed: number;
  failed: number;
  durationMs: number;
  ranAt: string;
  /** The mysqlda commit the client ran against, '+dirty' when the work tree had changes. */
  mysqlda?: string;
}

export interface ResultsFile {
  description: string;
  checks: Record<string, string>;
  clients: ClientResult[];
}

/**
 * Puts the clients' results into results/latest.json, replacing earlier entries of the same clients and keeping
 * the others (driver files run one at a time, so read-modify-write is safe).
 */
export async function recordClientResults(results: ClientResult[]): Promise<void> {
  if (results.length === 0) return;
  const file = await readResults();
  const mysqlda = mysqldaRevision();
  for (const result of results) {
    const entry = { ...result, mysqlda };
    const at = file.clients.findIndex((c) => c.client === result.client);
    if (at === -1) file.clients.push(entry);
    else file.clients[at] = entry;
  }
  file.checks = { ...CHECKS };
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  const temporary = `${RESULTS_FILE}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`);
  await rename(temporary, RESULTS_FILE);
}

async function readResults(): Promise<ResultsFile> {
  const empty: ResultsFile = {
    description: 'Written by the client compatibility suite (test/integration/compat-*.test.ts); `node scripts/compat-table.mjs` makes the README table.',
    checks: {},
    clients: [],
  };
  try {
    const parsed = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as ResultsFile;
    return Array.isArray(parsed.clients) ? { ...empty, ...parsed } : empty;
  } catch {
    return empty;
  }
}

function mysqldaRevision(): string | undefined {
  const cwd = path.resolve(import.meta.dirname, '../..');
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const status = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd, encoding: 'utf8' });
  return `${head.stdout.trim()}${status.stdout.trim() ? '+dirty' : ''}`;
}
