/**
 * bin/mysqlda runs the compiled dist/: tests that run it rebuild dist/ first when it is missing or older than
 * src/ (`npm test` builds before running vitest; a lone `npx vitest run <file>` does not).
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

export function ensureBuilt(): void {
  const entry = path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(path.join(PROJECT_ROOT, 'src'))) return;
  // Type errors elsewhere in the tree do not stop tsc from emitting; what matters here is that main.js exists.
  spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
  });
  if (!existsSync(entry)) throw new Error('npm run build did not produce dist/cli/main.js');
}
