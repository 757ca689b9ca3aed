/**
 * Which client commands mysqlda passes to its servers. Every client shares the backend account, so a command
 * that acts on the server rather than on the session (shutdown, replication, debugging) would let one client
 * hurt all the others: those, and any code mysqlda does not know, are answered with an error and never sent.
 */
import { Command } from './constants.js';

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(Command).map(([name, code]) => [code, `COM_${name}`]));

/** Commands a session may send (some are then handled by mysqlda itself: QUIT, CHANGE_USER, PROCESS_KILL…). */
const PASSED = new Set<number>([
  Command.QUIT,
  Command.INIT_DB,
  Command.QUERY,
  Command.FIELD_LIST,
  Command.STATISTICS,
  Command.PROCESS_INFO,
  Command.PROCESS_KILL,
  Command.PING,
  Command.CHANGE_USER,
  Command.STMT_PREPARE,
  Command.STMT_EXECUTE,
  Command.STMT_SEND_LONG_DATA,
  Command.STMT_CLOSE,
  Command.STMT_RESET,
  Command.SET_OPTION,
  Command.STMT_FETCH,
  Command.RESET_CONNECTION,
]);

/** Whether a client command may reach a server. */
export function isPassedCommand(code: number): boolean {
  return PASSED.has(code);
}

/** COM_SHUTDOWN for 0x08; a hex code for commands mysqlda does not know. */
export function commandName(code: number): string {
  return NAMES[code] ?? `command 0x${code.toString(16).padStart(2, '0')}`;
}

/** Whether the code is a command of the protocol at all (known, passed or not). */
export function isKnownCommand(code: number): boolean {
  return NAMES[code] !== undefined;
}
