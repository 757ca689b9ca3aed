import { afterEach, describe, expect, it } from 'vitest';
import { AdminHttpServer } from '../../src/admin/admin-http.js';
import { ProxyMetrics } from '../../src/admin/metrics.js';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { fakeControl } from './fake-control.js';

let server: AdminHttpServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(control = fakeControl()) {
  const metrics = new ProxyMetrics(new ProxyEvents(), { status: control.status, sessions: control.sessions, pools: () => [] });
  server = await AdminHttpServer.listen('127.0.0.1', 0, control, metrics);
  const base = `http://127.0.0.1:${server.address.port}`;
  return { control, base };
}

describe('admin HTTP listener', () => {
  it('serves /metrics in the Prometheus text format', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('mysqlda_keys{library="lib_a"} 10');
  });

  it('serves /healthz: 503 with the reason when not ready, 200 ok when ready', async () => {
    const { base } = await start();
    const down = await fetch(`${base}/healthz`);
    expect([down.status, await down.text()]).toEqual([503, 'unavailable: library lib_b has no server up (10.0.1.1:3306 down)\n']);
    await server!.close();
    const ready = await start(fakeControl({ readiness: () => ({ ready: true, reason: 'ok' }) }));
    const up = await fetch(`${ready.base}/healthz`);
    expect([up.status, await up.text()]).toEqual([200, 'ok\n']);
  });

  it('answers /healthz 200 with the reason while the shared directory is unavailable (known keys still route)', async () => {
    const { base } = await start(fakeControl({ readiness: () => ({ ready: true, reason: 'ok', degraded: 'directory 10.0.9.1:3306 unavailable: connect ECONNREFUSED' }) }));
    const degraded = await fetch(`${base}/healthz`);
    expect([degraded.status, await degraded.text()]).toEqual([200, 'ok (degraded: directory 10.0.9.1:3306 unavailable: connect ECONNREFUSED)\n']);
  });

  it('answers /healthz 503 "draining" while mysqlda drains, so load balancers move traffic away', async () => {
    const { base } = await start(fakeControl({ readiness: () => ({ ready: false, reason: 'draining', draining: true }) }));
    const draining = await fetch(`${base}/healthz`);
    expect([draining.status, await draining.text()]).toEqual([503, 'draining\n']);
  });

  it('serves /status as JSON', async () => {
    const { base } = await start();
    const response = await fetch(`${base}/status`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ pid: 42, libraries: [{ name: 'lib_a', currentServer: '10.0.0.2:3306' }, { name: 'lib_b' }] });
  });

  it('fails a library back on POST /failback, and reloads on POST /reload', async () => {
    const { base, control } = await start();
    const moved = await fetch(`${base}/failback?library=lib_a&to=10.0.0.1:3306`, { method: 'POST' });
    expect([moved.status, await moved.json()]).toEqual([200, { ok: true, moved: true, message: 'library lib_a moved from 10.0.0.2:3306 to 10.0.0.1:3306' }]);
    const refused = await fetch(`${base}/failback?library=nope`, { method: 'POST' });
    expect([refused.status, await refused.json()]).toEqual([409, { ok: false, error: "no library is called 'nope'" }]);
    expect((await fetch(`${base}/failback`, { method: 'POST' })).status).toBe(400);
    await fetch(`${base}/failback?library=lib_a&to=10.0.0.2:3306&force=1`, { method: 'POST' });
    await fetch(`${base}/failback?library=lib_a&force=1`, { method: 'POST' }); // force needs a server to force
    const reloaded = await fetch(`${base}/reload`, { method: 'POST' });
    expect(await reloaded.json()).toEqual({ ok: true, message: 'applied 1 change(s)', changes: ['library lib_c added'] });
    expect(control.actions).toEqual(['failback lib_a 10.0.0.1:3306', 'failback nope (first)', 'failback lib_a 10.0.0.2:3306 force', 'failback lib_a (first)', 'reload']);
  });

  it('refuses GET on actions and answers 404 elsewhere', async () => {
    const { base, control } = await start();
    expect((await fetch(`${base}/failback?library=lib_a`)).status).toBe(405);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect(control.actions).toEqual([]);
  });

  it('reports a port in use as a clear error', async () => {
    const { control } = await start();
    const metrics = new ProxyMetrics(new ProxyEvents(), { status: control.status, sessions: control.sessions, pools: () => [] });
    await expect(AdminHttpServer.listen('127.0.0.1', server!.address.port, control, metrics)).rejects.toThrow(
      `cannot listen on 127.0.0.1:${server!.address.port} for admin HTTP: the address is already in use`,
    );
  });
});
