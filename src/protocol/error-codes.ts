/**
 * Every error mysqlda itself sends to a client: code, SQLSTATE and message in one place.
 * Codes below 2000 are MySQL's own where MySQL has a fitting one; mysqlda's extension errors use
 * 7100-7199, a range no MySQL or MariaDB server error uses, so scripts can match on them.
 */
export interface ProxyError {
  code: number;
  sqlState: string;
  message: string;
}

const error = (code: number, sqlState: string, message: string): ProxyError => ({ code, sqlState, message });

/** Codes of errors a MySQL server sends that mysqlda acts on (it relays the others as they are). */
export const ServerErrorCode = {
  /** ER_CON_COUNT_ERROR: max_connections reached (sent instead of the greeting). */
  tooManyConnections: 1040,
  /** ER_SERVER_SHUTDOWN: the server is going away. */
  serverShutdown: 1053,
} as const;

export const ProxyErrors = {
  accessDenied: (user: string, host: string, usingPassword: boolean) =>
    error(1045, '28000', `Access denied for user '${user}'@'${host}' (using password: ${usingPassword ? 'YES' : 'NO'})`),
  unknownDatabase: (db: string) => error(1049, '42000', `Unknown database '${db}'`),
  badHandshake: () => error(1043, '08S01', 'Bad handshake'),
  packetsOutOfOrder: () => error(1156, '08S01', 'Got packets out of order'),
  unknownCommand: (command: number) => error(1047, '08S01', `Unknown command 0x${command.toString(16)}`),
  insecureTransport: () =>
    error(3159, 'HY000', 'Connections using insecure transport are prohibited while --require_secure_transport=ON.'),
  tooManyConnections: () => error(1040, 'HY000', 'Too many connections'),
  hostNotAllowed: (host: string) => error(1130, 'HY000', `Host '${host}' is not allowed to connect to this mysqlda server`),
  userLimitReached: (user: string, resource: string, limit: number) =>
    error(1226, '42000', `User '${user}' has exceeded the '${resource}' resource (current value: ${limit})`),
  /** Commands a client of a sharding proxy has no business sending to the shared backend account (COM_SHUTDOWN…). */
  commandRefused: (name: string) => error(1227, '42000', `Access denied; mysqlda does not pass ${name} to its servers`),
  ruleBlocked: (message: string) => error(1148, '42000', message),
  lobbyPacketTooLarge: (limit: number) =>
    error(1153, '08S01', `Got a packet bigger than server.max_lobby_packet_bytes (${limit}) before a library was chosen`),
  notSupported: (what: string) => error(1235, '42000', `This version of mysqlda doesn't yet support '${what}'`),

  noLibrarySelected: () =>
    error(7101, 'HY000', "No library selected: send 'select library <key>' (or 'select library_by_correl_object <class> <object>') before statements that touch data"),
  invalidExtensionSql: (detail: string) => error(7102, '42000', `Invalid mysqlda statement: ${detail}`),
  unknownCorrelObject: (correlClass: string, object: string) =>
    error(7103, 'HY000', `Unknown correl object '${object}' of class '${correlClass}'`),
  keyHasNoLibrary: (key: string) =>
    error(7104, 'HY000', `Key '${key}' has no library yet: send 'select library ${key}' first`),
  correlConflict: (correlClass: string, object: string, boundKey: string) =>
    error(7105, 'HY000', `Correl object '${object}' of class '${correlClass}' is already bound to key '${boundKey}'`),
  libraryUnavailable: (library: string, detail: string) =>
    error(7106, 'HY000', `No server of library '${library}' is reachable: ${detail}`),
  /** The library's server is alive but refused the connection (too many connections, a user limit, access denied). */
  libraryRefused: (library: string, server: string, refusal: { code: number; message: string }) =>
    error(7106, 'HY000', `Server ${server} of library '${library}' refused a connection: ${refusal.message} (${refusal.code})`),
  persistFailed: (detail: string) => error(7107, 'HY000', `The assignment could not be saved: ${detail}`),
  switchInTransaction: () =>
    error(7108, '25000', 'Cannot switch library inside a transaction: COMMIT or ROLLBACK first'),
  /** A backend connection closed or timed out while mysqlda itself waited for its answer. */
  connectionLost: (what: string) => error(2013, 'HY000', what),
  backendLost: (library: string, server: string) =>
    error(2013, 'HY000', `Lost connection to server ${server} of library '${library}'`),
  /** The server died under an idle session whose state on it cannot be carried to another server (failover masking). */
  backendLostHolding: (library: string, server: string, what: string) =>
    error(2013, 'HY000', `Lost connection to server ${server} of library '${library}' while the session held ${what}, which cannot be carried to another server`),
  unknownStatement: (id: number) => error(1243, 'HY000', `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute`),
  unknownThread: (id: number) => error(1094, 'HY000', `Unknown thread id: ${id}`),
  notThreadOwner: (id: number) => error(1095, 'HY000', `You are not owner of thread ${id}`),
  noCursor: () => error(1421, 'HY000', 'The statement (0) has no open cursor.'),
  serverLeft: (library: string, reason: string) =>
    error(7110, 'HY000', `The session had to leave its server of library '${library}' (${reason}) while a transaction was open; the transaction is rolled back`),
  sessionHistoryTooLong: (limit: number) =>
    error(7109, 'HY000', `More than ${limit} session settings to carry over; reconnect or use fewer SET statements`),
  /** ER_SERVER_SHUTDOWN, as MySQL sends it to the connections it closes while stopping. */
  serverShutdown: () => error(1053, '08S01', 'Server shutdown in progress'),
};
