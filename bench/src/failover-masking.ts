/**
 * Failover masking: client-visible errors of idle pooled connections across a master kill (the goal is 0), and how
 * long their first statement after the kill takes (it waits for the failover). A sandbox of one library (master
 * and replica), the proxy as its own process (`bin/mysqlda`, from dist/: `npm run build` first), a mysql2 pool of
 * `connections` connections, each routed, with a session variable and a prepared statement, idle when the master
 * gets SIGKILL. The replica is made writable right after, as a promotion tool would.
 *
 *   npm run build && npm run build:tools && node build/bench/src/failover-masking.js [connections] [rounds]
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mysql from 'mysql2/promise';
import { PROJECT_ROOT } from '../../tools/project-root.js';
import { findFreePort } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { removeTree } from '../../tools/sandbox/tree.js';
import { ListeningProcess } from './listening-process.js';
import { median } from './stats.js';

export interface MaskingRound {
  connections: number;
  /** Statements after the kill that failed, as the client saw them (each connection runs two). */
  clientErrors: number;
  /** The distinct messages of those errors. */
  errorMessages: string[];
  /** Connections whose statements after the kill ran on the replica. */
  onReplica: number;
  /** First statement after the kill, per connection: median and slowest (ms). */
  firstAnswerMedianMs: number;
  firstAnswerMaxMs: number;
}

export interface FailoverMaskingFigures {
  rounds: MaskingRound[];
  /** Client-visible errors over every round (goal 0). */
  clientErrors: number;
}

/** One round: a fresh sandbox and proxy, `connections` idle pooled connections, one master kill. */
async function maskingRound(connections: number): Promise<MaskingRound> {
  const dir = await mkdtemp(join(os.tmpdir(), 'mysqlda-bench-masking-'));
  const sandbox = await Sandbox.start({ dir: join(dir, 'servers'), libraries: 1, replicas: 1 });
  let proxy: ListeningProcess | undefined;
  let pool: mysql.Pool | undefined;
  try {
    const port = await findFreePort();
    const configPath = join(dir, 'mysqlda.conf');
    const extra = {
      session_pool: { unused_forward_session_timeout: 60, connect_timeout_ms: 2000 },
      health: { interval_ms: 250, timeout_ms: 1000, fail_threshold: 3, rise_threshold: 2 },
    };
    await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: dir, extra }), { mode: 0o600 });
    proxy = await ListeningProcess.start({
      name: 'mysqlda',
      command: process.execPath,
      args: [join(PROJECT_ROOT, 'bin/mysqlda'), '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'],
      port,
    });
    const { user, password, database } = sandbox;
    pool = mysql.createPool({ host: '127.0.0.1', port, user, password, database, connectionLimit: connections });
    const taken = await Promise.all(Array.from({ length: connections }, () => pool!.getConnection()));
    const statements: mysql.PreparedStatementInfo[] = [];
    for (const [i, connection] of taken.entries()) {
      await connection.query(`select library bench-masking-${i}`);
      await connection.query(`SET SESSION wait_timeout = ${1000 + i}`);
      statements.push(await connection.prepare('select ? + 1 as n, @@port as port'));
    }
    for (const connection of taken) connection.release();

    const { master, replicas } = sandbox.libraries[0];
    await master.kill('SIGKILL');
    await replicas[0].query('SET GLOBAL read_only = 0');

    let clientErrors = 0;
    const messages = new Set<string>();
    const failed = (err: unknown) => {
      clientErrors++;
      messages.add((err as Error).message);
    };
    const again = await Promise.all(Array.from({ length: connections }, () => pool!.getConnection()));
    const outcomes = await Promise.all(
      again.map(async (connection, i) => {
        const started = performance.now();
        let port = 0;
        try {
          const [rows] = await connection.query('select @@port as port, @@session.wait_timeout as wt');
          port = (rows as { port: number }[])[0].port;
        } catch (err) {
          failed(err);
        }
        const ms = performance.now() - started;
        try {
          await statements[i].execute([i]);
        } catch (err) {
          failed(err);
        }
        return { ms, port };
      }),
    );
    for (const connection of again) connection.release();
    const times = outcomes.map((outcome) => outcome.ms);
    return {
      connections,
      clientErrors,
      errorMessages: [...messages],
      onReplica: outcomes.filter((outcome) => outcome.port === replicas[0].port).length,
      firstAnswerMedianMs: Math.round(median(times) * 10) / 10,
      firstAnswerMaxMs: Math.round(Math.max(...times) * 10) / 10,
    };
  } finally {
    await pool?.end().catch(() => {});
    await proxy?.stop();
    await sandbox.stop();
    await removeTree(dir);
  }
}

export async function measureFailoverMasking(connections = 16, rounds = 3): Promise<FailoverMaskingFigures> {
  const results: MaskingRound[] = [];
  for (let round = 0; round < rounds; round++) results.push(await maskingRound(connections));
  return { rounds: results, clientErrors: results.reduce((sum, round) => sum + round.clientErrors, 0) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [connections, rounds] = process.argv.slice(2).map(Number);
  measureFailoverMasking(connections || undefined, rounds || undefined).then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
