/**
 * What mysqlda's extension SQL does once parsed (routing/extension-sql.ts parses it): `select library` and
 * `select library by correl_object` route the session, `set correl_object` binds an alias in the directory,
 * `show library` answers with the session's route. Directory errors become the client's error here.
 */
import { clip } from '../log/clip.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { ErrPacket } from '../protocol/generic-packets.js';
import { encodePackets, type Packet } from '../protocol/packet.js';
import { encodeTextResultSet } from '../protocol/result-set.js';
import type { ExtensionCommand } from '../routing/extension-sql.js';
import { DirectoryError } from '../store/durable-directory.js';
import { SHOW_LIBRARY_COLUMNS } from './statement-broker.js';
import type { SessionServices } from './session-services.js';

/** What extension SQL needs from its client session. */
export interface ExtensionHost {
  readonly services: SessionServices;
  readonly session: { readonly id: number };
  isClosed(): boolean;
  /** Splices the session onto a backend connection of the library, then answers OK. True when routed. */
  routeToLibrary(library: string, key: string | null, reply: number): Promise<boolean>;
  /** `show library`'s row: library, key, server. */
  showLibraryRow(): (string | null)[];
  currentStatus(): number;
  deprecateEof(): boolean;
  replyOk(sequenceId: number): void;
  replyError(sequenceId: number, error: ProxyError | ErrPacket): void;
  write(bytes: Buffer): void;
}

/** Runs one extension command, answering the client's `packet` (text query or bound prepared statement). */
export async function runExtension(host: ExtensionHost, command: ExtensionCommand, packet: Packet): Promise<void> {
  const reply = packet.sequenceId + 1;
  const { directory } = host.services;
  switch (command.kind) {
    case 'select_library':
      return void (await selectLibrary(host, command.key, reply));
    case 'select_library_by_correl_object': {
      const key = directory.lookupCorrel(command.correlClass, command.object);
      if (key === undefined) return host.replyError(reply, ProxyErrors.unknownCorrelObject(command.correlClass, command.object));
      return void (await selectLibrary(host, key, reply));
    }
    case 'set_correl_object':
      try {
        await directory.bindCorrel(command.correlClass, command.object, command.key);
      } catch (err) {
        return host.replyError(reply, correlBindingError(host, err, command));
      }
      if (host.isClosed()) return;
      host.services.logger.info(
        // Keys, objects and classes are checked to be short (routing/identifiers.ts); clip keeps that so in the log.
        { session: host.session.id, correlClass: clip(command.correlClass), object: clip(command.object), key: clip(command.key) },
        'correl object bound',
      );
      return host.replyOk(reply);
    case 'show_library': {
      const payloads = encodeTextResultSet(SHOW_LIBRARY_COLUMNS, [host.showLibraryRow()], host.currentStatus(), host.deprecateEof());
      host.write(encodePackets(payloads, reply));
      return;
    }
  }
}

/** Routes the session to the key's library (assigning and saving a new key first). True when routed. */
export async function selectLibrary(host: ExtensionHost, key: string, reply: number): Promise<boolean> {
  const { services } = host;
  let library: string;
  try {
    const resolved = await services.directory.resolveKey(key);
    library = resolved.library;
    if (resolved.isNew) {
      services.logger.info({ session: host.session.id, key: clip(key), library }, 'new key assigned');
      services.events.emit('assignment', { library });
    }
  } catch (err) {
    services.logger.error({ session: host.session.id, key: clip(key), err }, 'key assignment could not be saved');
    host.replyError(reply, ProxyErrors.persistFailed('see the mysqlda log'));
    return false;
  }
  if (host.isClosed()) return false;
  return host.routeToLibrary(library, key, reply);
}

/** The client's error for a `set correl_object` the directory refused or could not save. */
function correlBindingError(host: ExtensionHost, err: unknown, command: Extract<ExtensionCommand, { kind: 'set_correl_object' }>): ProxyError {
  if (err instanceof DirectoryError) {
    if (err.code === 'UNKNOWN_KEY') return ProxyErrors.keyHasNoLibrary(command.key);
    if (err.code === 'CORREL_CONFLICT') {
      const bound = host.services.directory.lookupCorrel(command.correlClass, command.object) ?? '?';
      return ProxyErrors.correlConflict(command.correlClass, command.object, bound);
    }
  }
  host.services.logger.error({ session: host.session.id, err }, 'correl binding could not be saved');
  return ProxyErrors.persistFailed('see the mysqlda log');
}
