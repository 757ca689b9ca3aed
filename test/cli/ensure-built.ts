/**
 * bin/mysqlda runs the compiled dist/, and the bench runs from build/: tests that run them recompile first when the
 * output is missing or older than its sources (`npm test` builds both before running vitest; a lone
 * `npx vitest run <file>` does not).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function compileUnlessFresh(tsconfig: string, entry: string, sources: string[]): void {
  const output = path.join(PROJECT_ROOT, entry);
  const newestSource = Math.max(...sources.map((dir) => newestMtime(path.join(PROJECT_ROOT, dir))));
  if (existsSync(output) && statSync(output).mtimeMs >= newestSource) return;
  // Type errors elsewhere in the tree do not stop tsc from emitting; what matters here is that the entry exists.
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
  });
  if (!existsSync(output)) throw new Error(`tsc -p ${tsconfig} did not produce ${entry}`);
}

/** dist/, the proxy. */
export function ensureBuilt(): void {
  compileUnlessFresh('tsconfig.build.json', 'dist/cli/main.js', ['src']);
}

/** build/bench/src/, the benchmark (with the sandbox and the proxy modules it imports). */
export function ensureBenchBuilt(): void {
  compileUnlessFresh('bench/tsconfig.json', 'build/bench/src/main.js', ['bench/src', 'tools', 'src']);
}
