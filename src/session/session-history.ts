/**
 * The settings a client made on its session (SET ..., USE, COM_INIT_DB, COM_SET_OPTION), in order, so they
 * hold on every backend connection the session is spliced onto: after `select library`, a switch of
 * library, or a new connection after failover. Only settings the server accepted are kept.
 */
export class SessionHistory {
  private readonly entries: Buffer[] = [];
  /** Made on first use: most sessions never set anything, and an idle client's memory is mostly such parts. */
  private pending: Map<number, Buffer> | null = null;
  private nextTag = 1;

  constructor(readonly limit = 256) {}

  get length(): number {
    return this.entries.length;
  }

  /** The command payloads to replay, oldest first. */
  replayList(): readonly Buffer[] {
    return this.entries;
  }

  /** A setting was sent to the server; returns the tag its response will carry. */
  propose(payload: Buffer): number {
    const tag = this.nextTag++;
    (this.pending ??= new Map()).set(tag, Buffer.from(payload));
    return tag;
  }

  /** The server answered the setting with this tag. Returns false when the history is full. */
  settle(tag: number, accepted: boolean): boolean {
    const payload = this.pending?.get(tag);
    if (!payload) return true;
    this.pending!.delete(tag);
    if (!accepted) return true;
    return this.add(payload);
  }

  isProposal(tag: number): boolean {
    return this.pending?.has(tag) ?? false;
  }

  /** Records a setting known to be accepted. An identical earlier entry is dropped: the latest wins. */
  add(payload: Buffer): boolean {
    const same = this.entries.findIndex((entry) => entry.equals(payload));
    if (same !== -1) this.entries.splice(same, 1);
    if (this.entries.length >= this.limit) return false;
    this.entries.push(Buffer.from(payload));
    return true;
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the session is back to its connect-time state. */
  clear(): void {
    this.entries.length = 0;
    this.pending = null;
  }
}
