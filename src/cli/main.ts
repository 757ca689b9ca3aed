/**
 * The `mysqlda` command: parse the arguments, run the command, return the exit status.
 * bin/mysqlda calls main() and sets the process exit code from it.
 */
import { readFileSync } from 'node:fs';
import { ConfigFileExistsError, writeDefaultConfig } from '../config/default-config.js';
import { resolveConfigPath } from '../config/locate.js';
import { createLogger } from '../log/logger.js';
import { terminalDestination } from '../log/pretty.js';
import { nodeSelfCommand, type SelfCommand } from '../supervisor/self-command.js';
import { EXIT, USAGE, parseArgs, type CliCommand, type StartOptions } from './args.js';
import { runControlAction } from './daemon-control.js';
import { startDaemon } from './daemon-start.js';
import { runForeground, type ForegroundDeps } from './foreground.js';

export interface CliDeps extends ForegroundDeps {
  stdout: (text: string) => void;
  /** How to run this program again, for the daemon's supervisor and worker. */
  self: SelfCommand;
}

function processDeps(): CliDeps {
  return {
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    // --no-daemon: readable lines when a person watches the terminal, JSON for a service manager or a pipe.
    createLogger: (level) => createLogger(level, terminalDestination()),
    // Loaded only for start: -v, --help and init work without the proxy's module graph.
    startProxy: async (config, logger, options) => (await import('../server.js')).startProxy(config, logger, options),
    signals: process,
    exit: (code) => process.exit(code),
    version: packageVersion(),
    self: nodeSelfCommand(),
  };
}

/** The version in package.json (two levels up from both src/cli/ and dist/cli/). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

export async function main(argv: readonly string[], overrides: Partial<CliDeps> = {}): Promise<number> {
  const deps = { ...processDeps(), ...overrides };
  return run(parseArgs(argv), deps);
}

async function run(command: CliCommand, deps: CliDeps): Promise<number> {
  switch (command.kind) {
    case 'version':
      deps.stdout(`mysqlda v${packageVersion()}\n`);
      return EXIT.ok;
    case 'help':
      deps.stdout(command.text);
      return EXIT.ok;
    case 'usage-error':
      deps.stderr(`mysqlda: ${command.problem}\n${USAGE}\nRun mysqlda --help for every flag.\n`);
      return EXIT.usage;
    case 'init':
      return init(command.configFile, command.force, deps);
    case 'start':
      return start(command, deps);
    case 'restart': {
      const stopped = await runControlAction('stop', command.configFile, deps);
      if (stopped !== EXIT.ok && stopped !== EXIT.notRunning) return stopped;
      return start(command, deps);
    }
    case 'stop':
    case 'status':
    case 'reload':
    case 'kill':
      return runControlAction(command.kind, command.configFile, deps);
    case 'daemon-role':
      return runDaemonRole(command, deps);
    case 'directory-import':
    case 'directory-export':
      // Loaded only here: the other actions need neither mysql2 nor the transfer code.
      return (await import('./directory-transfer-command.js')).runDirectoryTransfer(command, deps);
  }
}

function start(options: StartOptions, deps: CliDeps): Promise<number> {
  return options.daemon ? startDaemon(options, deps) : runForeground(options, deps);
}

/** The processes `-a start` detaches: loaded only here, so that the command itself stays light. */
async function runDaemonRole(command: Extract<CliCommand, { kind: 'daemon-role' }>, deps: CliDeps): Promise<number> {
  if (command.role === 'worker') return (await import('../supervisor/worker.js')).runWorker();
  const { runSupervisorProcess } = await import('../supervisor/supervisor-process.js');
  return runSupervisorProcess({
    configPath: resolveConfigPath(command.configFile, { cwd: deps.cwd }),
    saveFile: command.saveFile,
    cwd: deps.cwd,
    logLevel: command.logLevel,
    self: deps.self,
    version: deps.version,
  });
}

async function init(configFile: string | undefined, force: boolean, deps: CliDeps): Promise<number> {
  const target = resolveConfigPath(configFile, { cwd: deps.cwd });
  try {
    await writeDefaultConfig(target, { force });
  } catch (error) {
    if (error instanceof ConfigFileExistsError) {
      deps.stderr(`mysqlda: ${target} already exists; use --force to overwrite it\n`);
    } else {
      deps.stderr(`mysqlda: cannot write ${target}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    return EXIT.failure;
  }
  deps.stdout(`mysqlda: wrote the default configuration to ${target}\n`);
  return EXIT.ok;
}
