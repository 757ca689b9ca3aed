import path from 'node:path';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { COMPAT_DIR, describeCompatClients, requireCommand, runProgram, type KnownProxyGap } from '../compat/harness.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'sysbench',
      label: 'sysbench',
      // sysbench's SQL API reads only the first result of a statement (a second one leaves the connection out of
      // sync, directly on MariaDB too), so CALL and multi-statements are not part of its checks.
      how: 'Lua SQL API: con:query, con:prepare with bound INT/VARCHAR/NULL parameters (server-side); a 2-thread run of 1000 transactions, each thread routed in thread_init',
      checks: [
        ...ROUTING_CHECKS,
        ...FLOW_CHECKS,
        'prepared',
        'commit',
        'rollback',
        'large-result',
        'blob-4mb',
        'error-recovery',
        'correl-alias',
        'quit',
        'benchmark',
      ],
      run(target) {
        requireCommand('sysbench', 'sysbench');
        return runProgram('bash', [path.join(COMPAT_DIR, 'sysbench', 'run.sh')], { env: target.env('sysbench') });
      },
    },
  ],
  knownProxyGaps,
);
