/**
 * The bytes of the answers a session makes itself (SessionAction replies), numbered from `reply`: pure encoding,
 * the session writes them.
 */
import { encodeErr, encodeOk } from '../protocol/generic-packets.js';
import { encodePacket, encodePackets } from '../protocol/packet.js';
import { encodeBinaryResultSet } from '../protocol/prepared-statements.js';
import { encodeTextResultSet } from '../protocol/result-set.js';
import type { SessionAction } from './session-action.js';
import { SHOW_LIBRARY_COLUMNS } from './statement-broker.js';

export type LocalAnswer = Extract<SessionAction, { kind: 'reply-ok' | 'reply-error' | 'reply-packets' | 'reply-rows' | 'show-library' }>;

export interface AnswerContext {
  /** The session's status flags now. */
  status: number;
  deprecateEof: boolean;
  /** `show library`'s row: library, key, server. */
  route(): (string | null)[];
}

export function encodeLocalAnswer(action: LocalAnswer, reply: number, context: AnswerContext): Buffer {
  switch (action.kind) {
    case 'reply-ok':
      return encodePacket(encodeOk(context.status, action.affectedRows ?? 0), reply);
    case 'reply-error':
      return encodePacket(encodeErr(action.error), reply);
    case 'reply-packets':
      return encodePackets(action.payloads, reply);
    case 'reply-rows':
      return encodePackets(encodeTextResultSet(action.columns, action.rows, context.status, context.deprecateEof), reply);
    case 'show-library': {
      const encode = action.binary ? encodeBinaryResultSet : encodeTextResultSet;
      return encodePackets(encode(SHOW_LIBRARY_COLUMNS, [context.route()], context.status, context.deprecateEof), reply);
    }
  }
}
