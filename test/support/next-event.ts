import type { ProxyEventMap, ProxyEvents } from '../../src/observability/proxy-events.js';

/** Resolves with the first event of that name passing `test` (rejects after 20 s). */
export function nextEvent<K extends keyof ProxyEventMap>(events: ProxyEvents, name: K, test: (event: ProxyEventMap[K]) => boolean): Promise<ProxyEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event in time`)), 20_000);
    const off = events.on(name, (event) => {
      if (!test(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}
