/** The session side of a graceful stop: every session is asked to drain, and the stop waits for them. */

export interface DrainableSession {
  readonly closed: boolean;
  /** Ends the session at its next command boundary outside a transaction (ClientSession.drain). */
  drain(): void;
}

/**
 * Asks every session to drain and resolves once all have ended or `timeoutMs` has passed (whichever is first).
 * `watch` installs the listener the server calls whenever a session ends.
 */
export function drainSessions(sessions: ReadonlySet<DrainableSession>, timeoutMs: number, watch: (listener: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const check = () => {
      if (sessions.size > 0) return;
      if (timer) clearTimeout(timer);
      resolve();
    };
    watch(check);
    for (const session of [...sessions]) session.drain();
    if (sessions.size === 0) return resolve();
    timer = setTimeout(resolve, timeoutMs);
  });
}
