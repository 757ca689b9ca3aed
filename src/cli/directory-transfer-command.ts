/**
 * `mysqlda -a directory-import` and `-a directory-export`: load the config, open the MySQL directory it names,
 * move the directory between the save files and the tables, and print what was done: every conflict and problem
 * on stderr, one summary line on stdout. Exit status 1 when a line was not imported or nothing could be done.
 */
import path from 'node:path';
import { ConfigError, loadConfigFileWithWarnings } from '../config/load.js';
import { resolveConfigPath } from '../config/locate.js';
import type { MysqlDirectoryConfig, MysqldaConfig } from '../config/types.js';
import { DirectoryError } from '../store/key-directory.js';
import { DirectoryClient, errnoOf } from '../store/mysql/directory-client.js';
import { exportDirectory, ExportRefusedError, importDirectory, type ImportReport, type TransferCount } from '../store/mysql/directory-transfer.js';
import type { ExportReport } from '../store/mysql/directory-export.js';
import { EXIT, type CliCommand } from './args.js';
import { mysqlDirectoryOf } from './directory-target.js';
import { formatConfigError } from './foreground.js';

export interface TransferDeps {
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type TransferCommand = Extract<CliCommand, { kind: 'directory-import' | 'directory-export' }>;

const CONNECT_TIMEOUT_MS = 10_000;

export async function runDirectoryTransfer(command: TransferCommand, deps: TransferDeps): Promise<number> {
  const target = await loadTarget(command.configFile, deps);
  if (typeof target === 'number') return target;
  const { config, directory } = target;
  const client = new DirectoryClient(directory, { connectTimeoutMs: CONNECT_TIMEOUT_MS, connectionLimit: 2 });
  const where = `${directory.database} on ${directory.servers.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  try {
    if (command.kind === 'directory-import') {
      const saveDir = command.from === undefined ? config.saveDir : path.resolve(deps.cwd, command.from);
      const report = await importDirectory({ saveDir, libraries: config.libraries.map((library) => library.name), client });
      printImport(report, saveDir, where, deps);
      return report.conflicts.length + report.problems.length > 0 ? EXIT.failure : EXIT.ok;
    }
    const targetDir = command.to === undefined ? config.saveDir : path.resolve(deps.cwd, command.to);
    const report = await exportDirectory({ client, targetDir, force: command.force });
    printExport(report, targetDir, where, deps);
    return EXIT.ok;
  } catch (error) {
    const message =
      error instanceof ExportRefusedError ? error.message : error instanceof DirectoryError || errnoOf(error) !== 0 ? `${where}: ${describe(error)}` : describe(error);
    deps.stderr(`mysqlda: ${command.kind}: ${message}\n`);
    return EXIT.failure;
  } finally {
    await client.close();
  }
}

async function loadTarget(configFile: string | undefined, deps: TransferDeps): Promise<{ config: MysqldaConfig; directory: MysqlDirectoryConfig } | number> {
  const configPath = resolveConfigPath(configFile, { cwd: deps.cwd });
  let config: MysqldaConfig;
  try {
    config = (await loadConfigFileWithWarnings(configPath)).config;
  } catch (error) {
    deps.stderr(error instanceof ConfigError ? formatConfigError(error) : `mysqlda: ${describe(error)}\n`);
    return EXIT.failure;
  }
  const directory = mysqlDirectoryOf(config);
  if ('problem' in directory) {
    deps.stderr(`mysqlda: ${directory.problem}\n`);
    return EXIT.failure;
  }
  return { config, directory };
}

function printImport(report: ImportReport, saveDir: string, where: string, deps: TransferDeps): void {
  for (const line of [...report.problems, ...report.conflicts]) deps.stderr(`${line}\n`);
  for (const warning of report.warnings) deps.stderr(`warning: ${warning}\n`);
  if (report.countsRepaired.length > 0) deps.stderr(`warning: library counts set to their keys: ${report.countsRepaired.join(', ')}\n`);
  const count = (c: TransferCount) => `${c.read} read, ${c.added} new, ${c.present} already there`;
  deps.stdout(
    `directory-import ${saveDir} → ${where}: keys ${count(report.keys)}; correl objects ${count(report.aliases)}; ` +
      `library states ${report.states.added} new, ${report.states.kept} kept; ` +
      `${report.conflicts.length} conflict(s), ${report.problems.length} problem(s) (${report.ms} ms)\n`,
  );
}

function printExport(report: ExportReport, targetDir: string, where: string, deps: TransferDeps): void {
  for (const warning of report.warnings) deps.stderr(`warning: ${warning}\n`);
  const classes = Object.entries(report.aliases).map(([correlClass, n]) => `${correlClass} ${n}`);
  deps.stdout(
    `directory-export ${where} → ${targetDir}: ${report.keys} keys; correl objects ${classes.length > 0 ? classes.join(', ') : 'none'}; ` +
      `${report.states} library state(s); ${report.files.length} file(s) written (${report.ms} ms)\n`,
  );
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string };
  const message = String(e?.message ?? error).slice(0, 300);
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
