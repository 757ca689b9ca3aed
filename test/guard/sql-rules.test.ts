import { describe, expect, it } from 'vitest';
import type { SqlRuleConfig } from '../../src/config/types.js';
import { RuleBook } from '../../src/guard/sql-rules.js';

const rule = (overrides: Partial<SqlRuleConfig>): SqlRuleConfig => ({ name: 'r', match: 'x', users: null, libraries: null, action: 'block', message: 'm', ...overrides });

describe('RuleBook', () => {
  const book = new RuleBook([
    rule({ name: 'drop', match: '^\\s*drop\\s' }),
    rule({ name: 'reporter-lib1', match: 'from\\s+orders', users: ['reporter'], libraries: ['lib1'] }),
    rule({ name: 'ops', match: 'sleep\\(', users: ['ops'] }),
  ]);

  it('gives each account and library only the rules that apply, case-insensitively, first match first', () => {
    expect(book.forSession('app', 'lib1')?.blocking('DROP TABLE t')?.name).toBe('drop');
    expect(book.forSession('app', 'lib1')?.blocking('select * from orders')).toBeNull();
    expect(book.forSession('reporter', 'lib1')?.blocking('SELECT * FROM orders')?.name).toBe('reporter-lib1');
    expect(book.forSession('reporter', 'lib2')?.blocking('select * from orders')).toBeNull();
    expect(book.forSession('reporter', null)?.blocking('select * from orders')).toBeNull();
    expect(book.forSession('ops', null)?.blocking('select sleep(1)')?.name).toBe('ops');
  });

  it('costs a session nothing when no rule applies to it', () => {
    const narrow = new RuleBook([rule({ users: ['someone'] })]);
    expect(narrow.forSession('app', 'lib1')).toBeNull();
    expect(new RuleBook([]).forSession('app', null)).toBeNull();
  });

  it('keeps no state between statements (no global flag)', () => {
    const rules = book.forSession('app', 'lib1')!;
    expect([1, 2, 3].map(() => rules.blocking('drop table t')?.name)).toEqual(['drop', 'drop', 'drop']);
  });
});
