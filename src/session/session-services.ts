import type { BackendPools } from '../backend/backend-pools.js';
import type { MysqldaConfig, ReplicaReadsConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { RepeatedFailures } from '../log/repeated-failures.js';
import type { ProxyEvents } from '../observability/proxy-events.js';
import type { ProxyError } from '../protocol/error-codes.js';
import type { KeyDirectory } from '../store/key-directory.js';
import type { FrontDoor } from '../guard/front-door.js';
import type { StatementTiming } from './statement-clock.js';

/** What the greeting copies from the backends, so clients adapt to the real server (version, capabilities). */
export interface GreetingTemplate {
  serverVersion: string;
  capabilities: number;
  charset: number;
  statusFlags: number;
}

/** A client account, with its password as mysql_native_password's double SHA1. */
export interface ClientAccount {
  user: string;
  /** SHA1(SHA1(password)), or null for an empty password. */
  passwordHash: Buffer | null;
  database: string;
  /** Fixed routing at login, for tools that cannot send extension SQL. */
  library: string | null;
  key: string | null;
  admin: boolean;
  /** A statement running longer is killed on its server (KILL QUERY); absent: no limit. */
  queryTimeoutMs?: number;
  /** users[].reads and max_replica_lag_s (read-routing.ts); absent: reads on the current server unless `for read`. */
  replicaReads?: ReplicaReadsConfig;
}

/** What KILL needs of another session. */
export interface KillableSession {
  readonly id: number;
  readonly user: string | null;
  /** Stops the statement the session is running (KILL QUERY on its backend), if any. */
  killQuery(): Promise<void>;
  close(reason: string, level?: 'info' | 'warn'): void;
}

/** KILL of a session of another worker of the group (server.workers > 1), carried out by the worker that has it. */
export interface GroupKill {
  id: number;
  query: boolean;
  /** The killer's account, and whether it is an admin: the owning worker checks the right to kill. */
  user: string | null;
  admin: boolean;
  /** The killer's connection id, for the log. */
  by: number;
}

/** `unknown`: no session of the group has that id. */
export type GroupKillOutcome = 'killed' | 'unknown' | 'not_owner';

/** The answer to an admin statement run on the SQL port. */
export type AdminReply =
  | { kind: 'rows'; columns: string[]; rows: (string | number | null)[][] }
  | { kind: 'ok'; affectedRows?: number }
  | { kind: 'error'; error: ProxyError };

/** Everything a client session needs from the running proxy. The session owns none of it. */
export interface SessionServices {
  readonly logger: Logger;
  /** Where failures a client can repeat at will are logged (refused logins): once per address, kind and interval. */
  readonly repeatedFailures?: RepeatedFailures;
  readonly directory: KeyDirectory;
  readonly pools: BackendPools;
  /** The live configuration (it may change on reload between two calls). */
  config(): MysqldaConfig;
  greeting(): GreetingTemplate;
  findAccount(user: string): ClientAccount | undefined;
  nextConnectionId(): number;
  readonly events: ProxyEvents;
  /** Limits, allow lists, throttling and SQL rules of the client side. */
  readonly frontDoor: FrontDoor;
  /** The open session with this mysqlda connection id (for KILL). */
  findSession?(id: number): KillableSession | undefined;
  /**
   * In a worker of a group: whether this worker issued the connection id (ids are slot + 1 + k·size), and KILL of
   * one another worker issued, asked of that worker through the primary. Absent without a group.
   */
  ownsConnectionId?(id: number): boolean;
  killInGroup?(request: GroupKill): Promise<GroupKillOutcome>;
  /**
   * Admin statements (e.g. `show libraries`) for accounts with `admin`: the reply, or null when the text is
   * not an admin statement. Absent when the proxy has no admin module.
   */
  admin?(sql: string, user: string): Promise<AdminReply | null>;
  /** Where command durations go, and the slow-query threshold. Absent: durations are not reported. */
  readonly statementTiming?: StatementTiming;
}
