/**
 * The failover state shared by every proxy: one row per library in mysqlda_library_state. A move is one UPDATE
 * guarded by the epoch the proxy last read, so of several proxies that saw the same master die exactly one moves
 * the library (affectedRows 1), and the others read the row to adopt what it decided. A library without a row is
 * INSERTed; a duplicate key means another proxy wrote it first.
 */
import type mysql from 'mysql2/promise';
import type { CasResult, FailoverStateStore, StoredLibraryState } from '../../backend/failover-state-store.js';
import { errnoOf, type DirectoryClient, type SqlConnection } from './directory-client.js';
import { TABLES } from './schema.js';

const ER_DUP_ENTRY = 1062;

// `since` crosses as seconds since the epoch (UNIX_TIMESTAMP / FROM_UNIXTIME): no time zone of the client or of
// the server's session gets in between.
const COLUMNS = 'library, current_server, servers, left_by_failover, epoch, UNIX_TIMESTAMP(since) AS since_s';

interface StateRow extends mysql.RowDataPacket {
  library: string;
  current_server: string;
  servers: string;
  left_by_failover: string;
  epoch: number | string;
  since_s: number | string;
}

export class MysqlStateStore implements FailoverStateStore {
  /**
   * @param client the directory's connection (its server failover and reachability are the store's)
   * @param writer who changes rows, for `changed_by` (host:port of the proxy, pid)
   * @param timeoutMs the longest one statement may take: a directory server that stops answering (frozen, or its
   *   network gone without a reset) counts as unreachable then, instead of holding every move and poll
   */
  constructor(
    private readonly client: DirectoryClient,
    private readonly writer: string,
    private readonly timeoutMs: number,
    private readonly ownsClient = true,
  ) {}

  async load(): Promise<Map<string, StoredLibraryState>> {
    const rows = await this.client.run(async (connection) => {
      const [result] = await connection.query<StateRow[]>({ sql: `SELECT ${COLUMNS} FROM ${TABLES.libraryState}`, timeout: this.timeoutMs });
      return result;
    });
    const state = new Map<string, StoredLibraryState>();
    for (const row of rows) state.set(row.library, stateOf(row));
    return state;
  }

  compareAndSet(library: string, expectedEpoch: number, next: StoredLibraryState): Promise<CasResult> {
    return this.client.run(async (connection) => {
      if (expectedEpoch === 0) return this.insert(connection, library, next);
      const [result] = await connection.query<mysql.ResultSetHeader>({
        sql: `UPDATE ${TABLES.libraryState}
                 SET current_server = ?, servers = ?, left_by_failover = ?, since = FROM_UNIXTIME(?), changed_by = ?, epoch = epoch + 1
               WHERE library = ? AND epoch = ?`,
        values: [next.current, JSON.stringify(next.servers), marksJson(next), sinceOf(next), this.writer, library, expectedEpoch],
        timeout: this.timeoutMs,
      });
      if (result.affectedRows === 1) return { won: true, state: { ...next, epoch: expectedEpoch + 1 } };
      return { won: false, state: await this.readRow(connection, library) };
    });
  }

  available(): boolean {
    return this.client.state().available;
  }

  describe(): { kind: 'mysql'; location: string; lastError: string | null } {
    const state = this.client.state();
    return { kind: 'mysql', location: state.location, lastError: state.lastError };
  }

  flush(): Promise<void> {
    return Promise.resolve(); // every change is committed before compareAndSet resolves
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private async insert(connection: SqlConnection, library: string, next: StoredLibraryState): Promise<CasResult> {
    try {
      await connection.query({
        sql: `INSERT INTO ${TABLES.libraryState} (library, current_server, servers, left_by_failover, epoch, since, changed_by)
              VALUES (?, ?, ?, ?, 1, FROM_UNIXTIME(?), ?)`,
        values: [library, next.current, JSON.stringify(next.servers), marksJson(next), sinceOf(next), this.writer],
        timeout: this.timeoutMs,
      });
      return { won: true, state: { ...next, epoch: 1 } };
    } catch (err) {
      if (errnoOf(err) !== ER_DUP_ENTRY) throw err;
      return { won: false, state: await this.readRow(connection, library) };
    }
  }

  private async readRow(connection: SqlConnection, library: string): Promise<StoredLibraryState | null> {
    const [rows] = await connection.query<StateRow[]>({ sql: `SELECT ${COLUMNS} FROM ${TABLES.libraryState} WHERE library = ?`, values: [library], timeout: this.timeoutMs });
    return rows[0] ? stateOf(rows[0]) : null;
  }
}

/**
 * A row as stored state. The JSON columns are read leniently: a damaged server list reads as the current server
 * alone, damaged marks as none, so the row still names the current server and its epoch, and the next move
 * rewrites it whole.
 */
export function stateOf(row: Pick<StateRow, 'current_server' | 'servers' | 'left_by_failover' | 'epoch' | 'since_s'>): StoredLibraryState {
  const servers = parseJson(row.servers);
  const marks = parseJson(row.left_by_failover);
  const leftByFailover = new Map<string, string>();
  if (typeof marks === 'object' && marks !== null && !Array.isArray(marks)) {
    for (const [server, when] of Object.entries(marks)) if (typeof when === 'string') leftByFailover.set(server, when);
  }
  const since = new Date(Number(row.since_s) * 1000);
  return {
    current: row.current_server,
    servers: Array.isArray(servers) && servers.every((server) => typeof server === 'string') ? servers : [row.current_server],
    leftByFailover,
    epoch: Number(row.epoch),
    since: Number.isNaN(since.getTime()) ? new Date().toISOString() : since.toISOString(),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function marksJson(state: StoredLibraryState): string {
  return JSON.stringify(Object.fromEntries(state.leftByFailover));
}

/** Seconds since the epoch, to the millisecond, for FROM_UNIXTIME into TIMESTAMP(3). */
function sinceOf(state: StoredLibraryState): string {
  const ms = Date.parse(state.since);
  return ((Number.isNaN(ms) ? Date.now() : ms) / 1000).toFixed(3);
}
