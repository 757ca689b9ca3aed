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

describe('SessionRules joined into one pattern', () => {
  it('refuses what some rule matches and names the first one, and passes the rest', () => {
    const book = new RuleBook([rule({ name: 'a', match: '^\\s*drop\\s' }), rule({ name: 'b', match: 'outfile' }), rule({ name: 'c', match: 'drop' })]);
    const rules = book.forSession('app', 'lib1')!;
    expect(rules.blocking('DROP TABLE t')?.name).toBe('a');
    expect(rules.blocking('select 1 into outfile "x"')?.name).toBe('b');
    expect(rules.blocking('select "drop"')?.name).toBe('c');
    expect(rules.blocking('select 1')).toBeNull();
  });

  it('keeps each rule on its own where joining would change what it means (backreferences, repeated group names)', () => {
    const book = new RuleBook([rule({ name: 'twice', match: '(\\w)\\1x' }), rule({ name: 'named', match: '(?<w>zz)' }), rule({ name: 'again', match: '(?<w>yy)' })]);
    const rules = book.forSession('app', 'lib1')!;
    expect(rules.blocking('select aax')?.name).toBe('twice');
    expect(rules.blocking('select abx')).toBeNull();
    expect(rules.blocking('select yy')?.name).toBe('again');
  });
});
