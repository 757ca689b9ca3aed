import { execFile } from 'node:child_process';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { COMPAT_DIR, describeCompatClients, requireCommand, requireWorking, runProgram, type KnownProxyGap } from '../compat/harness.js';

const run = promisify(execFile);
/** Debian's libmariadb-java installs the driver here. */
const DRIVER_JAR = '/usr/share/java/mariadb-java-client.jar';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'connector_j',
      label: 'MariaDB Connector/J (JDBC)',
      how: 'useServerPrepStmts=true, useResetConnection=true, allowMultiQueries, allowLocalInfile; setTransactionIsolation and setAutoCommit(false) before routing, useCompression, Statement, PreparedStatement (SEND_LONG_DATA 4 MiB and setBytes 17 MiB blobs), CallableStatement, executeBatch, Statement.cancel, LOAD DATA LOCAL, MariaDbPoolDataSource',
      checks: [
        ...ROUTING_CHECKS,
        'connect-chatter',
        ...FLOW_CHECKS,
        'prepared',
        'commit',
        'rollback',
        'large-result',
        'load-data-local',
        'blob-4mb',
        'large-packet',
        'error-recovery',
        'procedure-out',
        'callable-out',
        'multi-statements',
        'batch',
        'cancel',
        'switch-library',
        'switch-prepared',
        'correl-alias',
        'lobby-transaction',
        'compression',
        'ping',
        'reset',
        'pool',
        'quit',
      ],
      async run(target) {
        requireCommand('javac', 'default-jdk-headless');
        requireWorking('MariaDB Connector/J', `test -r ${DRIVER_JAR}`, 'libmariadb-java');
        const classes = path.join(target.dir, 'java');
        await mkdir(classes, { recursive: true });
        await run('javac', ['-encoding', 'UTF-8', '-cp', DRIVER_JAR, '-d', classes, path.join(COMPAT_DIR, 'java', 'CompatCheck.java')]);
        // Quick JVM start: one program, short-lived.
        const jvm = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto', '-Xmx512m'];
        return runProgram('java', [...jvm, '-cp', `${classes}:${DRIVER_JAR}`, 'CompatCheck'], { env: target.env('connector_j') });
      },
    },
  ],
  knownProxyGaps,
);
