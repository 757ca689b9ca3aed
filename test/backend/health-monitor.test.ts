import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError } from '../../src/backend/backend-connection.js';
import { classifyConnectFailure } from '../../src/backend/connect-failure.js';
import { HealthMonitor, probeServer, readOnlyFrom, type Probe } from '../../src/backend/health-monitor.js';
import { ServerHealthBook, type HealthObservation } from '../../src/backend/server-health.js';
import type { ServerConfig } from '../../src/config/types.js';
import { encodeTextResultSet } from '../../src/protocol/result-set.js';

const server = (port: number, host = '127.0.0.1'): ServerConfig => ({ host, port, user: 'u', password: 'p', database: 'd', tls: null });
const settings = { intervalMs: 100, timeoutMs: 50, failThreshold: 2, riseThreshold: 2 };

describe('readOnlyFrom', () => {
  it('reads @@read_only from a one-row result set, with or without DEPRECATE_EOF', () => {
    for (const deprecateEof of [false, true]) {
      expect(readOnlyFrom(encodeTextResultSet([{ name: '@@read_only' }], [['1']], 2, deprecateEof))).toBe(true);
      expect(readOnlyFrom(encodeTextResultSet([{ name: '@@read_only' }], [['0']], 2, deprecateEof))).toBe(false);
      expect(readOnlyFrom(encodeTextResultSet([{ name: '@@read_only' }], [[null]], 2, deprecateEof))).toBeNull();
    }
    expect(readOnlyFrom([Buffer.from([0x00, 0, 0, 2, 0, 0, 0])])).toBeNull();
  });
});

describe('classifyConnectFailure', () => {
  it('tells a dead server from a living one that said no, and from a full pool', () => {
    const error = (message: string, serverError?: { code: number; sqlState: string; message: string }) => new BackendError(message, 'x:1', serverError);
    expect(classifyConnectFailure(error('cannot connect to x:1: connect ECONNREFUSED 127.0.0.1:1'))).toBe('unreachable');
    expect(classifyConnectFailure(error('x:1 closed the connection during the handshake'))).toBe('unreachable');
    expect(classifyConnectFailure(error('connect to x:1 timed out after 100 ms'))).toBe('uncertain');
    expect(classifyConnectFailure(error('cannot connect to x:1: getaddrinfo ENOTFOUND x'))).toBe('uncertain');
    expect(classifyConnectFailure(error('x:1 refused the login: Too many connections (1040)', { code: 1040, sqlState: 'HY000', message: 'Too many connections' }))).toBe('answered');
    const refusal = (code: number) => error(`x:1 refused the connection: no (${code})`, { code, sqlState: 'HY000', message: 'no' });
    for (const code of [1040, 1203, 1226, 1129, 1045]) expect(classifyConnectFailure(refusal(code))).toBe('answered');
    expect(classifyConnectFailure(refusal(1053))).toBe('unreachable'); // shutdown in progress: going away
    expect(classifyConnectFailure(error('a pooled connection to x:1 timed out after 500 ms'))).toBe('uncertain');
    expect(classifyConnectFailure(error('all 3 connections to x:1 are busy'))).toBe('pool');
    expect(classifyConnectFailure(error('pool is closed'))).toBe('pool');
  });
});

describe('probeServer', () => {
  const servers: net.Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  it('reports a refused port as conclusive, a silent one as a timeout', async () => {
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    servers.push(silent);
    await new Promise((resolve) => silent.once('listening', resolve));
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    expect(await probeServer(server(closedPort), 200)).toMatchObject({ ok: false, conclusive: true });
    expect(await probeServer(server((silent.address() as net.AddressInfo).port), 100)).toMatchObject({
      ok: false,
      conclusive: false,
      error: expect.stringContaining('timed out after 100 ms'),
    });
  });
});

describe('HealthMonitor', () => {
  let monitor: HealthMonitor | null = null;
  afterEach(async () => {
    await monitor?.stop();
    monitor = null;
  });

  it('checks each host:port once per round, with the first listing, and records the results', async () => {
    const book = new ServerHealthBook(settings);
    const probed: string[] = [];
    const probe: Probe = async (target) => {
      probed.push(`${target.host}:${target.port}/${target.database}`);
      return target.port === 2 ? { ok: false, error: 'refused', conclusive: true } : { ok: true, readOnly: target.port === 3 };
    };
    monitor = new HealthMonitor(book, settings, probe);
    monitor.setServers([server(1), server(2), { ...server(1), database: 'other' }, server(3)]);
    await monitor.checkNow();
    expect(probed).toEqual(['127.0.0.1:1/d', '127.0.0.1:2/d', '127.0.0.1:3/d']);
    expect(book.entries().map(([address, health]) => [address, health.status, health.readOnly])).toEqual([
      ['127.0.0.1:1', 'up', false],
      ['127.0.0.1:2', 'down', null],
      ['127.0.0.1:3', 'up', true],
    ]);
  });

  it('runs rounds on the interval without overlapping them, and a probe that throws counts as a failure', async () => {
    const book = new ServerHealthBook(settings);
    let inFlight = 0;
    let maxInFlight = 0;
    let rounds = 0;
    const probe: Probe = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      rounds++;
      await new Promise((resolve) => setTimeout(resolve, 150)); // longer than the interval
      inFlight--;
      throw new Error('boom');
    };
    monitor = new HealthMonitor(book, settings, probe);
    monitor.setServers([server(1)]);
    const changed = new Promise<void>((resolve) => book.onChange(() => resolve()));
    monitor.start();
    await changed;
    expect(book.get('127.0.0.1:1')).toMatchObject({ status: 'down', lastError: 'boom' });
    expect(rounds).toBeGreaterThanOrEqual(2);
    expect(maxInFlight).toBe(1);
  });

  it('drops the results of a round that ends after stop()', async () => {
    const book = new ServerHealthBook(settings);
    let release!: (observation: HealthObservation) => void;
    const probe: Probe = () => new Promise((resolve) => (release = resolve));
    monitor = new HealthMonitor(book, settings, probe);
    monitor.setServers([server(1)]);
    const round = monitor.checkNow();
    const stopped = monitor.stop();
    release({ ok: true, readOnly: false });
    await Promise.all([round, stopped]);
    expect(book.status('127.0.0.1:1')).toBe('unknown');
  });
});
