import type { RunningProxy } from '../../src/server.js';
import type { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { nextEvent } from './next-event.js';
import { connectClient } from './proxy-harness.js';

/** A sandbox server as the proxy names it: `host:port`. */
export const address = (server: MariadbServer) => `${server.host}:${server.port}`;

/** Resolves once the proxy counts `server` as `state` (at once when it already does). */
export function serverState(proxy: RunningProxy, server: MariadbServer, state: 'up' | 'down'): Promise<unknown> {
  const current = proxy.status().libraries.flatMap((l) => l.servers).find((s) => s.address === address(server));
  if (current?.state === state) return Promise.resolve();
  return nextEvent(proxy.events, 'server-health', (event) => event.server === address(server) && event.to === state);
}

/** One admin statement through the proxy's SQL port, as the fixtures' admin account `ops`. */
export async function adminQuery(proxy: RunningProxy, sql: string): Promise<unknown> {
  const admin = await connectClient(proxy.address.port, { user: 'ops', password: 'ops-pw' });
  try {
    const [result] = await admin.query(sql);
    return result;
  } finally {
    await admin.end();
  }
}
