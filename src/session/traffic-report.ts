import type { ProxyEvents } from '../observability/proxy-events.js';

/** A session's traffic as `traffic` events, per library: each report carries what passed since the last one. */
export class TrafficReport {
  private reported = { commands: 0, bytesIn: 0, bytesOut: 0 };

  /** Reports the counts since the last report against `library` (the one the session is leaving or closing on). */
  report(events: ProxyEvents, library: string | null, commands: number, bytesIn: number, bytesOut: number): void {
    const delta = { commands: commands - this.reported.commands, bytesIn: bytesIn - this.reported.bytesIn, bytesOut: bytesOut - this.reported.bytesOut };
    this.reported = { commands, bytesIn, bytesOut };
    if (delta.commands || delta.bytesIn || delta.bytesOut) events.emit('traffic', { library, ...delta });
  }
}
