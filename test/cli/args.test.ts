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
    const flags = ['-f', '-a', '-s', '--no-daemon', '--force', '--from', '--to', '-v, --version', '--help', ...LOG_LEVELS.map((l) => `--loglevel-${l}`)];
    for (const flag of flags) expect(text).toContain(flag);
    for (const action of ACTIONS) expect(text).toContain(action);
  });

  it('-a directory-import reads the save directory of the config, or --from', () => {
    expect(parseArgs(['-f', 'm.conf', '-a', 'directory-import'])).toEqual({ kind: 'directory-import', configFile: 'm.conf', from: undefined });
    expect(parseArgs(['-a', 'directory-import', '--from', '/var/lib/mysqlda'])).toEqual({ kind: 'directory-import', configFile: undefined, from: '/var/lib/mysqlda' });
  });

  it('-a directory-export writes into the save directory of the config, or --to, overwriting only with --force', () => {
    expect(parseArgs(['-a', 'directory-export'])).toEqual({ kind: 'directory-export', configFile: undefined, to: undefined, force: false });
    expect(parseArgs(['-f', 'm.conf', '-a', 'directory-export', '--to', 'out', '--force'])).toEqual({ kind: 'directory-export', configFile: 'm.conf', to: 'out', force: true });
  });

  it.each(['stop', 'status', 'reload', 'kill'] as const)('-a %s names the config of the mysqlda to act on', (action) => {
    expect(parseArgs(['-a', action])).toEqual({ kind: action, configFile: undefined });
    expect(parseArgs(['-f', '/etc/mysqlda/mysqlda.conf', '-a', action])).toEqual({ kind: action, configFile: '/etc/mysqlda/mysqlda.conf' });
  });

  it('-a restart takes the start options', () => {
    expect(parseArgs(['-f', 'm.conf', '-a', 'restart', '--loglevel-info'])).toEqual({
      kind: 'restart',
      configFile: 'm.conf',
      saveFile: undefined,
      daemon: true,
      logLevel: 'info',
    });
    expect(parseArgs(['-a', 'restart', '--no-daemon'])).toMatchObject({ kind: 'restart', daemon: false });
  });

  it('--daemon-role is internal: the supervisor and the worker, with the start options', () => {
    expect(parseArgs(['-f', '/e/m.conf', '-a', 'start', '--loglevel-warn', '--daemon-role', 'supervisor'])).toEqual({
      kind: 'daemon-role',
      role: 'supervisor',
      configFile: '/e/m.conf',
      saveFile: undefined,
      daemon: true,
      logLevel: 'warn',
    });
    expect(parseArgs(['-f', '/e/m.conf', '-a', 'start', '--daemon-role', 'worker'])).toMatchObject({ kind: 'daemon-role', role: 'worker' });
    expect(parseArgs(['--help']).kind === 'help' && (parseArgs(['--help']) as { text: string }).text).not.toContain('daemon-role');
    expect(parseArgs(['-a', 'start', '--daemon-role', 'boss'])).toMatchObject({ kind: 'usage-error' });
  });

  it('--help explains the exit statuses', () => {
    const command = parseArgs(['--help']);
    expect(command.kind === 'help' ? command.text : '').toMatch(/0 success, 1 failure .*\n +3 not running, 7 usage error/);
  });

  it.each([
    [[], 'no action given (-a init | start | stop | status | reload | restart | kill | directory-import | directory-export)'],
    [['-f', 'x.conf'], 'no action given (-a init | start | stop | status | reload | restart | kill | directory-import | directory-export)'],
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
