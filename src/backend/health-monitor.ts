/**
 * Checks every backend server on an interval and records the result in the ServerHealthBook.
 *
 * A check is what a session does: connect and log in with the backend credentials through BackendConnection (so
 * it succeeds exactly when a session could connect: same auth plugins, same TLS setting, same timeouts), then one
 * multi-statement reading @@read_only, the executed GTID position and the replica status (replication-check.ts).
 * mysql2 would be a second client stack whose success proves less about ours.
 * Rounds never overlap: the next starts `interval_ms` after the previous one started, or when it ends if it ran
 * longer.
 */
import type { HealthConfig, ServerConfig } from '../config/types.js';
import { Capability, Command, DEFAULT_CHARSET } from '../protocol/constants.js';
import { PayloadReader } from '../protocol/payload.js';
import { readStatementAnswers } from '../protocol/text-result-sets.js';
import { BackendConnection, BackendError, serverAddress } from './backend-connection.js';
import { ServerErrorCode } from '../protocol/error-codes.js';
import { classifyConnectFailure } from './connect-failure.js';
import { readCheckAnswers, replicationCheckSql } from './replication-check.js';
import type { HealthObservation, ServerHealthBook } from './server-health.js';

export type Probe = (server: ServerConfig, timeoutMs: number) => Promise<HealthObservation>;

const READ_ONLY_QUERY = Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from('SELECT @@read_only', 'latin1')]);
/** The check sends two statements in one COM_QUERY. */
const CHECK_SHAPE = { capabilities: Capability.MULTI_STATEMENTS | Capability.MULTI_RESULTS, charset: DEFAULT_CHARSET };

/**
 * One check of one server: connect, log in, read @@read_only and replication, quit. A server that answers with an
 * error packet (too many connections, a user limit, access denied) is alive: the check passes, so that a full
 * server never fails its libraries over. Only "shutdown in progress" (the server is going away) fails it, at once.
 * A replica status the account may not read leaves replication null; the check still passes.
 */
export async function probeServer(server: ServerConfig, timeoutMs: number): Promise<HealthObservation> {
  let connection: BackendConnection;
  try {
    connection = await BackendConnection.connect(server, CHECK_SHAPE, timeoutMs);
  } catch (err) {
    const kind = classifyConnectFailure(err);
    if (kind === 'answered' && err instanceof BackendError && err.serverError) return { ok: true, readOnly: null };
    return { ok: false, error: (err as Error).message, conclusive: kind === 'unreachable' };
  }
  try {
    const sql = replicationCheckSql(connection.greeting.serverVersion);
    const result = await connection.execute(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql, 'latin1')]), timeoutMs);
    if (result.lost || result.error?.code === ServerErrorCode.serverShutdown) {
      return { ok: false, error: `the health check's query failed: ${result.error?.message ?? 'no answer'}` };
    }
    const reading = readCheckAnswers(readStatementAnswers(result.packets, connection.deprecateEof));
    if (reading.variablesError === null) return { ok: true, readOnly: reading.readOnly, replication: reading.replication };
    return await readOnlyAlone(connection, timeoutMs);
  } finally {
    connection.close();
  }
}

/** The check of a server that does not know the GTID variables (an old version): @@read_only alone. */
async function readOnlyAlone(connection: BackendConnection, timeoutMs: number): Promise<HealthObservation> {
  const result = await connection.execute(READ_ONLY_QUERY, timeoutMs);
  if (!result.ok && !result.lost && result.error && result.error.code !== ServerErrorCode.serverShutdown) return { ok: true, readOnly: null, replication: null };
  if (!result.ok) return { ok: false, error: `SELECT @@read_only failed: ${result.error?.message ?? 'no answer'}` };
  return { ok: true, readOnly: readOnlyFrom(result.packets), replication: null };
}

/** @@read_only from the packets of a one-row, one-column text result set; null when they are not that. */
export function readOnlyFrom(packets: readonly Buffer[]): boolean | null {
  // [column count, column definition, (EOF), row, EOF or OK]: the row is the packet before the terminator.
  if (packets.length < 4) return null;
  const row = packets[packets.length - 2];
  if (row.length === 0 || row[0] === 0xfb) return null;
  try {
    const value = new PayloadReader(row).lenencBytes().toString('latin1');
    return value === '1' ? true : value === '0' ? false : null;
  } catch {
    return null;
  }
}

export class HealthMonitor {
  /** One server per host:port; the first library listing it lends the credentials. */
  private targets = new Map<string, ServerConfig>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private round: Promise<void> | null = null;
  private readonly roundListeners: (() => void)[] = [];

  constructor(
    private readonly book: ServerHealthBook,
    private settings: HealthConfig,
    private readonly probe: Probe = probeServer,
  ) {}

  /** Called after each round's results are recorded (read_only and replication change without a status change). */
  onRound(listener: () => void): void {
    this.roundListeners.push(listener);
  }

  setServers(servers: Iterable<ServerConfig>): void {
    const targets = new Map<string, ServerConfig>();
    for (const server of servers) if (!targets.has(serverAddress(server))) targets.set(serverAddress(server), server);
    this.targets = targets;
    this.book.track(targets.keys());
  }

  updateSettings(settings: HealthConfig): void {
    this.settings = settings;
    this.book.setThresholds(settings);
    if (this.running) this.schedule(0);
  }

  /** Starts checking: the first round at once. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops checking; a round in flight finishes but its results are dropped. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.round;
  }

  /** One round over every server now (the results are recorded); for start-up and tests. */
  checkNow(): Promise<void> {
    this.round ??= this.runRound().finally(() => {
      this.round = null;
    });
    return this.round;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      const startedAt = Date.now();
      void this.checkNow().then(() => {
        if (this.running && !this.timer) this.schedule(Math.max(0, this.settings.intervalMs - (Date.now() - startedAt)));
      });
    }, delayMs);
    this.timer.unref();
  }

  private async runRound(): Promise<void> {
    const targets = [...this.targets.entries()];
    const { timeoutMs } = this.settings;
    const results = await Promise.all(
      targets.map(async ([address, server]) => {
        try {
          return [address, await this.probe(server, timeoutMs)] as const;
        } catch (err) {
          return [address, { ok: false, error: (err as Error).message } satisfies HealthObservation] as const;
        }
      }),
    );
    if (this.stopped) return;
    for (const [address, observation] of results) this.book.record(address, observation);
    for (const listener of this.roundListeners) listener();
  }
}
