import { describe, expect, it } from 'vitest';
import { parseExtensionSql } from '../../src/routing/extension-sql.js';

describe('parseExtensionSql: for read [max_lag <seconds>]', () => {
  it.each([
    ['select library k1 for read', { kind: 'select_library', key: 'k1', read: { maxLagSeconds: null } }],
    ['SELECT LIBRARY k1 FOR READ MAX_LAG 5;', { kind: 'select_library', key: 'k1', read: { maxLagSeconds: 5 } }],
    ["select library 'k1' /* c */ for\tread max_lag 0", { kind: 'select_library', key: 'k1', read: { maxLagSeconds: 0 } }],
    ['select library k1 for read max_lag 30 -- note', { kind: 'select_library', key: 'k1', read: { maxLagSeconds: 30 } }],
    [
      'select library_by_correl_object order 42 for read max_lag 2',
      { kind: 'select_library_by_correl_object', correlClass: 'order', object: '42', read: { maxLagSeconds: 2 } },
    ],
  ])('accepts %j', (sql, command) => {
    expect(parseExtensionSql(sql)).toEqual({ ok: true, command });
  });

  it('leaves `read` out of a plain select library', () => {
    expect(parseExtensionSql('select library k1')).toEqual({ ok: true, command: { kind: 'select_library', key: 'k1' } });
  });

  it.each([
    ['select library k1 for', "expected 'read' after 'for'"],
    ['select library k1 for write', "expected 'read' after 'for'"],
    ['select library k1 for read max_lag', 'max_lag takes whole seconds from 0 to 86400'],
    ['select library k1 for read max_lag -1', 'max_lag takes whole seconds from 0 to 86400'],
    ['select library k1 for read max_lag 1.5', 'max_lag takes whole seconds from 0 to 86400'],
    ['select library k1 for read max_lag 86401', 'max_lag takes whole seconds from 0 to 86400'],
    ['select library k1 for read max_lag 5 extra', 'unexpected text after <key>'],
    ['select library k1 fork', 'unexpected text after <key>'],
    ['set correl_object order 42 k1 for read', 'unexpected text after <key>'],
    ["show library for read", "unexpected text after 'show library'"],
  ])('refuses %j: %s', (sql, message) => {
    expect(parseExtensionSql(sql)).toEqual({ ok: false, message });
  });
});
