import path from 'node:path';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { COMPAT_DIR, describeCompatClients, requireWorking, runProgram, type KnownProxyGap } from '../compat/harness.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'dbd_mariadb',
      label: 'Perl DBD::MariaDB',
      how: 'DBI with client-side placeholders, mariadb_server_prepare for server-side prepares (SQL_BLOB blob), mariadb_multi_statements, more_results, ping, mariadb_stat',
      checks: [
        ...ROUTING_CHECKS,
        'connect-chatter',
        ...FLOW_CHECKS,
        'prepared',
        'commit',
        'rollback',
        'large-result',
        'blob-4mb',
        'error-recovery',
        'procedure-out',
        'multi-statements',
        'correl-alias',
        'ping',
        'statistics',
        'quit',
      ],
      run(target) {
        requireWorking('Perl DBD::MariaDB', "perl -MDBD::MariaDB -e 1", 'libdbd-mariadb-perl');
        return runProgram('perl', [path.join(COMPAT_DIR, 'perl', 'compat.pl')], { env: target.env('dbd_mariadb') });
      },
    },
  ],
  knownProxyGaps,
);
