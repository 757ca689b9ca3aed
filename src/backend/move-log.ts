/** One log line per change of a library's current server, saying why and what it means for the old server. */
import type { Logger } from '../log/logger.js';
import type { LibraryMove } from './library-state.js';
import type { ServerHealthBook } from './server-health.js';

export function logMove(logger: Logger, health: ServerHealthBook, move: LibraryMove, autoFailback: boolean): void {
  const from = health.get(move.from);
  const target = health.get(move.to);
  const fields = { library: move.library, from: move.from, to: move.to, reason: move.reason, epoch: move.epoch };
  const readOnly = target.readOnly ? ` (${move.to} has read_only=1: writes fail until it is made writable)` : '';
  switch (move.reason) {
    case 'down':
      logger.warn(fields, `library ${move.library} failed over from ${move.from} to ${move.to}: ${move.from} is down (${from.lastError ?? 'no answer'})${readOnly}; it stays on ${move.to} until an operator fails it back${autoFailback ? '' : `, and ${move.from} is no failover candidate until then (it misses the writes made on ${move.to})`}`);
      return;
    case 'failback':
      logger.warn(fields, `library ${move.library} failed back from ${move.from} to ${move.to} (failover.auto_failback)${readOnly}`);
      return;
    case 'operator':
      logger.notice(fields, `library ${move.library} moved from ${move.from} to ${move.to} by an operator${readOnly}`);
      return;
    case 'reload':
      logger.notice(fields, `library ${move.library} moved from ${move.from} to ${move.to} by a config reload${readOnly}`);
      return;
    case 'read_only':
      logger.warn(fields, `library ${move.library} moved from ${move.from} to ${move.to}: ${move.to} is its one writable server (failover.mode follow_read_only)`);
      return;
    case 'adopted':
      logger.notice(fields, `library ${move.library} follows the move of another proxy from ${move.from} to ${move.to} (epoch ${move.epoch})${readOnly}`);
  }
}
