import { describe, expect, it } from 'vitest';
import { SessionHistory } from '../../src/session/session-history.js';

const q = (sql: string) => Buffer.concat([Buffer.from([3]), Buffer.from(sql)]);
const texts = (history: SessionHistory) => history.replayList().map((b) => b.toString('utf8', 1));

describe('SessionHistory', () => {
  it('keeps only settings the server accepted, in the order they were made', () => {
    const history = new SessionHistory();
    const a = history.propose(q('SET a=1'));
    const b = history.propose(q('SET bad syntax'));
    const c = history.propose(q('SET c=3'));
    history.settle(b, false);
    history.settle(a, true);
    history.settle(c, true);
    expect(texts(history)).toEqual(['SET a=1', 'SET c=3']);
  });

  it('moves a repeated setting to the end instead of keeping it twice', () => {
    const history = new SessionHistory();
    for (const sql of ['SET a=1', 'SET b=2', 'SET a=1']) history.add(q(sql));
    expect(texts(history)).toEqual(['SET b=2', 'SET a=1']);
  });

  it('refuses past its limit and forgets everything on clear', () => {
    const history = new SessionHistory(2);
    expect(history.add(q('SET a=1'))).toBe(true);
    expect(history.add(q('SET b=1'))).toBe(true);
    expect(history.add(q('SET c=1'))).toBe(false);
    history.clear();
    expect(history.length).toBe(0);
  });
});
