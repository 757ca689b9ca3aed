/**
 * The mysqlda command line, parsed into a typed command. Pure: no file access, no output, no exit.
 * Flags are mysqlda's (`-f`, `-s`, `-a`, `--no-daemon`, `--loglevel-*`, `-v`) plus `--force` and `--help`.
 * Unlike mysqlda, an unknown flag is an error (mysqlda ignored it, so a typo silently changed nothing).
 */
import yargs, { type Argv } from 'yargs';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';

export const ACTIONS = ['init', 'start', 'stop', 'status', 'reload', 'restart', 'kill'] as const;
export type Action = (typeof ACTIONS)[number];
export type UnimplementedAction = Exclude<Action, 'init' | 'start'>;

/** Exit statuses. 7 is mysqlda's status for a usage error. */
export const EXIT = { ok: 0, failure: 1, notImplemented: 2, usage: 7 } as const;

/** mysqlda's default log level. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'notice';

export type CliCommand =
  | { kind: 'version' }
  | { kind: 'help'; text: string }
  | { kind: 'usage-error'; problem: string }
  | { kind: 'init'; configFile?: string; force: boolean }
  | { kind: 'start'; configFile?: string; saveFile?: string; daemon: boolean; logLevel: LogLevel }
  | { kind: 'not-implemented'; action: UnimplementedAction };

export const USAGE = `USAGE : mysqlda [ -f (config_filename) ] -a init [ --force ]
        mysqlda [ -f (config_filename) ] [ -s (save_filename) ] -a start --no-daemon
                [ --loglevel-debug | --loglevel-info | --loglevel-notice
                | --loglevel-warn | --loglevel-error | --loglevel-fatal ]
        mysqlda -v | --help`;

const EPILOGUE = `Actions:
  init     write the default configuration to the -f file (refuses to overwrite it without --force)
  start    load the configuration and serve; only --no-daemon (foreground) is implemented yet
  stop, status, reload, restart, kill    not implemented yet

The config file defaults to ./etc/mysqlda.conf if it exists, else $HOME/etc/mysqlda.conf.
Exit status: 0 success, 1 failure (bad configuration, cannot start), 2 not implemented yet, 7 usage error.`;

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
    .option('a', { type: 'string', requiresArg: true, describe: `action: ${ACTIONS.join(' | ')}` })
    .option('no-daemon', {
      type: 'boolean',
      describe: 'start: stay in the foreground (log to stdout, stop on SIGTERM/SIGINT)',
    })
    .option('force', { type: 'boolean', describe: 'init: overwrite an existing config file' })
    .option('s', {
      type: 'string',
      requiresArg: true,
      describe: 'start: save file; its directory overrides storage.save_dir',
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
  const action = args.a;
  if (typeof action !== 'string') return { kind: 'usage-error', problem: 'no action given (-a init | start)' };
  if (!isAction(action)) return { kind: 'usage-error', problem: `unknown action "${action}"` };

  switch (action) {
    case 'init':
      return { kind: 'init', configFile, force: args.force === true };
    case 'start':
      return { kind: 'start', configFile, saveFile, daemon: args['no-daemon'] !== true, logLevel: lastLogLevel(argv) };
    default:
      return { kind: 'not-implemented', action };
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
