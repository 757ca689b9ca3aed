/**
 * Reading mysqlda.conf: mysqlda's JSON, unchanged, plus optional extensions (see schema.ts and validate.ts).
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { JsonSyntaxError, parseJsonWithComments } from './jsonc.js';
import { validateConfig, type ValidatedConfig } from './validate.js';
import type { MysqldaConfig } from './types.js';

export { ConfigError } from './errors.js';
export type { ValidatedConfig } from './validate.js';

/** Load and validate a config file. Throws ConfigError listing every problem. */
export async function loadConfigFile(configPath: string): Promise<MysqldaConfig> {
  return (await loadConfigFileWithWarnings(configPath)).config;
}

/** As loadConfigFile, and also returns the warnings (unknown keys and the like) for the caller to log. */
export async function loadConfigFileWithWarnings(configPath: string): Promise<ValidatedConfig> {
  const absolutePath = path.resolve(configPath);
  let text: string;
  try {
    text = await readFile(absolutePath, 'utf8');
  } catch (error) {
    throw new ConfigError(absolutePath, [`cannot read the file: ${describeFileError(error)}`]);
  }
  const result = parseConfigTextWithWarnings(text, absolutePath);
  if (await isReadableByOthers(absolutePath)) {
    result.warnings.push('(file): readable by every user although it holds passwords; chmod 600 it');
  }
  return result;
}

/** Parse and validate config text; `configPath` anchors relative paths (storage.save_dir) and messages. */
export function parseConfigText(text: string, configPath: string): MysqldaConfig {
  return parseConfigTextWithWarnings(text, configPath).config;
}

export function parseConfigTextWithWarnings(text: string, configPath: string): ValidatedConfig {
  const absolutePath = path.resolve(configPath);
  let parsed;
  try {
    parsed = parseJsonWithComments(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ConfigError(absolutePath, [`JSON syntax error at ${error.message}`]);
  }
  const result = validateConfig(parsed.value, absolutePath);
  const unreadable = unreadableFiles(result.config);
  if (unreadable.length > 0) throw new ConfigError(absolutePath, unreadable);
  const duplicates = parsed.duplicateKeys.map((key) => `${key}: given more than once; the last value is used`);
  return { config: result.config, warnings: [...duplicates, ...result.warnings] };
}

/** The files the config names that must exist now (TLS certificate and key), each unreadable one as a problem. */
function unreadableFiles(config: MysqldaConfig): string[] {
  const files = config.tls ? [['tls.cert', config.tls.certFile], ['tls.key', config.tls.keyFile]] : [];
  config.libraries.forEach((library, i) =>
    library.servers.forEach((server, j) => {
      const where = `forwards[${i}].forward[${j}].tls`;
      for (const [key, file] of [['ca', server.tls?.caFile], ['cert', server.tls?.certFile], ['key', server.tls?.keyFile]] as const) {
        if (file) files.push([`${where}.${key}`, file]);
      }
    }),
  );
  const directoryTls = config.directory.kind === 'mysql' ? config.directory.mysql.tls : null;
  for (const [key, file] of [['ca', directoryTls?.caFile], ['cert', directoryTls?.certFile], ['key', directoryTls?.keyFile]] as const) {
    if (file) files.push([`storage.directory.mysql.tls.${key}`, file]);
  }
  const problems: string[] = [];
  for (const [key, file] of files) {
    try {
      if (!statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      accessSync(file, fsConstants.R_OK);
    } catch (error) {
      problems.push(`${key}: cannot read ${file}: ${describeFileError(error)}`);
    }
  }
  return problems;
}

function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

async function isReadableByOthers(file: string): Promise<boolean> {
  try {
    return ((await stat(file)).mode & 0o004) !== 0;
  } catch {
    return false;
  }
}
