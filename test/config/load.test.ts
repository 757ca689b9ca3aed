import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  loadConfigFileWithWarnings,
  parseConfigText,
  parseConfigTextWithWarnings,
} from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { configProblems } from './problems.js';

const fixture = (name: string) => path.join(import.meta.dirname, 'fixtures', name);

const CONFIG_PATH = '/srv/mysqlda/etc/mysqlda.conf';

/** A small valid config as a plain object, for tests to alter. */
function baseConfig(): Record<string, any> {
  return {
    server: { listen_ip: '127.0.0.1', listen_port: 13306 },
    auth: { user: 'app', pass: 'Pw-1Secret', db: 'appdb' },
    session_pool: { unused_forward_session_timeout: 60 },
    forwards: [
      { instance: 'lib_a', forward: [{ ip: '10.0.0.1', port: 3306 }] },
      { instance: 'lib_b', forward: [{ ip: '10.0.0.2', port: 3306 }] },
    ],
  };
}

function parse(config: unknown) {
  return parseConfigTextWithWarnings(JSON.stringify(config), CONFIG_PATH);
}

const problemsOf = (config: unknown) => configProblems(() => parse(config));

describe('loading mysqlda config files unchanged', () => {
  it('loads the file `mysqlda -a init` writes', async () => {
    const config = await loadConfigFile(fixture('mysqlda-init.conf'));
    expect(config).toMatchObject({
      configPath: fixture('mysqlda-init.conf'),
      listen: { host: '127.0.0.1', port: 13306 },
      auth: { user: 'calvin', password: 'calvin', database: 'calvindb' },
      pool: {
        idleTimeoutSeconds: 60,
        maxConnectionsPerServer: DEFAULTS.maxConnectionsPerServer,
        connectTimeoutMs: DEFAULTS.connectTimeoutMs,
      },
      saveDir: path.dirname(fixture('mysqlda-init.conf')),
      libraries: [
        {
          name: 'mysqlda1',
          weight: 1,
          servers: [{ host: '127.0.0.1', port: 3306, user: 'calvin', password: 'calvin', database: 'calvindb' }],
        },
      ],
    });
  });

  it('loads a two-library file in the README style, keeping library and failover order', async () => {
    const { config, warnings } = await loadConfigFileWithWarnings(fixture('two-libraries.conf'));
    expect(config.listen).toEqual({ host: '10.0.0.5', port: 13306 });
    expect(config.libraries.map((l) => [l.name, l.servers.map((s) => s.host)])).toEqual([
      ['mysql_data_1', ['10.0.1.11', '10.0.1.12']],
      ['mysql_data_2', ['10.0.2.11', '10.0.2.12']],
    ]);
    expect(config.libraries[1].servers[0]).toMatchObject({ user: 'app', password: 's3cret-app', database: 'appdb' });
    expect(warnings.filter((w) => !w.startsWith('(file)'))).toEqual([]);
  });

  it("loads the repository's etc/mysqlda.conf, whose comments show the extensions", async () => {
    const file = path.join(import.meta.dirname, '..', '..', 'etc', 'mysqlda.conf');
    const { config, warnings } = await loadConfigFileWithWarnings(file);
    expect(config.libraries.map((l) => l.name)).toEqual(['mysqlda1']);
    expect(warnings.filter((w) => !w.startsWith('(file)'))).toEqual([]);
  });

  it('accepts // and /* */ comments', () => {
    const text = `// mysqlda.conf
{ "server" : { "listen_ip" : "127.0.0.1" , /* the proxy port */ "listen_port" : 13306 } ,
  "auth" : { "user" : "app" } , // no password
  "forwards" : [ { "instance" : "a" , "forward" : [ { "ip" : "db1" , "port" : 3306 } ] } ] }`;
    expect(parseConfigText(text, CONFIG_PATH).listen.port).toBe(13306);
  });

  it('accepts ports and timeouts written as strings of digits, as mysqlda did', () => {
    const config = baseConfig();
    config.server.listen_port = '13307';
    config.session_pool.unused_forward_session_timeout = '30';
    config.forwards[0].forward[0].port = '3307';
    const { config: loaded } = parse(config);
    expect([loaded.listen.port, loaded.pool.idleTimeoutSeconds, loaded.libraries[0].servers[0].port]).toEqual([
      13307, 30, 3307,
    ]);
  });

  it('does not truncate "3306x", 3306.9 or negative numbers as mysqlda did', () => {
    const config = baseConfig();
    config.server.listen_port = '3306x';
    config.forwards[0].forward[0].port = 3306.9;
    config.session_pool.unused_forward_session_timeout = -1;
    expect(problemsOf(config)).toEqual([
      'server.listen_port: must be an integer 1..65535, got "3306x"',
      'session_pool.unused_forward_session_timeout: must be an integer 0..2147483, got -1',
      'forwards[0].forward[0].port: must be an integer 1..65535, got 3306.9',
    ]);
  });

  it('ignores unknown keys with a warning naming each', () => {
    const config = baseConfig();
    config.server.listen_addr = 'x';
    config.forwards[1].forward[0].weight = 2;
    config.extra = { pass: 'Pw-1Secret' };
    expect(parse(config).warnings).toEqual([
      'extra: unknown key, ignored',
      'server.listen_addr: unknown key, ignored',
      'forwards[1].forward[0].weight: unknown key, ignored',
    ]);
  });

  it('warns about a key given twice; the last value is used', () => {
    const text = JSON.stringify(baseConfig()).replace('"listen_port":13306', '"listen_port":1,"listen_port":13306');
    const { config, warnings } = parseConfigTextWithWarnings(text, CONFIG_PATH);
    expect(config.listen.port).toBe(13306);
    expect(warnings).toEqual(['server.listen_port: given more than once; the last value is used']);
  });
});

