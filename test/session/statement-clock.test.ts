import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandDurations, DurationBuckets } from '../../src/observability/command-durations.js';
import { Command } from '../../src/protocol/constants.js';
import { commandName, cutText, StatementClock, statementText, StatementTiming, type SlowStatement } from '../../src/session/statement-clock.js';

function query(sql: string): Buffer {
  return Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]);
}

function clockWith(slowQueryMs: number) {
  const timing = new StatementTiming(slowQueryMs);
  const slow: SlowStatement[] = [];
  let overdue = 0;
  const clock = new StatementClock({ slowStatement: (s) => void slow.push(s), statementOverdue: () => void overdue++ }, timing, 'lib_a');
  return { timing, clock, slow, overdue: () => overdue };
}

describe('DurationBuckets', () => {
  it('counts each observation in the first bucket whose bound it does not exceed, and writes them cumulatively', () => {
    const buckets = new DurationBuckets([0.001, 0.01, 0.1]);
    for (const seconds of [0.0005, 0.001, 0.005, 0.05, 3]) buckets.observe(seconds);
    expect(buckets.count).toBe(5);
    expect(buckets.sum).toBeCloseTo(3.0565);
    expect(buckets.cumulative()).toEqual([
      { le: '0.001', count: 2 },
      { le: '0.01', count: 3 },
      { le: '0.1', count: 4 },
      { le: '+Inf', count: 5 },
    ]);
  });

  it('keeps one set of buckets per library', () => {
    const durations = new CommandDurations();
    expect(durations.forLibrary('a')).toBe(durations.forLibrary('a'));
    expect(durations.forLibrary('a')).not.toBe(durations.forLibrary('b'));
  });
});

describe('StatementClock', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('observes each answer once into the library it is routed to', () => {
    const { timing, clock } = clockWith(0);
    clock.routed('lib_b');
    const payload = query('select 1');
    clock.start(payload, 0, payload.length, 0);
    vi.advanceTimersByTime(3);
    clock.end(100, false);
    clock.end(200, false); // no statement running: nothing more
    const buckets = timing.durations.forLibrary('lib_b');
    expect(buckets.count).toBe(1);
    expect(buckets.sum).toBeCloseTo(0.003, 5);
    expect(timing.durations.forLibrary('lib_a').count).toBe(0);
  });

  it('reports a statement at least slow_query_ms long, with the bytes of its answer and its text', () => {
    const { clock, slow } = clockWith(50);
    const fast = query('select 1');
    clock.start(fast, 0, fast.length, 1000);
    vi.advanceTimersByTime(49);
    clock.end(1100, false);
    const sleepy = query('select sleep(1)');
    clock.start(sleepy, 0, sleepy.length, 1100);
    vi.advanceTimersByTime(60);
    clock.end(1350, false);
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ bytes: 250, command: Command.QUERY });
    expect(slow[0].ms).toBeGreaterThanOrEqual(60);
    expect(statementText(slow[0], () => null)).toBe('select sleep(1)');
  });

  it('times a pipelined answer from the end of the one before, and does not guess its text', () => {
    const { timing, clock, slow } = clockWith(10);
    const first = query('select 1');
    clock.start(first, 0, first.length, 0);
    vi.advanceTimersByTime(5);
    clock.end(10, true);
    vi.advanceTimersByTime(20);
    clock.end(20, false);
    expect(timing.durations.forLibrary('lib_a').count).toBe(2);
    expect(slow).toHaveLength(1);
    expect(statementText(slow[0], () => null)).toBe('(a command pipelined behind another)');
  });

  it('calls the statement overdue once it has run for the timeout, and not after it ended', () => {
    const { clock, overdue } = clockWith(0);
    clock.setTimeout(100);
    const payload = query('select sleep(10)');
    clock.start(payload, 0, payload.length, 0);
    vi.advanceTimersByTime(99);
    expect(overdue()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(overdue()).toBe(1);
    clock.end(0, false);
    clock.start(payload, 0, payload.length, 0);
    vi.advanceTimersByTime(50);
    clock.end(0, false);
    vi.advanceTimersByTime(200);
    expect(overdue()).toBe(1);
  });

  it('times each statement from its own start, with one timer for the session', () => {
    const { clock, overdue } = clockWith(0);
    clock.setTimeout(100);
    const payload = query('select 1');
    clock.start(payload, 0, payload.length, 0);
    vi.advanceTimersByTime(60);
    clock.end(0, false);
    clock.start(payload, 0, payload.length, 0); // at 60: due at 160, not when the first timer fires at 100
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(99);
    expect(overdue()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(overdue()).toBe(1);
  });

  it('arms no timer for an account without a timeout, and none survives stop()', () => {
    const { clock, overdue } = clockWith(0);
    const payload = query('select 1');
    clock.start(payload, 0, payload.length, 0);
    expect(vi.getTimerCount()).toBe(0);
    clock.setTimeout(10);
    clock.start(payload, 0, payload.length, 0);
    clock.stop();
    vi.advanceTimersByTime(100);
    expect(overdue()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('statement text for the slow-query log', () => {
  const slow = (command: number, text: Buffer | null): SlowStatement => ({ ms: 1, bytes: 0, command, text });

  it('quotes a prepared statement by its SQL when the session knows it, else names the command', () => {
    const id = Buffer.alloc(9);
    id.writeUInt32LE(7, 0);
    expect(statementText(slow(Command.STMT_EXECUTE, id), (backendId) => (backendId === 7 ? 'select * from t where id = ?' : null))).toBe(
      'select * from t where id = ?',
    );
    expect(statementText(slow(Command.STMT_EXECUTE, id), () => null)).toBe('COM_STMT_EXECUTE');
    expect(statementText(slow(Command.PING, null), () => null)).toBe('COM_PING');
    expect(commandName(0x99)).toBe('command 0x99');
  });

  it('cuts long text to 1 KB without splitting a character', () => {
    const long = `select '${'é'.repeat(600)}'`;
    const cut = cutText(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1024 + 3);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\ufffd');
    expect(cutText('select 1')).toBe('select 1');
  });

  it('keeps at most 1 KB of a long statement', () => {
    const { clock, slow: reports } = clockWith(1);
    const payload = query(`select '${'x'.repeat(5000)}'`);
    vi.useFakeTimers({ toFake: ['performance'] });
    clock.start(payload, 0, payload.length, 0);
    vi.advanceTimersByTime(5);
    clock.end(0, false);
    vi.useRealTimers();
    expect(reports[0].text!.length).toBe(1024);
  });
});
