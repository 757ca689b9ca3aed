/**
 * The admin HTTP listener (off unless `"admin": {"http": "host:port"}`):
 *
 *   GET  /metrics                         Prometheus text format
 *   GET  /healthz                         200 "ok" when ready, 503 "draining" while stopping, else 503 with the reason
 *   GET  /status                          the proxy's status as JSON (as `mysqlda status`)
 *   POST /failback?library=<name>[&to=<host:port>[&force=1]]   the operator's failback, JSON answer
 *   POST /reload                          re-read the config file, JSON ReloadResult
 *
 * It has no authentication: bind it to a loopback address (the config warns otherwise).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxyStatus, ReloadResult } from '../observability/status.js';
import type { AdminControl, FailbackOutcome } from './admin-control.js';

/**
 * What the listener serves: one proxy's AdminControl and ProxyMetrics, or the primary of a group of workers,
 * which has to ask them (hence the promises).
 */
export type AdminHttpControl = {
  [K in 'status' | 'readiness' | 'failback']: (...args: Parameters<AdminControl[K]>) => ReturnType<AdminControl[K]> | Promise<ReturnType<AdminControl[K]>>;
} & { reload(): Promise<ReloadResult> };

export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

export type { FailbackOutcome, ProxyStatus };

export class AdminHttpServer {
  private constructor(
    private readonly server: http.Server,
    readonly address: { host: string; port: number },
  ) {}

  static listen(host: string, port: number, control: AdminHttpControl, metrics: MetricsText): Promise<AdminHttpServer> {
    const server = http.createServer((request, response) => {
      handle(request, control, metrics).then(
        (reply) => send(response, reply),
        (err: Error) => send(response, { status: 500, type: 'text/plain', body: `internal error: ${err.message}\n` }),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const reason = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message;
        reject(new Error(`cannot listen on ${host}:${port} for admin HTTP: ${reason}`));
      });
      server.listen({ host, port }, () => {
        const bound = server.address() as AddressInfo;
        resolve(new AdminHttpServer(server, { host: bound.address, port: bound.port }));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

const json = (status: number, value: unknown): Reply => ({ status, type: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` });
const text = (status: number, body: string): Reply => ({ status, type: 'text/plain; charset=utf-8', body });

async function handle(request: http.IncomingMessage, control: AdminHttpControl, metrics: MetricsText): Promise<Reply> {
  const url = new URL(request.url ?? '/', 'http://admin');
  const route = `${request.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'GET /metrics':
      return { status: 200, type: metrics.contentType, body: await metrics.text() };
    case 'GET /healthz': {
      const { ready, reason, draining, degraded } = await control.readiness();
      // While stopping, a bare word that load balancers' body checks can match; sessions are finishing.
      if (draining) return text(503, 'draining\n');
      if (ready) return text(200, degraded ? `ok (degraded: ${degraded})\n` : 'ok\n');
      return text(503, `unavailable: ${reason}\n`);
    }
    case 'GET /status':
      return json(200, await control.status());
    case 'POST /failback': {
      const library = url.searchParams.get('library');
      if (!library) return json(400, { ok: false, error: 'usage: POST /failback?library=<name>[&to=<host:port>]' });
      const force = url.searchParams.get('force') === '1' && url.searchParams.has('to');
      const outcome = await control.failback(library, url.searchParams.get('to') ?? undefined, force);
      return json(outcome.ok ? 200 : 409, outcome);
    }
    case 'POST /reload': {
      const result = await control.reload();
      return json(result.ok ? 200 : 409, result);
    }
  }
  const known = ['/metrics', '/healthz', '/status', '/failback', '/reload'];
  if (known.includes(url.pathname)) return text(405, `method ${request.method} not allowed on ${url.pathname}\n`);
  return text(404, `not found: ${url.pathname} (try /metrics, /healthz, /status)\n`);
}

function send(response: http.ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
  response.end(reply.body);
}
