import type { MysqldaConfig } from './config/types.js';
import type { Logger } from './log/logger.js';

/** A running proxy: what the CLI and the sandbox hold on to. */
export interface RunningProxy {
  readonly address: { host: string; port: number };
  /** Stop accepting, close every client session and backend connection, flush the save files. */
  close(): Promise<void>;
}

/** Load the directory, open the listener and serve until close(). Rejects with a clear Error when it cannot start. */
export async function startProxy(config: MysqldaConfig, logger: Logger): Promise<RunningProxy> {
  void config; void logger;
  throw new Error('not implemented yet');
}
