/**
 * The entry point of the single executable (scripts/build-binary.mjs bundles it into one CommonJS file):
 * bin/mysqlda's job, with the executable as its own way to run the supervisor and the worker.
 */
import { singleExecutableSelfCommand } from '../supervisor/self-command.js';
import { main } from './main.js';

main(process.argv.slice(2), { self: singleExecutableSelfCommand() }).then(
  (code) => {
    process.exitCode = code;
    // As bin/mysqlda: after a clean stop nothing should keep the process alive; if something does, exit anyway.
    setTimeout(() => process.exit(code), 5000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`mysqlda: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
