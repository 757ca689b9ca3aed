/**
 * The full fuzz run (`npm run fuzz`): 100,000 cases by default, a seed from the clock unless given (see
 * settings.ts). Not part of `npm test`; test/integration/fuzz-quick.test.ts is its short form there.
 */
import { fuzzSettings } from './settings.js';
import { fuzzRun } from './suite.js';

const settings = fuzzSettings(process.env, { cases: 100_000, seed: Date.now() % 0x1_0000_0000, batchSize: 1000 });
fuzzRun(`the proxy survives ${settings.only?.length ?? settings.cases} fuzz cases (seed ${settings.seed}) in every place a client can be`, settings);