describe('defaults', () => {
  it('fills every optional key from schema.ts', () => {
    const config = baseConfig();
    delete config.session_pool;
    delete config.auth.pass;
    delete config.auth.db;
    const { config: loaded } = parse(config);
    expect(loaded.pool).toEqual({ idleTimeoutSeconds: 60, maxConnectionsPerServer: 100, connectTimeoutMs: 3000, maxResetDelayMs: 5 });
    expect(loaded.auth).toEqual({ user: 'app', password: '', database: '' });
    expect(loaded.saveDir).toBe('/srv/mysqlda/etc');
    expect(loaded.libraries.map((l) => l.weight)).toEqual([1, 1]);
  });

  it('keeps an explicit idle timeout of 0 (idle backend connections are closed at once)', () => {
    const config = baseConfig();
    config.session_pool.unused_forward_session_timeout = 0;
    expect(parse(config).config.pool.idleTimeoutSeconds).toBe(0);
  });

  it('maps listen_ip "" to every address, as mysqlda did', () => {
    const config = baseConfig();
    config.server.listen_ip = '';
    expect(parse(config).config.listen.host).toBe('0.0.0.0');
  });

  it('listens on loopback when listen_ip is absent, and warns that mysqlda did otherwise', () => {
    const config = baseConfig();
    delete config.server.listen_ip;
    const { config: loaded, warnings } = parse(config);
    expect(loaded.listen.host).toBe('127.0.0.1');
    expect(warnings).toEqual([expect.stringMatching(/^server\.listen_ip: absent: listening on 127\.0\.0\.1 only/)]);
  });

  it('resolves a relative config path against the current directory', () => {
    const { config } = parseConfigTextWithWarnings(JSON.stringify(baseConfig()), 'etc/mysqlda.conf');
    expect(config.configPath).toBe(path.resolve('etc/mysqlda.conf'));
    expect(config.saveDir).toBe(path.resolve('etc'));
  });
});

