import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startTestProxy, type ProxyUnderTest } from '../support/proxy-harness.js';
import { recordClientResults, type ClientResult } from './results.js';
import { BIG_BLOB_BYTES, CHECKS, scenarioBlob, scenarioEnv, scenarioInfile, type CheckId } from './scenario.js';

export const COMPAT_DIR = import.meta.dirname;

/** One line a client program printed for a check. */
export interface CheckLine {
  client: string;
  check: string;
  ok: boolean;
  detail?: string;
}

/** What a client program produced: its version line, its check lines, and how it ended. */
export interface ProgramOutput {
  version: string | null;
  lines: CheckLine[];
  /** stdout lines that were not JSON, stderr, exit code: shown when a check is missing. */
  noise: string;
  exit: string;
}

/** Proxy and servers for one driver file; `env(clientId)` is a client program's environment. */
export interface CompatTarget {
  sandbox: Sandbox;
  proxy: ProxyUnderTest;
  dir: string;
  env(clientId: string): Record<string, string>;
}

export interface CompatClient {
  /** [a-z0-9_]+: names the client in JSON lines and prefixes its tables. */
  id: string;
  /** e.g. 'MariaDB Connector/J (JDBC)'. */
  label: string;
  /** How the client was driven, for the README table: API, options. */
  how: string;
  /** The checks the program must print, in order. */
  checks: CheckId[];
  /** Fails with the apt package to install when the client is missing; runs the program. */
  run(target: CompatTarget): Promise<ProgramOutput>;
}

/**
 * A check that fails today because mysqlda lacks a feature or has a bug. Its test passes while it fails and
 * fails as soon as it passes, so the entry is removed together with the fix.
 */
export interface KnownProxyGap {
  client: string;
  check: CheckId;
  /** The minimal reproduction: statements or API calls and what happens. */
  reproduction: string;
}

/**
 * The suite of one driver file: a sandbox (two libraries) and the proxy in front of it, then for each client
 * one test per expected check. Results go to test/compat/results/latest.json.
 * COMPAT_DIRECT=1 points the programs at a MariaDB server instead of mysqlda, to tell a client's own quirks from
 * proxy gaps (the lobby and extension checks fail there by design; no results are recorded).
 */
export function describeCompatClients(clients: CompatClient[], knownProxyGaps: KnownProxyGap[]): void {
  const direct = process.env.COMPAT_DIRECT === '1';
  let target: CompatTarget | undefined;
  let tmp = '';
  const outputs = new Map<string, { output?: ProgramOutput; error?: Error; durationMs: number }>();

  for (const gap of knownProxyGaps) {
    const client = clients.find((c) => c.id === gap.client);
    if (!client?.checks.includes(gap.check)) throw new Error(`knownProxyGaps names ${gap.client}/${gap.check}, which no client of this file runs`);
  }

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-compat-'));
    const sandbox = await Sandbox.start({ dir: path.join(tmp, 'servers'), libraries: 2, replicas: 0 });
    const proxy = await startTestProxy(sandbox, path.join(tmp, 'etc'));
    const blobFile = path.join(tmp, 'scenario.blob');
    await writeFile(blobFile, scenarioBlob());
    const bigBlobFile = path.join(tmp, 'scenario-big.blob');
    await writeFile(bigBlobFile, scenarioBlob(BIG_BLOB_BYTES));
    const infile = path.join(tmp, 'scenario-rows.csv');
    await writeFile(infile, scenarioInfile());
    const port = direct ? sandbox.libraries[0].master.port : proxy.port;
    target = {
      sandbox,
      proxy,
      dir: tmp,
      env: (clientId) =>
        scenarioEnv(clientId, {
          host: '127.0.0.1',
          port,
          user: sandbox.user,
          password: sandbox.password,
          database: sandbox.database,
          blobFile,
          bigBlobFile,
          infile,
        }),
    };
  });

  afterAll(async () => {
    await target?.proxy.stop();
    await target?.sandbox.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    if (direct) return;
    const results: ClientResult[] = [];
    for (const client of clients) {
      const run = outputs.get(client.id);
      if (run) results.push(summarise(client, run, knownProxyGaps));
    }
    await recordClientResults(results);
  });

  for (const client of clients) {
    describe(client.label, () => {
      beforeAll(async () => {
        const started = Date.now();
        try {
          outputs.set(client.id, { output: await client.run(target!), durationMs: Date.now() - started });
        } catch (error) {
          outputs.set(client.id, { error: error as Error, durationMs: Date.now() - started });
          throw error;
        }
      });

      it('prints each expected check once and no other', () => {
        const printed = outputOf(client).lines.map((line) => line.check);
        const unexpected = printed.filter((check) => !client.checks.includes(check as CheckId));
        const repeated = printed.filter((check, i) => printed.indexOf(check) !== i);
        expect(unexpected, 'checks the driver does not expect').toEqual([]);
        expect(repeated, 'checks printed twice').toEqual([]);
      });

      for (const check of client.checks) {
        const gap = knownProxyGaps.find((g) => g.client === client.id && g.check === check);
        const name = `${gap ? '[known proxy gap] ' : ''}${check}: ${CHECKS[check]}`;
        it(name, () => {
          const output = outputOf(client);
          const line = output.lines.find((l) => l.check === check);
          if (gap) {
            if (line?.ok && !direct) {
              throw new Error(`${client.id}/${check} passes now: remove it from knownProxyGaps`);
            }
            return;
          }
          if (!line) throw new Error(`${client.label} printed no result for ${check} (${output.exit})\n${output.noise}`);
          if (!line.ok) throw new Error(`${client.label}: ${check} failed: ${line.detail ?? '(no detail)'}`);
        });
      }
    });
  }

  function outputOf(client: CompatClient): ProgramOutput {
    const run = outputs.get(client.id);
    if (!run?.output) throw run?.error ?? new Error(`${client.label} did not run`);
    return run.output;
  }
}

