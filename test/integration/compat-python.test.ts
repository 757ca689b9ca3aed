import path from 'node:path';
import { COMPAT_DIR, describeCompatClients, requireWorking, runProgram, type CompatClient, type KnownProxyGap } from '../compat/harness.js';
import type { CheckId } from '../compat/scenario.js';

/** Debian's python3 packages install for Debian's interpreter, not for another python3 on the PATH. */
const PYTHON = '/usr/bin/python3';

/** Checks that fail today because of mysqlda; emptied as the proxy is fixed (see KnownProxyGap). */
const knownProxyGaps: KnownProxyGap[] = [];

const start: CheckId[] = ['connect', 'lobby-refuses-data', 'select-library', 'lobby-settings', 'connect-chatter', 'ddl', 'text-utf8mb4', 'null-values'];
const middle: CheckId[] = ['commit', 'rollback', 'large-result', 'blob-4mb', 'error-recovery', 'procedure-out', 'multi-statements'];

const pythonClient = (id: string, module: string, aptPackage: string, label: string, how: string, checks: CheckId[]): CompatClient => ({
  id,
  label,
  how,
  checks,
  run(target) {
    requireWorking(`${PYTHON} with ${module}`, `${PYTHON} -c 'import ${module}'`, aptPackage);
    return runProgram(PYTHON, [path.join(COMPAT_DIR, 'python', 'compat.py'), module], { env: target.env(id) });
  },
});

describeCompatClients(
  [
    pythonClient(
      'pymysql',
      'pymysql',
      'python3-pymysql',
      'Python PyMySQL',
      'DB-API with client-side binding (a 17 MiB escaped literal too), autocommit off (SET autocommit=0 at connect), local_infile, callproc, nextset, ping',
      [
        ...start,
        'commit',
        'rollback',
        'large-result',
        'load-data-local',
        'blob-4mb',
        'large-packet',
        'error-recovery',
        'procedure-out',
        'multi-statements',
        'switch-library',
        'correl-alias',
        'ping',
        'quit',
      ],
    ),
    pythonClient(
      'mysqlclient',
      'MySQLdb',
      'python3-mysqldb',
      'Python mysqlclient (MySQLdb)',
      'DB-API with client-side binding, autocommit off (SET autocommit=0 at connect), callproc, nextset, set_server_option, ping, change_user, stat',
      [...start, ...middle, 'set-option', 'switch-library', 'correl-alias', 'ping', 'change-user', 'statistics', 'quit'],
    ),
  ],
  knownProxyGaps,
);
