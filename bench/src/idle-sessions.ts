/**
 * Memory of the proxy holding many idle clients (driven by mysql2, since sysbench cannot hold thousands of idle
 * connections): either routed sessions, each with `select library` done and so a backend connection of its own,
 * or clients that logged in and sent nothing (in the lobby, no backend connection). Each measurement uses a proxy
 * process of its own, so that nothing measured before inflates its RSS.
 */
import mysql from 'mysql2/promise';
import { rssBytes } from './proc-stats.js';
import type { Stage } from './stage.js';

export interface IdleMemory {
  clients: number;
  /** RSS of a fresh proxy process before any client connected. */
  baselineRssBytes: number;
  /** RSS with every client connected (and routed, for routed sessions) and quiet for a second. */
  rssBytes: number;
  /** How long connecting (and routing) every client took. */
  connectSeconds: number;
}

/** Clients opened at once: enough to be quick, few enough not to hit the listen backlog or the handshake timeout. */
const CONCURRENCY = 64;
const SETTLE_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function measureIdleClients(stage: Stage, clients: number, routed: boolean): Promise<IdleMemory> {
  const proxy = await stage.startProxy(routed ? 'idle-routed' : 'idle-unrouted');
  const connections: mysql.Connection[] = [];
  try {
    await sleep(SETTLE_MS);
    const baselineRssBytes = rssBytes(proxy.process.pid);
    const began = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < clients) {
        const index = next++;
        const connection = await mysql.createConnection({
          host: '127.0.0.1',
          port: proxy.port,
          ...stage.account,
          // mysql2's prepared-statement cache (16,000 entries by default) preallocates about 500 KB of heap per
          // connection: 10,000 of them would not fit in this process's heap. These clients never prepare.
          maxPreparedStatements: 1,
        });
        connection.on('error', () => {});
        connections.push(connection);
        if (routed) await connection.query(`select library idle${index}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, clients) }, worker));
    const connectSeconds = (performance.now() - began) / 1000;
    await sleep(SETTLE_MS);
    if (!proxy.process.running) throw new Error(`the proxy exited while holding ${clients} clients:\n${proxy.process.outputTail}`);
    return { clients, baselineRssBytes, rssBytes: rssBytes(proxy.process.pid), connectSeconds };
  } finally {
    for (const connection of connections) connection.destroy();
    await stage.stopProxy(proxy.process);
  }
}
