import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, resolveConfigPath } from '../../src/config/locate.js';

describe('defaultConfigPath', () => {
  it('prefers etc/mysqlda.conf under the current directory when it exists', () => {
    const exists = (file: string) => file === '/opt/app/etc/mysqlda.conf';
    expect(defaultConfigPath({ cwd: '/opt/app', home: '/home/calvin', exists })).toBe('/opt/app/etc/mysqlda.conf');
  });

  it('falls back to $HOME/etc/mysqlda.conf, as mysqlda did', () => {
    expect(defaultConfigPath({ cwd: '/opt/app', home: '/home/calvin', exists: () => false })).toBe(
      '/home/calvin/etc/mysqlda.conf',
    );
  });
});

describe('resolveConfigPath', () => {
  it('resolves -f against the current directory', () => {
    expect(resolveConfigPath('conf/my.conf', { cwd: '/opt/app' })).toBe('/opt/app/conf/my.conf');
    expect(resolveConfigPath('/etc/mysqlda.conf', { cwd: '/opt/app' })).toBe('/etc/mysqlda.conf');
  });

  it('uses the default without -f', () => {
    expect(resolveConfigPath(undefined, { cwd: '/opt/app', home: '/h', exists: () => false })).toBe(
      path.join('/h', 'etc', 'mysqlda.conf'),
    );
  });
});
