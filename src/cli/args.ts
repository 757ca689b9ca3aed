/**
 * The mysqlda command line, parsed into a typed command. Pure: no file access, no output, no exit.
 * Flags are mysqlda's (`-f`, `-s`, `-a`, `--no-daemon`, `--loglevel-*`, `-v`) plus `--force` and `--help`; the
 * actions are mysqlda's (init, start) and its mysqlda.sh's (stop, status, reload, restart, kill).
 * Unlike mysqlda, an unknown flag is an error (mysqlda ignored it, so a typo silently changed nothing).
 */
import yargs, { type Argv } from 'yargs';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';

export const ACTIONS = ['init', 'start', 'stop', 'status', 'reload', 'restart', 'kill', 'directory-import', 'directory-export'] as const;
export type Action = (typeof ACTIONS)[number];
/** The actions that talk to a running mysqlda through its pid file and control socket. */
export type ControlAction = Extract<Action, 'stop' | 'status' | 'reload' | 'kill'>;

/** Exit statuses. 3 is LSB's "not running"; 7 is mysqlda's status for a usage error. */
export const EXIT = { ok: 0, failure: 1, notRunning: 3, usage: 7 } as const;

/** mysqlda's default log level. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'notice';

export interface StartOptions {
  configFile?: string;
  saveFile?: string;
  /** false with --no-daemon. */
  daemon: boolean;
  logLevel: LogLevel;
}

/** Internal: the detached supervisor, and the worker it runs (src/supervisor/). */
export const DAEMON_ROLES = ['supervisor', 'worker'] as const;
export type DaemonRole = (typeof DAEMON_ROLES)[number];

export type CliCommand =
  | { kind: 'version' }
  | { kind: 'help'; text: string }
  | { kind: 'usage-error'; problem: string }
  | { kind: 'init'; configFile?: string; force: boolean }
  | ({ kind: 'start' | 'restart' } & StartOptions)
  | { kind: ControlAction; configFile?: string }
  | ({ kind: 'daemon-role'; role: DaemonRole } & StartOptions)
  | { kind: 'directory-import'; configFile?: string; from?: string }
  | { kind: 'directory-export'; configFile?: string; to?: string; force: boolean };

export const USAGE = `USAGE : mysqlda [ -f (config_filename) ] -a init [ --force ]
        mysqlda [ -f (config_filename) ] [ -s (save_filename) ] -a start | restart [ --no-daemon ]
                [ --loglevel-debug | --loglevel-info | --loglevel-notice
                | --loglevel-warn | --loglevel-error | --loglevel-fatal ]
        mysqlda [ -f (config_filename) ] -a stop | status | reload | kill
        mysqlda [ -f (config_filename) ] -a directory-import [ --from (save_dir) ]
        mysqlda [ -f (config_filename) ] -a directory-export [ --to (dir) ] [ --force ]
        mysqlda -v | --help`;

const EPILOGUE = `Actions:
  init     write the default configuration to the -f file (refuses to overwrite it without --force)
  start    check the configuration and the listen port, then detach: a supervisor process keeps a worker
           serving (restarted with back-off if it dies); with --no-daemon, serve in the foreground instead
  stop     SIGTERM to the running mysqlda; wait until it has drained its sessions (server.drain_timeout_s) and exited
  status   pid, uptime, version, listen address, libraries (current server, keys), open sessions
  reload   ask the running mysqlda to reload its configuration; print whether it was applied, and why not
  restart  stop (if running), then start
  kill     SIGKILL to the supervisor and its worker
  directory-import  copy the save files and mysqlda.state.json of storage.save_dir (or --from) into the MySQL
           directory of storage.directory.mysql; reports every conflicting line as file:line (exit 1 if any)
  directory-export  write the MySQL directory as save files and mysqlda.state.json into storage.save_dir (or
           --to); refuses to overwrite non-empty save files without --force

The config file defaults to ./etc/mysqlda.conf if it exists, else $HOME/etc/mysqlda.conf.
The pid file (config daemon.pid_file, default mysqlda.pid beside the config) names the running mysqlda; its
control socket mysqlda.ctl is beside it. Signals: TERM/INT stop, USR1 reloads, HUP reopens the log file.
Exit status: 0 success, 1 failure (bad configuration, cannot start, reload rejected),
             3 not running, 7 usage error.`;

