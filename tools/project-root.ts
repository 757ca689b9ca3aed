/**
 * The checkout's root, for the tools that read or write files in it (bench/results, the sandbox's directory,
 * bin/mysqlda). Found by walking up to package.json, because the same module runs from its TypeScript source
 * (vitest: tools/…, bench/src/…) and from its compiled copy one level deeper (build/tools/…, build/bench/src/…).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(import.meta.dirname);
