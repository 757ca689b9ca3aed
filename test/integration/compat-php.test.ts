import path from 'node:path';
import { FLOW_CHECKS, ROUTING_CHECKS } from '../compat/scenario.js';
import { COMPAT_DIR, describeCompatClients, requireCommand, requireWorking, runProgram, type CompatClient, type KnownProxyGap } from '../compat/harness.js';
import type { CheckId } from '../compat/scenario.js';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

const rest: CheckId[] = ['commit', 'rollback', 'large-result', 'blob-4mb', 'error-recovery', 'procedure-out', 'multi-statements', 'correl-alias'];

function requirePhp(extension: string): void {
  requireCommand('php', 'php-cli');
  requireWorking(`PHP's ${extension} extension`, `php -r 'exit(extension_loaded("${extension}") ? 0 : 1);'`, 'php-mysql');
}

const phpClient = (id: string, mode: string, label: string, how: string, checks: CheckId[], extension: string): CompatClient => ({
  id,
  label,
  how,
  checks,
  run(target) {
    requirePhp(extension);
    return runProgram('php', [path.join(COMPAT_DIR, 'php', 'compat.php'), mode], { env: target.env(id) });
  },
});

describeCompatClients(
  [
    phpClient(
      'php_mysqli',
      'mysqli',
      'PHP mysqli',
      'set_charset, real_escape_string, prepare/bind_param/send_long_data (server-side), a read-only cursor (COM_STMT_FETCH), multi_query, ping, change_user, stat',
      [
        ...ROUTING_CHECKS,
        'connect-chatter',
        ...FLOW_CHECKS,
        'prepared',
        'commit',
        'rollback',
        'large-result',
        'cursor-fetch',
        'blob-4mb',
        'error-recovery',
        'procedure-out',
        'multi-statements',
        'correl-alias',
        'ping',
        'change-user',
        'statistics',
        'quit',
      ],
      'mysqli',
    ),
    phpClient(
      'php_pdo_native',
      'pdo-native',
      'PHP PDO (native prepares)',
      'PDO_MySQL with ATTR_EMULATE_PREPARES=false: every query() a server-side prepare (quote() for the text values), prepare/execute (PARAM_LOB blob), CALL with nextRowset, ATTR_SERVER_INFO; emulation only for the multi-statement query',
      [...ROUTING_CHECKS, ...FLOW_CHECKS, 'prepared', ...rest, 'statistics', 'quit'],
      'pdo_mysql',
    ),
    phpClient(
      'php_pdo_emulated',
      'pdo-emulated',
      'PHP PDO (emulated prepares)',
      'PDO_MySQL with ATTR_EMULATE_PREPARES=true: quote(), client-side prepare/execute, nextRowset, ATTR_SERVER_INFO',
      [...ROUTING_CHECKS, ...FLOW_CHECKS, 'emulated-prepared', ...rest, 'statistics', 'quit'],
      'pdo_mysql',
    ),
  ],
  knownProxyGaps,
);
