import path from 'node:path';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { COMPAT_DIR, describeCompatClients, requireCommand, runProgram, type KnownProxyGap } from '../compat/harness.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'mariadb_cli',
      label: 'mariadb command-line client',
      how: 'batch mode (-e and stdin scripts), --init-command, DELIMITER multi-statement, SQL PREPARE/EXECUTE, --local-infile, --raw blob, status, --compress, an interactive terminal session (script) with rehash and Ctrl-C, mariadb-admin ping',
      checks: [
        ...ROUTING_CHECKS,
        'connect-chatter',
        ...FLOW_CHECKS,
        'sql-prepared',
        'commit',
        'rollback',
        'large-result',
        'load-data-local',
        'blob-4mb',
        'error-recovery',
        'procedure-out',
        'multi-statements',
        'correl-alias',
        'statistics',
        'compression',
        'admin-ping',
        'interactive-tty',
        'cancel',
        'quit',
      ],
      run(target) {
        requireCommand('mariadb', 'mariadb-client');
        requireCommand('mariadb-admin', 'mariadb-client');
        requireCommand('script', 'bsdutils');
        return runProgram('bash', [path.join(COMPAT_DIR, 'mariadb-cli', 'compat.sh')], { env: target.env('mariadb_cli') });
      },
    },
  ],
  knownProxyGaps,
);