describe('extensions', () => {
  it('forwards[].weight sets a library share of new keys', () => {
    const config = baseConfig();
    config.forwards[0].weight = 3;
    config.forwards[1].weight = 0.5;
    expect(parse(config).config.libraries.map((l) => l.weight)).toEqual([3, 0.5]);
  });

  it('per-server user, pass and db override auth.* for that backend only', () => {
    const config = baseConfig();
    config.forwards[1].forward = [
      { ip: '10.0.0.1', port: 3306, db: 'lib_b_db' },
      { ip: '10.0.0.3', port: 3306, user: 'replica', pass: '' },
    ];
    const { config: loaded, warnings } = parse(config);
    expect(loaded.libraries[1].servers).toMatchObject([
      { host: '10.0.0.1', port: 3306, user: 'app', password: 'Pw-1Secret', database: 'lib_b_db', tls: null },
      { host: '10.0.0.3', port: 3306, user: 'replica', password: '', database: 'appdb', tls: null },
    ]);
    expect(loaded.auth).toEqual({ user: 'app', password: 'Pw-1Secret', database: 'appdb' });
    expect(warnings).toEqual([]);
  });

  it('warns when two libraries would share one database of one server', () => {
    const config = baseConfig();
    config.forwards[1].forward[0].ip = '10.0.0.1';
    expect(parse(config).warnings).toEqual([
      'forwards[1].forward[0]: same server and database "appdb" as forwards[0].forward[0] (library "lib_a"): the two libraries share their tables',
    ]);
  });

  it('session_pool.max_connections_per_server, connect_timeout_ms and max_reset_delay_ms', () => {
    const config = baseConfig();
    config.session_pool.max_connections_per_server = 8;
    config.session_pool.connect_timeout_ms = 250;
    config.session_pool.max_reset_delay_ms = 0;
    expect(parse(config).config.pool).toEqual({ idleTimeoutSeconds: 60, maxConnectionsPerServer: 8, connectTimeoutMs: 250, maxResetDelayMs: 0 });
    config.session_pool.max_reset_delay_ms = 5000;
    expect(() => parse(config)).toThrow(/max_reset_delay_ms/);
  });

  it('storage.save_dir is taken relative to the config file directory', () => {
    const config = baseConfig();
    config.storage = { save_dir: '../var' };
    expect(parse(config).config.saveDir).toBe('/srv/mysqlda/var');
    config.storage = { save_dir: '/data/mysqlda' };
    expect(parse(config).config.saveDir).toBe('/data/mysqlda');
  });
});

