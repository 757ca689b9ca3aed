import type { RefusalReason } from '../guard/front-door.js';

/**
 * What happens inside the proxy, as events for metrics and logs to subscribe to. Emitted at session and
 * backend boundaries (connect, route, close, failover), never per packet: the splice stays free of it.
 */
export interface ProxyEventMap {
  /** A client opened a TCP connection. */
  'client-connected': { client: string };
  /** A client was turned away before login finished (bad handshake, too many connections, TLS required). */
  'client-rejected': { client: string; reason: string };
  'auth-failed': { client: string; user: string };
  /** A limit of the front door turned a client or a command away (see guard/front-door.ts). */
  'client-refused': { reason: RefusalReason };
  /** An SQL rule refused a statement. */
  'rule-blocked': { rule: string };
  'session-opened': { session: number; user: string };
  /** A session was spliced onto a library (previous: the library it left, if any). */
  'session-routed': { session: number; library: string; previous: string | null };
  /** Traffic of a session while on one library; emitted when it leaves the library or closes. */
  traffic: { library: string | null; commands: number; bytesIn: number; bytesOut: number };
  'session-closed': { session: number; library: string | null; durationMs: number };
  /** A new key got its library (after the save file was synced). */
  assignment: { library: string };
  /** A backend connection attempt ended. */
  'backend-connect': { server: string; library: string; ms: number; ok: boolean };
  /** A read session (`for read`, users[].reads) found no replica fresh enough and reads on the current server. */
  'replica-read-fallback': { library: string };
  /** A session whose server died while it was idle outside a transaction moved on to its library's current server. */
  'session-masked': { library: string };
  /** A library's current server changed. */
  failover: { library: string; from: string | null; to: string };
  /** A backend server's health changed (health monitor, or a session's refused connect). */
  'server-health': { server: string; from: 'up' | 'down' | 'unknown'; to: 'up' | 'down' | 'unknown' };
  /** A config reload was applied (ok) or rejected as a whole. */
  reload: { ok: boolean; changes: number };
}

type Listener<K extends keyof ProxyEventMap> = (event: ProxyEventMap[K]) => void;

/** A small typed event bus. A listener that throws is isolated: it never breaks the emitter. */
export class ProxyEvents {
  private readonly listeners = new Map<keyof ProxyEventMap, Listener<never>[]>();

  on<K extends keyof ProxyEventMap>(name: K, listener: Listener<K>): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(listener as Listener<never>);
    this.listeners.set(name, list);
    return () => {
      const index = list.indexOf(listener as Listener<never>);
      if (index !== -1) list.splice(index, 1);
    };
  }

  emit<K extends keyof ProxyEventMap>(name: K, event: ProxyEventMap[K]): void {
    const list = this.listeners.get(name);
    if (!list) return;
    for (const listener of list) {
      try {
        (listener as Listener<K>)(event);
      } catch {
        // an observer's bug must not break a session
      }
    }
  }
}
