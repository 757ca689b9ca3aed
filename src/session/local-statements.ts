import type { LocalColumn } from '../protocol/result-set.js';

/**
 * Prepared statements mysqlda answers itself: extension SQL sent as COM_STMT_PREPARE (PDO and mysql2's
 * execute() do that), and set-up statements prepared before a library is chosen. Their ids come from a
 * range no server hands out in practice (servers count from 1 per connection).
 */
export interface LocalStatement {
  id: number;
  sql: string;
  paramCount: number;
  columns: LocalColumn[];
  /** 'extension': run by mysqlda; 'setting': run as text on the session's server and carried over. */
  kind: 'extension' | 'setting';
  /** Parameter types of the last execution (clients send them only once). */
  paramTypes: number[] | null;
}

export const FIRST_LOCAL_STATEMENT_ID = 0xfff0_0000;

export class LocalStatements {
  /** Made on first use: most sessions never prepare one (an idle client's memory is mostly such parts). */
  private statements: Map<number, LocalStatement> | null = null;
  private nextId = FIRST_LOCAL_STATEMENT_ID;

  get size(): number {
    return this.statements?.size ?? 0;
  }

  static isLocalId(id: number): boolean {
    return id >= FIRST_LOCAL_STATEMENT_ID;
  }

  add(statement: Omit<LocalStatement, 'id' | 'paramTypes'>): LocalStatement {
    const id = this.nextId;
    this.nextId = this.nextId === 0xffff_ffff ? FIRST_LOCAL_STATEMENT_ID : this.nextId + 1;
    const local = { ...statement, id, paramTypes: null };
    (this.statements ??= new Map()).set(id, local);
    return local;
  }

  get(id: number): LocalStatement | undefined {
    return this.statements?.get(id);
  }

  delete(id: number): void {
    this.statements?.delete(id);
  }
}
