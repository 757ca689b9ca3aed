/** Capability flags of the client/server protocol: the one home of these numbers. */
export const Capability = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 1 << 1,
  LONG_FLAG: 1 << 2,
  CONNECT_WITH_DB: 1 << 3,
  NO_SCHEMA: 1 << 4,
  COMPRESS: 1 << 5,
  ODBC: 1 << 6,
  LOCAL_FILES: 1 << 7,
  IGNORE_SPACE: 1 << 8,
  PROTOCOL_41: 1 << 9,
  INTERACTIVE: 1 << 10,
  SSL: 1 << 11,
  IGNORE_SIGPIPE: 1 << 12,
  TRANSACTIONS: 1 << 13,
  RESERVED: 1 << 14,
  SECURE_CONNECTION: 1 << 15,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
} as const;

/**
 * What mysqlda can honour towards a client. SSL and COMPRESS are left out until implemented (mysqlda
 * advertised them and then broke). LONG_PASSWORD doubles as MariaDB's "CLIENT_MYSQL" bit: keeping it set
 * tells MariaDB clients not to expect MariaDB-only extended capabilities, which mysqlda does not relay.
 */
export const PROXY_CAPABILITIES =
  Capability.LONG_PASSWORD |
  Capability.FOUND_ROWS |
  Capability.LONG_FLAG |
  Capability.CONNECT_WITH_DB |
  Capability.NO_SCHEMA |
  Capability.ODBC |
  Capability.LOCAL_FILES |
  Capability.IGNORE_SPACE |
  Capability.PROTOCOL_41 |
  Capability.INTERACTIVE |
  Capability.IGNORE_SIGPIPE |
  Capability.TRANSACTIONS |
  Capability.SECURE_CONNECTION |
  Capability.MULTI_STATEMENTS |
  Capability.MULTI_RESULTS |
  Capability.PS_MULTI_RESULTS |
  Capability.PLUGIN_AUTH |
  Capability.CONNECT_ATTRS |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Capability.SESSION_TRACK |
  Capability.DEPRECATE_EOF;

/**
 * Client capabilities that change the bytes a server sends or how it reads statements. A backend connection
 * must be opened with exactly the client's choice of these, so the spliced stream means the same to both ends.
 */
export const STREAM_SHAPING_CAPABILITIES =
  Capability.FOUND_ROWS |
  Capability.NO_SCHEMA |
  Capability.LOCAL_FILES |
  Capability.IGNORE_SPACE |
  Capability.INTERACTIVE |
  Capability.MULTI_STATEMENTS |
  Capability.MULTI_RESULTS |
  Capability.PS_MULTI_RESULTS |
  Capability.SESSION_TRACK |
  Capability.DEPRECATE_EOF;

/** Capabilities mysqlda always asks of a backend, whatever the client chose. */
export const BACKEND_BASE_CAPABILITIES =
  Capability.LONG_PASSWORD |
  Capability.LONG_FLAG |
  Capability.PROTOCOL_41 |
  Capability.TRANSACTIONS |
  Capability.SECURE_CONNECTION |
  Capability.PLUGIN_AUTH |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Capability.CONNECT_ATTRS;

export const ServerStatus = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  NO_BACKSLASH_ESCAPES: 0x0200,
  PS_OUT_PARAMS: 0x1000,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

export const Command = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
} as const;

/** First payload byte of the generic response packets. */
export const PacketHeader = {
  OK: 0x00,
  AUTH_MORE_DATA: 0x01,
  LOCAL_INFILE: 0xfb,
  EOF: 0xfe,
  AUTH_SWITCH: 0xfe,
  ERR: 0xff,
} as const;

/** Largest payload of one physical packet; a payload this long is continued in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/** utf8mb4_general_ci: what the greeting offers when the backend's own default is unknown. */
export const DEFAULT_CHARSET = 45;
