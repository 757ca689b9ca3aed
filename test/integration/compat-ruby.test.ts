import path from 'node:path';
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
        'connect',
        'lobby-refuses-data',
        'select-library',
        'lobby-settings',
        'connect-chatter',
        'ddl',
        'text-utf8mb4',
        'null-values',
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
