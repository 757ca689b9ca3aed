#!/usr/bin/env node
// Builds dist/mysqlda-<os>-<arch>: one executable that runs mysqlda without node_modules (Node's single
// executable applications). Steps: bundle src/cli/sea-main.ts into one CommonJS file with esbuild, turn it into
// a SEA blob with `node --experimental-sea-config`, copy this node binary and inject the blob with postject.
// Needs the devDependencies esbuild and postject (found in the project, else in npm's global root).
//
// Usage: node scripts/build-binary.mjs [--output <file>]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

async function main() {
  const outputArg = process.argv.indexOf('--output');
  const output = outputArg > 0 ? path.resolve(process.argv[outputArg + 1]) : path.join(ROOT, 'dist', `mysqlda-${process.platform}-${process.arch}`);
  const started = Date.now();
  const step = async (name, run) => {
    const t = Date.now();
    const result = await run();
    console.log(`build-binary: ${name} (${Date.now() - t} ms)`);
    return result;
  };

  const nodeBinary = process.execPath;
  if (!readFileSync(nodeBinary).includes(SEA_FUSE)) {
    fail(`${nodeBinary} has no single-executable fuse; use an official Node.js ≥ 20 build`);
  }
  // The intermediate files (bundle, blob) live in a directory of their own: builds never share them.
  const WORK = mkdtempSync(path.join(os.tmpdir(), 'mysqlda-sea-'));
  mkdirSync(path.dirname(output), { recursive: true });
  const bundle = path.join(WORK, 'mysqlda.cjs');
  const blob = path.join(WORK, 'mysqlda.blob');

  await step('bundle', () => bundleProgram(bundle));
  await step('sea blob', () => {
    const config = path.join(WORK, 'sea-config.json');
    writeFileSync(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
    const prepared = spawnSync(nodeBinary, ['--experimental-sea-config', config], { cwd: WORK, encoding: 'utf8' });
    if (prepared.status !== 0) fail(`node --experimental-sea-config failed:\n${prepared.stdout}${prepared.stderr}`);
  });
  await step('inject', () => {
    rmSync(output, { force: true });
    copyFileSync(nodeBinary, output);
    chmodSync(output, 0o755);
    const postject = path.join(path.dirname(resolveTool('postject/package.json')), 'dist', 'cli.js');
    // postject's ELF library prints harmless "Can't find string offset" warnings: kept out of the output.
    const injected = spawnSync(nodeBinary, [postject, output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { encoding: 'utf8' });
    if (injected.status !== 0) fail(`postject failed:\n${injected.stdout}${injected.stderr}`);
  });
  rmSync(WORK, { recursive: true, force: true });
  const version = await step('check', () => execFileSync(output, ['-v'], { encoding: 'utf8' }).trim());
  const expected = `mysqlda v${packageJson().version}`;
  if (version !== expected) fail(`${output} -v printed "${version}", expected "${expected}"`);
  console.log(`build-binary: ${output} (${version}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** One CommonJS file holding the program and its dependencies; node: built-ins stay imports. */
async function bundleProgram(outfile) {
  const esbuild = createRequire(import.meta.url)(resolveTool('esbuild'));
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'sea-main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ESM dependencies (yargs) compute paths from import.meta.url: give them the bundle's own URL.
    define: { 'import.meta.url': '__mysqldaBundleUrl' },
    banner: { js: 'const __mysqldaBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [inlinePackageJson()],
    logLevel: 'warning',
    legalComments: 'none',
  });
  if (result.errors.length > 0) fail('esbuild failed');
}

/**
 * mysqlda's own modules read package.json beside them (`readFileSync(new URL('../package.json',
 * import.meta.url))`) for the version; the executable has no package.json beside it, so the read is replaced by
 * its content. Any other use of import.meta in src/ would look for a file that is not there: the build stops.
 */
function inlinePackageJson() {
  const { name, version } = packageJson();
  const literal = JSON.stringify(JSON.stringify({ name, version }));
  const read = /readFileSync\(\s*new URL\(\s*'(?:\.\.\/)+package\.json'\s*,\s*import\.meta\.url\s*\)\s*,\s*'utf8'\s*\)/g;
  return {
    name: 'inline-package-json',
    setup(build) {
      const srcDir = `${path.join(ROOT, 'src')}${path.sep}`;
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.startsWith(srcDir)) return undefined;
        const contents = readFileSync(args.path, 'utf8').replace(read, literal);
        const left = contents.indexOf('import.meta');
        if (left >= 0) {
          const line = contents.slice(0, left).split('\n').length;
          return { errors: [{ text: `import.meta cannot be bundled into the executable`, location: { file: args.path, line } }] };
        }
        return { contents, loader: 'ts' };
      });
    },
  };
}

/** A build tool from the project's node_modules, else from npm's global root. */
function resolveTool(request) {
  const fromProject = createRequire(path.join(ROOT, 'package.json'));
  try {
    return fromProject.resolve(request);
  } catch {
    // fall through
  }
  try {
    const globalRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return createRequire(path.join(globalRoot, 'noop.js')).resolve(request);
  } catch {
    fail(`${request.split('/')[0]} is not installed: npm install --save-dev esbuild postject`);
  }
}

function packageJson() {
  return JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
}

function fail(message) {
  console.error(`build-binary: ${message}`);
  process.exit(1);
}

await main().catch((error) => fail(error.message));
