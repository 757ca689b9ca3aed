import path from 'node:path';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { COMPAT_DIR, describeCompatClients, requireCommand, requireWorking, runProgram, type KnownProxyGap } from '../compat/harness.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

describeCompatClients(
  [
    {
      id: 'ruby_mysql2',
      label: 'Ruby mysql2',
      how: "Client#query with Client#escape, Client#prepare (server-side, blob parameter), MULTI_STATEMENTS with next_result, ping; a Rails adapter's connect-time SET",
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
        'quit',
      ],
      run(target) {
        requireCommand('ruby', 'ruby');
        requireWorking('the mysql2 gem', "ruby -e 'require \"mysql2\"'", 'ruby-mysql2');
        return runProgram('ruby', [path.join(COMPAT_DIR, 'ruby', 'compat.rb')], { env: target.env('ruby_mysql2') });
      },
    },
  ],
  knownProxyGaps,
);
