/**
 * Failover time with failover.mode "promote": from a master's SIGKILL to the first write through mysqlda that
 * succeeds (on the promoted replica), as a client retrying with fresh connections sees it. Each run is a fresh
 * sandbox (a master and two GTID replicas) and a proxy process (`bin/mysqlda -a start --no-daemon`).
 *
 * A killed master refuses connections, which marks it down at once (at the next check, or at the first session that
 * tries it), so the time is mostly the promotion (catch-up wait, STOP SLAVE; RESET SLAVE ALL, read_only OFF) plus
 * one new session. A frozen master (SIGSTOP: connections hang) is found only after fail_threshold failed checks,
 * which is what the bar, interval × fail_threshold + 2 s, allows for; it is measured at the tuned interval.
 *
 *   npm run build && npm run build:tools && node build/bench/src/failover-time.js [runs per case]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { findFreePort } from '../../tools/sandbox/ports.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { ListeningProcess } from './listening-process.js';
import { median } from './stats.js';

const MYSQLDA_BIN = join(PROJECT_ROOT, 'bin/mysqlda');
const FAIL_THRESHOLD = 3;
/** The cases measured: a kill at a tuned health interval and at the default one, a freeze at the tuned one. */
const CASES = [
  { signal: 'SIGKILL', intervalMs: 250 },
  { signal: 'SIGKILL', intervalMs: 2000 },
  { signal: 'SIGSTOP', intervalMs: 250 },
] as const;
const RETRY_PAUSE_MS = 10;
const GIVE_UP_MS = 60_000;

export interface FailoverTimeRun {
  seconds: number;
  /** Failed attempts before the first good write (7106 while the library is promoted, refused connects). */
  failedAttempts: number;
  /** The write landed on the replica that was promoted. */
  onPromotedReplica: boolean;
}

export interface FailoverTimeFigures {
  /** How the master went away: killed (its port refuses connections) or frozen (connections hang). */
  signal: 'SIGKILL' | 'SIGSTOP';
  healthIntervalMs: number;
  failThreshold: number;
  /** interval × fail_threshold + 2 s. */
  barSeconds: number;
  medianSeconds: number;
  maxSeconds: number;
  runs: FailoverTimeRun[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureFailoverTime(runsPerInterval = 3, log: (line: string) => void = () => {}): Promise<FailoverTimeFigures[]> {
  const figures: FailoverTimeFigures[] = [];
  for (const { signal, intervalMs } of CASES) {
    const runs: FailoverTimeRun[] = [];
    for (let i = 0; i < runsPerInterval; i++) {
      const run = await oneFailover(intervalMs, signal);
      log(`${signal}, interval ${intervalMs} ms, run ${i + 1}: ${run.seconds.toFixed(3)} s (${run.failedAttempts} failed attempts)`);
      runs.push(run);
    }
    const seconds = runs.map((run) => run.seconds);
    figures.push({
      signal,
      healthIntervalMs: intervalMs,
      failThreshold: FAIL_THRESHOLD,
      barSeconds: (intervalMs * FAIL_THRESHOLD) / 1000 + 2,
      medianSeconds: round(median(seconds)),
      maxSeconds: round(Math.max(...seconds)),
      runs: runs.map((run) => ({ ...run, seconds: round(run.seconds) })),
    });
  }
  return figures;
}

async function oneFailover(intervalMs: number, signal: 'SIGKILL' | 'SIGSTOP'): Promise<FailoverTimeRun> {
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-failover-time-'));
  const sandbox = await Sandbox.start({ dir: join(dir, 'servers'), libraries: 1, replicas: 2 });
  let proxy: ListeningProcess | null = null;
  try {
    const etc = join(dir, 'etc');
    await mkdir(etc, { recursive: true });
    const port = await findFreePort();
    const configPath = join(etc, 'mysqlda.conf');
    const extra = {
      health: { interval_ms: intervalMs, timeout_ms: Math.min(1000, intervalMs), fail_threshold: FAIL_THRESHOLD, rise_threshold: 1 },
      session_pool: { connect_timeout_ms: 1000 },
      failover: { mode: 'promote', promote_timeout_s: 10 },
    };
    await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: etc, extra }), { mode: 0o600 });
    proxy = await ListeningProcess.start({
      name: 'mysqlda (failover-time)',
      command: process.execPath,
      args: [MYSQLDA_BIN, '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'],
      port,
      timeoutMs: 60_000,
    });
    const account = { host: '127.0.0.1', port, user: sandbox.user, password: sandbox.password };
    const [library] = sandbox.libraries;
    // Writes before the kill; then a few health rounds so that the proxy has read both replicas' positions.
    for (let n = 0; n < 5; n++) await write(account, `before-${n}`);
    await sandbox.waitForReplication();
    await sleep(3 * intervalMs);

    const killedAt = performance.now();
    if (signal === 'SIGKILL') await library.master.kill('SIGKILL');
    else library.master.signal('SIGSTOP');
    let failedAttempts = 0;
    for (;;) {
      try {
        const landedOn = await write(account, 'after');
        const seconds = (performance.now() - killedAt) / 1000;
        return { seconds, failedAttempts, onPromotedReplica: library.replicas.some((replica) => replica.port === landedOn) };
      } catch {
        failedAttempts++;
        if (performance.now() - killedAt > GIVE_UP_MS) throw new Error(`no write succeeded within ${GIVE_UP_MS / 1000} s of the kill`);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  } finally {
    await proxy?.stop();
    if (signal === 'SIGSTOP') await sandbox.libraries[0].master.kill('SIGKILL'); // a frozen server would not stop
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** One write through the proxy on a fresh connection; the port of the server it ran on. */
async function write(account: mysql.ConnectionOptions, name: string): Promise<number> {
  const connection = await mysql.createConnection({ ...account, connectTimeout: 2000 });
  try {
    await connection.query('select library failover-time');
    await connection.query('replace into test_table values (?, ?)', [name, 'x']);
    const [rows] = await connection.query('select @@port as port');
    return Number((rows as { port: number }[])[0].port);
  } finally {
    connection.destroy();
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 3);
  measureFailoverTime(runs, (line) => console.error(line)).then(
    (figures) => {
      console.log(JSON.stringify({ failoverTime: figures }, null, 2));
      process.exit(0);
    },
    (error: Error) => {
      console.error(`failover-time: ${error.message}`);
      process.exit(1);
    },
  );
}
