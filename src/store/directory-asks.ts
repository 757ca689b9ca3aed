/**
 * The key directory across processes: with server.workers > 1 and save files, one process (the primary) owns the
 * DurableDirectory and every worker asks it what it does not know yet (WorkerDirectory). This is the wire shape
 * of those questions and the owner's side of answering them. Plain JSON values, no I/O of its own.
 */
import { DirectoryError, type DirectoryErrorCode, type KeyDirectory } from './key-directory.js';

export type DirectoryAsk =
  | { op: 'resolve-key'; key: string }
  | { op: 'find-correl'; correlClass: string; object: string }
  | { op: 'bind-correl'; correlClass: string; object: string; key: string };

export type DirectoryAnswer =
  | { ok: true; op: 'resolve-key'; library: string; isNew: boolean }
  | { ok: true; op: 'find-correl'; key: string | null }
  | { ok: true; op: 'bind-correl' }
  | { ok: false; code: DirectoryErrorCode; message: string };

const ERROR_CODES: ReadonlySet<string> = new Set<DirectoryErrorCode>([
  'INVALID_ARGUMENT',
  'UNKNOWN_KEY',
  'CORREL_CONFLICT',
  'PERSIST_FAILED',
  'UNAVAILABLE',
  'LIBRARY_IN_USE',
  'INVALID_CONFIG',
  'CLOSED',
]);

export function isDirectoryAsk(value: unknown): value is DirectoryAsk {
  if (typeof value !== 'object' || value === null) return false;
  const ask = value as Record<string, unknown>;
  const text = (name: string) => typeof ask[name] === 'string';
  switch (ask.op) {
    case 'resolve-key':
      return text('key');
    case 'find-correl':
      return text('correlClass') && text('object');
    case 'bind-correl':
      return text('correlClass') && text('object') && text('key');
    default:
      return false;
  }
}

/** The owner's answer; a DirectoryError travels as its code and message, anything else as UNAVAILABLE. */
export async function answerDirectoryAsk(directory: KeyDirectory, ask: DirectoryAsk): Promise<DirectoryAnswer> {
  try {
    switch (ask.op) {
      case 'resolve-key': {
        const { library, isNew } = await directory.resolveKey(ask.key);
        return { ok: true, op: 'resolve-key', library, isNew };
      }
      case 'find-correl': {
        const key = directory.lookupCorrel(ask.correlClass, ask.object) ?? (await directory.findCorrel(ask.correlClass, ask.object));
        return { ok: true, op: 'find-correl', key: key ?? null };
      }
      case 'bind-correl':
        await directory.bindCorrel(ask.correlClass, ask.object, ask.key);
        return { ok: true, op: 'bind-correl' };
    }
  } catch (error) {
    if (error instanceof DirectoryError) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'UNAVAILABLE', message: `the directory owner failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The error a worker raises for a refusal from the owner; an unknown code (a newer owner) is UNAVAILABLE. */
export function errorOfAnswer(answer: Extract<DirectoryAnswer, { ok: false }>): DirectoryError {
  const code = ERROR_CODES.has(answer.code) ? answer.code : 'UNAVAILABLE';
  return new DirectoryError(code, answer.message);
}
