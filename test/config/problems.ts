import { ConfigError } from '../../src/config/load.js';

/** The problems a config document is refused with (fails when it is accepted). */
export function configProblems(parse: () => unknown): readonly string[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
