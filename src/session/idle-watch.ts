/**
 * client_idle_timeout_s, checked by a periodic sweep rather than a timer per command (nothing on the hot path):
 * a session counts as idle from the first sweep that finds no new bytes from its client and no command in progress.
 */
export class IdleWatch {
  /** What the client had sent at the last sweep that saw it busy, and when. */
  private mark = { bytes: -1, since: 0 };

  /** Whether the session has been idle for `timeoutMs` at this sweep. */
  expired(now: number, timeoutMs: number, bytesFromClient: number, busy: boolean): boolean {
    if (busy || bytesFromClient !== this.mark.bytes) {
      this.mark = { bytes: bytesFromClient, since: now };
      return false;
    }
    return now - this.mark.since >= timeoutMs;
  }
}