describe('validation', () => {
  it('reports every problem at once, each with its JSON path', () => {
    const config = baseConfig();
    config.server = { listen_ip: 'not an ip!', listen_port: 0 };
    config.auth.user = '';
    config.session_pool = {
      unused_forward_session_timeout: 'soon',
      max_connections_per_server: 0,
      connect_timeout_ms: 99,
    };
    config.storage = { save_dir: '' };
    config.forwards = [
      { instance: 'lib a', weight: 0, forward: [{ ip: '10.0.0.1', port: 70000 }] },
      { instance: 'x'.repeat(65), forward: [] },
      { instance: 'lib_c', weight: -1, forward: [{ ip: '', port: 3306 }, { port: 3306 }, 'db1:3306'] },
      { instance: 'lib_c', forward: [{ ip: 'DB1', port: 3306 }, { ip: 'db1', port: '3306' }] },
      { forward: [{ ip: '300.1.1.1', port: 3306, user: '' }] },
      [],
    ];
    expect(problemsOf(config)).toEqual([
      'server.listen_ip: must be an IP address or host name, got "not an ip!"',
      'server.listen_port: must be an integer 1..65535, got 0',
      'auth.user: must not be empty',
      'session_pool.unused_forward_session_timeout: must be an integer 0..2147483, got "soon"',
      'session_pool.max_connections_per_server: must be an integer >= 1, got 0',
      'session_pool.connect_timeout_ms: must be an integer 100..2147483647, got 99',
      'storage.save_dir: must not be empty',
      "forwards[0].instance: may hold only letters, digits, '_', '.' and '-' (it is written into save files), got \"lib a\"",
      'forwards[0].weight: must be a number > 0, got 0',
      'forwards[0].forward[0].port: must be an integer 1..65535, got 70000',
      'forwards[1].instance: must be at most 64 characters, got 65',
      'forwards[1].forward: must not be empty (an array of servers, master first)',
      'forwards[2].weight: must be a number > 0, got -1',
      'forwards[2].forward[0].ip: must be an IP address or host name, got ""',
      'forwards[2].forward[1].ip: required (a string)',
      'forwards[2].forward[2]: must be an object, got "db1:3306"',
      'forwards[3].instance: library name "lib_c" is used twice (also forwards[2].instance)',
      'forwards[3].forward[1]: server db1:3306 is listed twice in this library (also forwards[3].forward[0])',
      'forwards[4].instance: required (a string)',
      'forwards[4].forward[0].ip: must be an IP address or host name, got "300.1.1.1"',
      'forwards[4].forward[0].user: must not be empty',
      'forwards[5]: must be an object, got an array',
    ]);
  });

  it('throws one ConfigError whose message joins the problems', () => {
    const config = baseConfig();
    delete config.server.listen_port;
    delete config.forwards;
    const error = (() => {
      try {
        parse(config);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.configPath).toBe(CONFIG_PATH);
    expect(error?.problems).toEqual([
      'server.listen_port: required (an integer 1..65535)',
      'forwards: required (an array of libraries)',
    ]);
    expect(error?.message).toBe(`invalid configuration ${CONFIG_PATH}: ${error?.problems.join('; ')}`);
  });

  it('rejects an empty forwards list and sections of the wrong type', () => {
    expect(problemsOf({ server: [], auth: 'app', session_pool: 5, forwards: [] })).toEqual([
      'server: must be an object, got an array',
      'auth: must be an object, got "app"',
      'session_pool: must be an object, got 5',
      'forwards: must not be empty (an array of libraries)',
    ]);
  });

  it('rejects a document that is not an object', () => {
    expect(problemsOf([1])).toEqual(['(top level): must be a JSON object, got an array']);
  });

  it('reports a JSON syntax error with line and column', () => {
    expect(() => parseConfigText('{\n  "server": {\n    "listen_port": 13306,\n  }\n}', CONFIG_PATH)).toThrow(
      expect.objectContaining({ problems: ["JSON syntax error at line 4, column 3: trailing comma before '}'"] }),
    );
  });

  it('accepts host names and IPv6 literals', () => {
    const config = baseConfig();
    config.server.listen_ip = '::1';
    config.forwards[0].forward[0].ip = 'db-1.example.internal';
    config.forwards[1].forward[0].ip = 'mysql_b';
    expect(parse(config).config.libraries.map((l) => l.servers[0].host)).toEqual(['db-1.example.internal', 'mysql_b']);
  });

  it('never repeats a password in a problem or a warning', () => {
    const config = baseConfig();
    config.auth.pass = 12345678;
    config.forwards[0].forward[0].pass = ['Pw-1Secret'];
    config.forwards[1].forward[0].pass = { nested: 'Pw-1Secret' };
    config.forwards[1].forward[0].secret = 'Pw-1Secret';
    const problems = problemsOf(config);
    expect(problems).toEqual([
      'auth.pass: must be a string, got a number',
      'forwards[0].forward[0].pass: must be a string, got an array',
      'forwards[1].forward[0].pass: must be a string, got an object',
    ]);
    expect(problems.join('\n')).not.toMatch(/12345678|Pw-1Secret/);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a missing file as a ConfigError', async () => {
    const file = path.join(dir, 'nope.conf');
    await expect(loadConfigFile(file)).rejects.toMatchObject({
      name: 'ConfigError',
      problems: ['cannot read the file: no such file'],
      configPath: file,
    });
  });

  it('warns when the file is readable by every user', async () => {
    const file = path.join(dir, 'mysqlda.conf');
    await writeFile(file, await readFile(fixture('mysqlda-init.conf')));
    await chmod(file, 0o644);
    expect((await loadConfigFileWithWarnings(file)).warnings).toEqual([
      '(file): readable by every user although it holds passwords; chmod 600 it',
    ]);
    await chmod(file, 0o600);
    expect((await loadConfigFileWithWarnings(file)).warnings).toEqual([]);
  });
});
