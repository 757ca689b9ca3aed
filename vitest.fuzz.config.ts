import { defineConfig } from 'vitest/config';

/** `npm run fuzz`: the full fuzz campaign, kept out of `npm test` (which runs test/integration/fuzz-quick.test.ts). */
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    testTimeout: 60 * 60_000,
    hookTimeout: 180_000,
  },
});
