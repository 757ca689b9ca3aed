import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { prettyDestination, prettyLine, terminalDestination } from '../../src/log/pretty.js';

const plain = { colour: false };

describe('readable log lines', () => {
  it('print the time of day, the level, the message and the other fields as key=value', () => {
    const json = JSON.stringify({ level: 40, time: '2026-12-02T11:41:00.571Z', pid: 7, server: '127.0.0.1:3306', from: 'up', to: 'down', msg: 'server 127.0.0.1:3306 is down' });
    expect(prettyLine(json, plain)).toBe('11:41:00.571 WARN   server 127.0.0.1:3306 is down  server=127.0.0.1:3306 from=up to=down\n');
  });

  it("name mysqlda's notice level and put a daemon process's role before the message", () => {
    const json = JSON.stringify({ level: 35, time: '2026-12-02T11:41:05.995Z', pid: 7, role: 'supervisor', msg: 'mysqlda stopped' });
    expect(prettyLine(json, plain)).toBe('11:41:05.995 NOTICE supervisor: mysqlda stopped\n');
  });

  it('print objects among the fields as JSON', () => {
    const json = JSON.stringify({ level: 30, time: '2026-12-02T11:41:00.000Z', listen: { host: '127.0.0.1', port: 13306 }, msg: 'listening' });
    expect(prettyLine(json, plain)).toBe('11:41:00.000 INFO   listening  listen={"host":"127.0.0.1","port":13306}\n');
  });

  it("indent an error's stack under its line", () => {
    const json = JSON.stringify({ level: 50, time: '2026-12-02T11:41:00.000Z', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' }, msg: 'stop failed' });
    expect(prettyLine(json, plain)).toBe('11:41:00.000 ERROR  stop failed\n    Error: boom\n        at f (x.js:1:1)\n');
  });

  it('colour the level, and the fields dimmed, unless NO_COLOR is set', () => {
    const json = JSON.stringify({ level: 40, time: '2026-12-02T11:41:00.000Z', a: 1, msg: 'm' });
    expect(prettyLine(json, { colour: true })).toBe('11:41:00.000 \x1b[33mWARN  \x1b[0m m  \x1b[2ma=1\x1b[0m\n');
    const out = new PassThrough();
    prettyDestination(out, { NO_COLOR: '1' }).write(`${json}\n`);
    expect(String(out.read())).toBe('11:41:00.000 WARN   m  a=1\n');
  });

  it('pass a line that is not JSON through unchanged', () => {
    expect(prettyLine('not json', plain)).toBe('not json\n');
  });

  it('keep redaction: a password never reaches the terminal', () => {
    const out = new PassThrough();
    createLogger('info', prettyDestination(out, { NO_COLOR: '1' })).info({ auth: { user: 'u', password: 'Do-Not-Print' } }, 'login');
    const line = String(out.read());
    expect(line).toContain('login');
    expect(line).not.toContain('Do-Not-Print');
  });

  it('are chosen for a terminal only: anything else (file, pipe, journal) gets JSON', () => {
    expect(terminalDestination(Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.WriteStream)).toBeDefined();
    expect(terminalDestination(Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream)).toBeUndefined();
  });
});
