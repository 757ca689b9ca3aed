import { describeCompatClients, runInProcess, type KnownProxyGap } from '../compat/harness.js';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { runMysql2Scenario } from '../compat/mysql2/mysql2-client.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'mysql2',
      label: 'mysql2 (Node.js)',
      how: 'query (client-side escaping), execute (server-side prepared, 17 MiB blob), LOAD DATA LOCAL with infileStreamFactory, reset, changeUser, createPool with resetOnRelease',
      checks: [
        ...ROUTING_CHECKS,
        ...FLOW_CHECKS,
        'prepared',
        'commit',
        'rollback',
        'large-result',
        'load-data-local',
        'blob-4mb',
        'large-packet',
        'error-recovery',
        'errors-in-flight',
        'procedure-out',
        'multi-statements',
        'switch-library',
        'switch-prepared',
        'correl-alias',
        'lobby-transaction',
        'ping',
        'reset',
        'change-user',
        'pool',
        'quit',
      ],
      run: (target) => runInProcess('mysql2', (emit) => runMysql2Scenario(target.env('mysql2'), emit)),
    },
  ],
  knownProxyGaps,
);
