import { describe, expect, it } from 'vitest';
import { ACTIONS, parseArgs } from '../../src/cli/args.js';
import { LOG_LEVELS } from '../../src/log/logger.js';

describe('parseArgs', () => {
  it('-a init with -f and --force', () => {
    expect(parseArgs(['-f', 'etc/my.conf', '-a', 'init'])).toEqual({ kind: 'init', configFile: 'etc/my.conf', force: false });
    expect(parseArgs(['-a', 'init', '--force'])).toEqual({ kind: 'init', configFile: undefined, force: true });
  });

  it('-a start --no-daemon, in any order, with the default log level notice', () => {
    const expected = { kind: 'start', configFile: 'm.conf', saveFile: undefined, daemon: false, logLevel: 'notice' };
    expect(parseArgs(['-f', 'm.conf', '--no-daemon', '-a', 'start'])).toEqual(expected);
    expect(parseArgs(['--no-daemon', '-a', 'start', '-f', 'm.conf'])).toEqual(expected);
  });

  it('-a start without --no-daemon asks for daemon mode', () => {
    expect(parseArgs(['-a', 'start'])).toMatchObject({ kind: 'start', daemon: true });
  });

  it('-s names the save file', () => {
    expect(parseArgs(['-a', 'start', '--no-daemon', '-s', '/var/lib/mysqlda/mysqlda.save'])).toMatchObject({
      saveFile: '/var/lib/mysqlda/mysqlda.save',
    });
  });

  it.each(LOG_LEVELS)('--loglevel-%s sets the log level', (level) => {
    expect(parseArgs(['-a', 'start', '--no-daemon', `--loglevel-${level}`])).toMatchObject({ logLevel: level });
  });

  it('the last of several flags wins, as in mysqlda', () => {
    expect(parseArgs(['--loglevel-error', '-a', 'start', '--loglevel-debug', '--no-daemon'])).toMatchObject({
      logLevel: 'debug',
    });
    expect(parseArgs(['-f', 'a.conf', '-a', 'init', '-f', 'b.conf'])).toMatchObject({ configFile: 'b.conf' });
    expect(parseArgs(['-a', 'stop', '-a', 'init'])).toMatchObject({ kind: 'init' });
  });

  it('-v and --version ask for the version, whatever else is given', () => {
    expect(parseArgs(['-v'])).toEqual({ kind: 'version' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
    expect(parseArgs(['-a', 'start', '-v', '--unknown'])).toEqual({ kind: 'version' });
  });

  it('--help lists every flag and every action', () => {
    const command = parseArgs(['--help']);
    expect(command.kind).toBe('help');
    const text = command.kind === 'help' ? command.text : '';
    const flags = ['-f', '-a', '-s', '--no-daemon', '--force', '-v, --version', '--help', ...LOG_LEVELS.map((l) => `--loglevel-${l}`)];
    for (const flag of flags) expect(text).toContain(flag);
    for (const action of ACTIONS) expect(text).toContain(action);
  });

  it.each(['stop', 'status', 'reload', 'restart', 'kill'] as const)('-a %s is recognised but not implemented yet', (action) => {
    expect(parseArgs(['-a', action])).toEqual({ kind: 'not-implemented', action });
  });

  it.each([
    [[], 'no action given (-a init | start)'],
    [['-f', 'x.conf'], 'no action given (-a init | start)'],
    [['-a', 'launch'], 'unknown action "launch"'],
    [['-a'], 'Not enough arguments following: a'],
    [['-a', 'init', '-f'], 'Not enough arguments following: f'],
    [['-a', 'init', '-f', ''], '-f and -s need a file name'],
    [['-a', 'start', '--daemon'], 'Unknown argument: daemon'],
    [['-a', 'start', '--loglevel-warning'], 'Unknown argument: loglevel-warning'],
    [['start'], 'Unknown argument: start'],
  ])('%j is a usage error: %s', (argv, problem) => {
    expect(parseArgs(argv)).toEqual({ kind: 'usage-error', problem });
  });
});