function buildParser(argv: string[]): Argv {
  const parser = yargs(argv)
    .scriptName('mysqlda')
    .version(false)
    .help(false)
    .parserConfiguration({
      // Later flags win, as in mysqlda; `--no-daemon` is a flag of its own, not the negation of `--daemon`.
      'duplicate-arguments-array': false,
      'boolean-negation': false,
      'camel-case-expansion': false,
    })
    .option('f', {
      type: 'string',
      requiresArg: true,
      describe: 'config file',
      defaultDescription: './etc/mysqlda.conf or $HOME/etc/mysqlda.conf',
    })
    .option('a', { type: 'string', requiresArg: true, describe: 'action, one of those listed under Actions below' })
    .option('no-daemon', {
      type: 'boolean',
      describe: 'start, restart: serve in the foreground, in one process, logging to stdout',
    })
    .option('force', { type: 'boolean', describe: 'init: overwrite an existing config file; directory-export: overwrite save files' })
    .option('from', { type: 'string', requiresArg: true, describe: 'directory-import: the directory of the save files' })
    .option('to', { type: 'string', requiresArg: true, describe: 'directory-export: the directory to write the save files into' })
    .option('daemon-role', { type: 'string', choices: DAEMON_ROLES, requiresArg: true, hidden: true })
    .option('s', {
      type: 'string',
      requiresArg: true,
      describe: 'start, restart: save file; its directory overrides storage.save_dir',
    });
  for (const level of LOG_LEVELS) {
    parser.option(`loglevel-${level}`, {
      type: 'boolean',
      describe: `log level ${level}${level === DEFAULT_LOG_LEVEL ? ' (default)' : ''}; the last one given wins`,
    });
  }
  return parser
    .option('v', { alias: 'version', type: 'boolean', describe: 'print the version and exit' })
    .option('help', { alias: 'h', type: 'boolean', describe: 'print this help and exit' })
    .epilogue(EPILOGUE)
    .wrap(110)
    .strict()
    .exitProcess(false);
}

export function parseArgs(argv: readonly string[]): CliCommand {
  let failure: string | undefined;
  const parser = buildParser([...argv]).fail((message: string | undefined, error: Error | undefined) => {
    failure ??= message ?? error?.message ?? 'invalid arguments';
  });
  const args = parser.parseSync();
  if (args.help) return { kind: 'help', text: helpText(parser) };
  if (args.v) return { kind: 'version' };
  if (failure !== undefined) return { kind: 'usage-error', problem: failure };

  const configFile = optionalPath(args.f);
  const saveFile = optionalPath(args.s);
  if (configFile === '' || saveFile === '') return { kind: 'usage-error', problem: '-f and -s need a file name' };
  const role = args['daemon-role'] as DaemonRole | undefined;
  const start = (daemon: boolean): StartOptions => ({ configFile, saveFile, daemon, logLevel: lastLogLevel(argv) });
  if (role !== undefined) return { kind: 'daemon-role', role, ...start(true) };
  const action = args.a;
  if (typeof action !== 'string') return { kind: 'usage-error', problem: `no action given (-a ${ACTIONS.join(' | ')})` };
  if (!isAction(action)) return { kind: 'usage-error', problem: `unknown action "${action}"` };

  switch (action) {
    case 'init':
      return { kind: 'init', configFile, force: args.force === true };
    case 'start':
    case 'restart':
      return { kind: action, ...start(args['no-daemon'] !== true) };
    case 'directory-import':
      return { kind: action, configFile, from: optionalPath(args.from) };
    case 'directory-export':
      return { kind: action, configFile, to: optionalPath(args.to), force: args.force === true };
    default:
      return { kind: action, configFile };
  }
}

function optionalPath(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

/** yargs keeps no order between distinct flags, so the last `--loglevel-*` is found by scanning argv. */
function lastLogLevel(argv: readonly string[]): LogLevel {
  let level = DEFAULT_LOG_LEVEL;
  for (const token of argv) {
    const match = /^--loglevel-([a-z]+)$/.exec(token);
    const named = LOG_LEVELS.find((l) => l === match?.[1]);
    if (named) level = named;
  }
  return level;
}

/** USAGE (kept out of yargs, which would re-wrap its columns), then yargs' option list and the epilogue. */
function helpText(parser: Argv): string {
  let options = '';
  parser.showHelp((s: string) => {
    options = s;
  });
  return `${USAGE}\n\n${options}\n`;
}
