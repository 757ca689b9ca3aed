import type { BackendPools } from '../backend/backend-pools.js';
import type { MysqldaConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { DurableDirectory } from '../store/durable-directory.js';

/** What the greeting copies from the backends, so clients adapt to the real server (version, capabilities). */
export interface GreetingTemplate {
  serverVersion: string;
  capabilities: number;
  charset: number;
  statusFlags: number;
}

/** A client account: mysqlda's `auth` block, stored as mysql_native_password's double SHA1. */
export interface ClientAccount {
  user: string;
  /** SHA1(SHA1(password)), or null for an empty password. */
  passwordHash: Buffer | null;
  database: string;
}

/** Everything a client session needs from the running proxy. The session owns none of it. */
export interface SessionServices {
  readonly logger: Logger;
  readonly directory: DurableDirectory;
  readonly pools: BackendPools;
  /** The live configuration (it may change on reload between two calls). */
  config(): MysqldaConfig;
  greeting(): GreetingTemplate;
  findAccount(user: string): ClientAccount | undefined;
  nextConnectionId(): number;
}