function summarise(client: CompatClient, run: { output?: ProgramOutput; error?: Error; durationMs: number }, gaps: KnownProxyGap[]): ClientResult {
  const lines = run.output?.lines ?? [];
  const checks = client.checks.map((check) => {
    const line = lines.find((l) => l.check === check);
    const knownGap = gaps.some((g) => g.client === client.id && g.check === check);
    const status: 'passed' | 'failed' | 'missing' = !line ? 'missing' : line.ok ? 'passed' : 'failed';
    return { check, status, knownGap, ...(line?.ok === false && line.detail ? { detail: line.detail } : {}) };
  });
  return {
    client: client.id,
    label: client.label,
    version: run.output?.version ?? null,
    how: client.how,
    ...(run.error ? { error: run.error.message } : {}),
    checks,
    passed: checks.filter((c) => c.status === 'passed').length,
    failed: checks.filter((c) => c.status !== 'passed').length,
    durationMs: run.durationMs,
    ranAt: new Date().toISOString(),
  };
}

// ---- running client programs ----------------------------------------------------------------------

/**
 * Throws unless `command` is on the PATH (or is an existing absolute path), naming the Debian package that
 * provides it: a missing client fails its test, it is never skipped.
 */
export function requireCommand(command: string, aptPackage: string): void {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`${command} is not installed: apt-get install ${aptPackage} (listed in .ci/run)`);
  }
}

/** Throws unless `check` (a command run with sh) succeeds, with the apt package to install. */
export function requireWorking(description: string, shellCheck: string, aptPackage: string): void {
  const result = spawnSync('sh', ['-c', shellCheck], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${description} is missing (${(result.stderr || result.stdout).trim()}): apt-get install ${aptPackage} (listed in .ci/run)`);
  }
}

export interface RunOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Killed after this long; default 120 s. */
  timeoutMs?: number;
}

/** Runs a client program and collects its JSON lines. Resolves whatever its exit status. */
export function runProgram(command: string, args: string[], options: RunOptions): Promise<ProgramOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? COMPAT_DIR,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collector = new LineCollector();
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => collector.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      collector.end();
      const exit = timedOut ? `killed after ${timeoutMs / 1000} s` : signal ? `killed by ${signal}` : `exit code ${code}`;
      resolve(collector.output(exit, stderr));
    });
  });
}

/** Runs an in-process client (mysql2) that reports through `emit` like a program's JSON lines. */
export async function runInProcess(
  clientId: string,
  body: (emit: (line: Record<string, unknown>) => void) => Promise<void>,
): Promise<ProgramOutput> {
  const collector = new LineCollector();
  let exit = 'finished';
  try {
    await body((line) => collector.push(`${JSON.stringify({ client: clientId, ...line })}\n`));
  } catch (error) {
    exit = `threw ${(error as Error).stack ?? error}`;
  }
  collector.end();
  return collector.output(exit, '');
}

class LineCollector {
  private partial = '';
  private version: string | null = null;
  private readonly lines: CheckLine[] = [];
  private readonly noise: string[] = [];

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const part of parts) this.take(part);
  }

  end(): void {
    if (this.partial) this.take(this.partial);
    this.partial = '';
  }

  output(exit: string, stderr: string): ProgramOutput {
    const noise = [...this.noise, ...(stderr ? [`stderr:\n${stderr.slice(-4000)}`] : [])].join('\n');
    return { version: this.version, lines: this.lines, noise, exit };
  }

  private take(text: string): void {
    if (!text.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.noise.push(text);
      return;
    }
    const record = value as Record<string, unknown>;
    if (typeof record.version === 'string') this.version = record.version;
    else if (typeof record.check === 'string' && typeof record.ok === 'boolean') {
      this.lines.push({ client: String(record.client), check: record.check, ok: record.ok, detail: record.detail === undefined ? undefined : String(record.detail) });
    } else this.noise.push(text);
  }
}
