/**
 * The fuzz suite's quick mode: a few thousand generated cases across the four places a client can be (before
 * login, lobby, routed, TLS) and the known-defect probes, with the same checks as `npm run fuzz` after each batch.
 * A fixed seed, so a failure here replays exactly (MYSQLDA_FUZZ_SEED / MYSQLDA_FUZZ_ONLY, see test/fuzz/settings.ts).
 */
import { fuzzSettings } from '../fuzz/settings.js';
import { fuzzRun } from '../fuzz/suite.js';

const settings = fuzzSettings({ MYSQLDA_FUZZ_SEED: process.env.MYSQLDA_FUZZ_SEED }, { cases: 3000, seed: 20261202, batchSize: 500 });
fuzzRun('the proxy survives 3000 fuzz cases and the known-defect probes: alive, serving, no session left, memory back', settings);
