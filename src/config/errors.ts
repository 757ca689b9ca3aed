/**
 * Every problem found in a configuration, thrown at once so the operator fixes them in one go.
 * Problems name the JSON path they concern and never quote a password.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(
    /** The file the problems were found in (absolute), or '' when there is none. */
    readonly configPath: string,
    problems: readonly string[],
  ) {
    const where = configPath === '' ? 'invalid configuration' : `invalid configuration ${configPath}`;
    super(`${where}: ${problems.join('; ')}`);
    this.problems = [...problems];
  }
}
