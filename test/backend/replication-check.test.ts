import { describe, expect, it } from 'vitest';
import { flavorOf, readCheckAnswers, replicationCheckSql } from '../../src/backend/replication-check.js';
import { ServerStatus } from '../../src/protocol/constants.js';
import { PayloadWriter } from '../../src/protocol/payload.js';
import { encodeTextResultSet } from '../../src/protocol/result-set.js';
import { readStatementAnswers } from '../../src/protocol/text-result-sets.js';

const MORE = ServerStatus.MORE_RESULTS_EXISTS | ServerStatus.AUTOCOMMIT;
const LAST = ServerStatus.AUTOCOMMIT;

const variables = (readOnly: string, executed: string, binlog: string | null, deprecateEof: boolean) =>
  encodeTextResultSet([{ name: 'read_only' }, { name: 'gtid_executed' }, { name: 'gtid_binlog' }], [[readOnly, executed, binlog]], MORE, deprecateEof);

/** The columns of MariaDB 10.11's SHOW ALL SLAVES STATUS that the check reads, in the server's order. */
const STATUS_COLUMNS = [
  'Connection_name', 'Master_Host', 'Master_Port', 'Slave_IO_Running', 'Slave_SQL_Running', 'Last_IO_Errno', 'Last_IO_Error',
  'Last_SQL_Errno', 'Last_SQL_Error', 'Seconds_Behind_Master', 'Gtid_IO_Pos',
].map((name) => ({ name }));

const err = (code: number, message: string) =>
  new PayloadWriter(32).u8(0xff).u16(code).bytes(Buffer.from(`#42000${message}`)).toBuffer();

describe('the health check reads replication from one multi-statement answer', () => {
  for (const deprecateEof of [false, true]) {
    it(`a MariaDB replica: source, threads, lag and GTID positions (DEPRECATE_EOF ${deprecateEof})`, () => {
      const packets = [
        ...variables('0', '0-1-42', '0-1-40', deprecateEof),
        ...encodeTextResultSet(STATUS_COLUMNS, [['', '127.0.0.1', '3306', 'Yes', 'Yes', '0', '', '0', '', '3', '0-1-42']], LAST, deprecateEof),
      ];
      expect(readCheckAnswers(readStatementAnswers(packets, deprecateEof))).toEqual({
        readOnly: false,
        variablesError: null,
        replication: {
          replicating: true,
          source: '127.0.0.1:3306',
          ioRunning: true,
          sqlRunning: true,
          lagSeconds: 3,
          lastError: null,
          lastErrorThread: null,
          gtidExecuted: '0-1-42',
          gtidBinlog: '0-1-40',
        },
      });
    });
  }

  it('a master: not replicating (empty status), its GTID position kept', () => {
    const packets = [...variables('0', '0-1-7,1-3-9', '0-1-7,1-3-9', false), ...encodeTextResultSet(STATUS_COLUMNS, [], LAST, false)];
    expect(readCheckAnswers(readStatementAnswers(packets, false)).replication).toMatchObject({
      replicating: false,
      source: null,
      lagSeconds: null,
      gtidExecuted: '0-1-7,1-3-9',
    });
  });

  it('a broken replica: SQL thread stopped on an error, lag NULL', () => {
    const row = ['', '10.0.0.1', '3306', 'Yes', 'No', '0', '', '1062', "Duplicate entry 'x'", null, '0-1-50'];
    const packets = [...variables('1', '0-1-44', '', false), ...encodeTextResultSet(STATUS_COLUMNS, [row], LAST, false)];
    const { readOnly, replication } = readCheckAnswers(readStatementAnswers(packets, false));
    expect(readOnly).toBe(true);
    expect(replication).toMatchObject({ sqlRunning: false, ioRunning: true, lagSeconds: null, lastError: "SQL thread: Duplicate entry 'x' (1062)", lastErrorThread: 'sql', gtidBinlog: '' });
  });

  it('an IO thread reconnecting to a dead master counts as not running', () => {
    const row = ['', '10.0.0.1', '3306', 'Connecting', 'Yes', '2003', "Can't connect", '0', '', null, '0-1-50'];
    const packets = [...variables('0', '0-1-50', '', false), ...encodeTextResultSet(STATUS_COLUMNS, [row], LAST, false)];
    expect(readCheckAnswers(readStatementAnswers(packets, false)).replication).toMatchObject({ ioRunning: false, lastError: "IO thread: Can't connect (2003)", lastErrorThread: 'io' });
  });

  it('MySQL 8 names (Source_*, Replica_*) and a GTID set printed over lines', () => {
    const columns = ['Source_Host', 'Source_Port', 'Replica_IO_Running', 'Replica_SQL_Running', 'Seconds_Behind_Source', 'Last_IO_Error', 'Last_SQL_Error'].map((name) => ({ name }));
    const packets = [
      ...encodeTextResultSet([{ name: 'read_only' }, { name: 'gtid_executed' }, { name: 'gtid_binlog' }], [['1', 'a-1:1-5,\nb-2:1-3', null]], MORE, true),
      ...encodeTextResultSet(columns, [['db1', '3306', 'Yes', 'Yes', '0', '', '']], LAST, true),
    ];
    expect(readCheckAnswers(readStatementAnswers(packets, true)).replication).toEqual({
      replicating: true,
      source: 'db1:3306',
      ioRunning: true,
      sqlRunning: true,
      lagSeconds: 0,
      lastError: null,
      lastErrorThread: null,
      gtidExecuted: 'a-1:1-5,b-2:1-3',
      gtidBinlog: null,
    });
  });

  it('no privilege for the replica status: read_only is read, replication is null', () => {
    const packets = [...variables('0', '0-1-1', '0-1-1', false), err(1227, 'Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s)')];
    expect(readCheckAnswers(readStatementAnswers(packets, false))).toEqual({ readOnly: false, replication: null, variablesError: null });
  });

  it('a server without the GTID variables: the first statement fails, the caller falls back', () => {
    expect(readCheckAnswers(readStatementAnswers([err(1193, "Unknown system variable 'gtid_current_pos'")], false))).toEqual({
      readOnly: null,
      replication: null,
      variablesError: "Unknown system variable 'gtid_current_pos' (1193)",
    });
  });

  it('asks each flavor in its own words', () => {
    expect(flavorOf('5.5.5-10.11.6-MariaDB-0+deb12u1')).toBe('mariadb');
    expect(replicationCheckSql('5.5.5-10.11.6-MariaDB-0+deb12u1')).toContain('SHOW ALL SLAVES STATUS');
    expect(replicationCheckSql('8.0.36')).toContain('SHOW REPLICA STATUS');
    expect(replicationCheckSql('8.0.21')).toContain('SHOW SLAVE STATUS');
    expect(replicationCheckSql('5.7.44-log')).toContain('@@gtid_executed');
  });
});
