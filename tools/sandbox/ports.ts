import { createServer } from 'node:net';

/** Ports handed out recently: servers started in parallel must not be offered the same port twice. */
const recentlyHandedOut = new Set<number>();
const MAX_REMEMBERED = 256;

function askKernelForPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A TCP port on 127.0.0.1 that is free right now (someone may still take it before it is used). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await askKernelForPort(host);
    if (recentlyHandedOut.has(port)) continue;
    recentlyHandedOut.add(port);
    if (recentlyHandedOut.size > MAX_REMEMBERED) recentlyHandedOut.delete(recentlyHandedOut.values().next().value!);
    return port;
  }
  throw new Error('could not find a free TCP port');
}

/** True when `port` can be listened on at `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}
