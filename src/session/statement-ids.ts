/**
 * Server-side prepared statements under ids of mysqlda's own. A client keeps its statement ids across
 * `select library` (drivers cache them by SQL text), but the backend connection changes; each virtual id
 * remembers its SQL so it can be prepared again, lazily, on whichever backend connection the session is on.
 */
export interface VirtualStatement {
  id: number;
  /** The COM_STMT_PREPARE payload, to prepare the statement again on another connection. */
  prepare: Buffer;
  paramCount: number;
  /** The id on the current backend connection, or null when not prepared there (yet). */
  backendId: number | null;
  /** The parameter types the client last sent (2 bytes each), for an execution that does not resend them. */
  paramTypes: Buffer | null;
}

/** MariaDB's "the statement prepared last" id (direct execution, bulk): passed through untouched. */
export const LAST_PREPARED_STATEMENT_ID = 0xffff_ffff;

/** An id no server hands out: a command that cannot be renamed is sent under it, so the server refuses it. */
export const UNUSABLE_STATEMENT_ID = 0xffff_fffe;

export class VirtualStatements {
  /** Made on first use: a session that never prepares holds no Map (an idle client's memory is mostly such parts). */
  private statements: Map<number, VirtualStatement> | null = null;
  private nextId = 1;

  get size(): number {
    return this.statements?.size ?? 0;
  }

  add(prepare: Buffer, paramCount: number, backendId: number): VirtualStatement {
    const statement: VirtualStatement = { id: this.nextId++, prepare: Buffer.from(prepare), paramCount, backendId, paramTypes: null };
    (this.statements ??= new Map()).set(statement.id, statement);
    return statement;
  }

  get(id: number): VirtualStatement | undefined {
    return this.statements?.get(id);
  }

  /** The statement prepared on the current backend connection under `backendId` (a slow-query log look-up). */
  findByBackendId(backendId: number): VirtualStatement | undefined {
    for (const statement of this.statements?.values() ?? []) if (statement.backendId === backendId) return statement;
    return undefined;
  }

  delete(id: number): void {
    this.statements?.delete(id);
  }

  /** The session moved to another backend connection: nothing is prepared there yet. */
  forgetBackend(): void {
    for (const statement of this.statements?.values() ?? []) statement.backendId = null;
  }

  /** COM_RESET_CONNECTION / COM_CHANGE_USER: the server closed every statement. */
  clear(): void {
    this.statements = null;
  }

  /**
   * Offset of the new-params-bound flag in a COM_STMT_EXECUTE payload (after id, flags, iteration count and
   * the NULL bitmap), or -1 for a statement without parameters.
   */
  static boundFlagOffset(paramCount: number): number {
    return paramCount === 0 ? -1 : 10 + ((paramCount + 7) >> 3);
  }

  /** Remembers the types an execution carries (read from its first bytes; no copy when unchanged). */
  static noteTypes(statement: VirtualStatement, payload: Buffer, start: number, available: number): void {
    const flag = VirtualStatements.boundFlagOffset(statement.paramCount);
    if (flag < 0 || flag >= available || payload[start + flag] !== 1) return;
    const from = start + flag + 1;
    const length = statement.paramCount * 2;
    if (flag + 1 + length > available) return;
    if (statement.paramTypes && statement.paramTypes.compare(payload, from, from + length) === 0) return; // no copy per execution
    statement.paramTypes = Buffer.from(payload.subarray(from, from + length));
  }

  /** An execution that relies on types sent before, rebuilt to carry them (for a freshly re-prepared statement). */
  static withTypes(statement: VirtualStatement, payload: Buffer): Buffer {
    const flag = VirtualStatements.boundFlagOffset(statement.paramCount);
    if (flag < 0 || flag >= payload.length || payload[flag] !== 0 || !statement.paramTypes) return payload;
    return Buffer.concat([payload.subarray(0, flag), Buffer.from([1]), statement.paramTypes, payload.subarray(flag + 1)]);
  }
}
