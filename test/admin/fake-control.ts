import type { AdminControl, FailbackOutcome } from '../../src/admin/admin-control.js';
import type { ProxyStatus, ReloadResult } from '../../src/observability/status.js';
import type { SessionSummary } from '../../src/session/client-session.js';

/** An AdminControl over fixed data, recording the actions asked of it. */
export function fakeControl(overrides: Partial<AdminControl> = {}): AdminControl & { actions: string[] } {
  const actions: string[] = [];
  const status: ProxyStatus = {
    version: '1.0.0',
    pid: 42,
    startedAt: '2026-01-01T00:00:00.000Z',
    uptimeSeconds: 5,
    listen: '127.0.0.1:13306',
    admin: '127.0.0.1:13380',
    sessions: { open: 2, routed: 1 },
    directory: { kind: 'mysql', available: false, location: '10.0.9.1:3306', lastError: '10.0.9.1:3306: connect ECONNREFUSED', since: '2026-01-01T00:00:02.000Z', errors: 4 },
    libraries: [
      {
        name: 'lib_a',
        weight: 1,
        keys: 10,
        currentServer: '10.0.0.2:3306',
        currentSince: '2026-01-01T00:00:01.000Z',
        sessions: 1,
        epoch: 3,
        servers: [
          { address: '10.0.0.1:3306', state: 'up', readOnly: false, current: false, lastError: null, leftByFailoverAt: '2026-01-02T03:04:05.000Z' },
          {
            address: '10.0.0.2:3306',
            state: 'up',
            readOnly: true,
            current: true,
            lastError: null,
            replication: {
              replicating: true,
              source: '10.0.0.1:3306',
              ioRunning: false,
              sqlRunning: true,
              lagSeconds: null,
              lastError: "IO thread: Can't connect (2003)",
              gtidExecuted: '0-1-42',
              gtidBinlog: '0-1-42',
              lastKnownLagSeconds: 0,
            },
          },
        ],
      },
      {
        name: 'lib_b',
        weight: 2,
        keys: 3,
        currentServer: null,
        currentSince: null,
        sessions: 0,
        epoch: 1,
        servers: [{ address: '10.0.1.1:3306', state: 'down', readOnly: null, current: true, lastError: 'connect ECONNREFUSED' }],
      },
    ],
    failoverState: { kind: 'mysql', location: '10.0.9.1:3306', reachable: false, lastError: 'connect ECONNREFUSED', since: '2026-01-01T00:00:02.000Z' },
  };
  const sessions: SessionSummary[] = [
    { id: 1, client: '127.0.0.1:5000', user: 'app', library: 'lib_a', key: 'k1', server: '10.0.0.2:3306', startedAt: Date.now() - 3000, bytesFromClient: 100, bytesToClient: 200 },
    { id: 2, client: '127.0.0.1:5001', user: 'ops', library: null, key: null, server: null, startedAt: Date.now(), bytesFromClient: 10, bytesToClient: 20 },
  ];
  return {
    actions,
    status: () => status,
    sessions: () => sessions,
    readiness: () => ({ ready: false, reason: 'library lib_b has no server up (10.0.1.1:3306 down)' }),
    failback: async (library, to, force): Promise<FailbackOutcome> => {
      actions.push(`failback ${library} ${to ?? '(first)'}${force ? ' force' : ''}`);
      if (library === 'lib_a') return { ok: true, moved: true, message: 'library lib_a moved from 10.0.0.2:3306 to 10.0.0.1:3306' };
      return { ok: false, error: `no library is called '${library}'` };
    },
    reload: async (): Promise<ReloadResult> => {
      actions.push('reload');
      return { ok: true, message: 'applied 1 change(s)', changes: ['library lib_c added'] };
    },
    ...overrides,
  };
}
