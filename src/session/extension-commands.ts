/**
 * What mysqlda's extension SQL does once parsed (routing/extension-sql.ts parses it): `select library` and
 * `select library by correl_object` route the session, `set correl_object` binds an alias in the directory,
 * `show library` answers with the session's route. Directory errors become the client's error here.
 */
import { clip } from '../log/clip.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import type { ExtensionCommand, ReadRequest } from '../routing/extension-sql.js';
import { DirectoryError } from '../store/key-directory.js';
import { REPLY_OK, replyError, type SessionAction } from './session-action.js';
import type { SessionServices } from './session-services.js';

/** Runs one extension command for session `session` (the id, for the log): what the session should do next. */
export async function runExtension(services: SessionServices, session: number, command: ExtensionCommand): Promise<SessionAction> {
  const { directory } = services;
  switch (command.kind) {
    case 'select_library':
      return selectLibrary(services, session, command.key, command.read);
    case 'select_library_by_correl_object': {
      let key: string | undefined;
      try {
        key = directory.lookupCorrel(command.correlClass, command.object) ?? (await directory.findCorrel(command.correlClass, command.object));
      } catch (err) {
        return replyError(directoryError(services, session, err, 'correl object could not be looked up'));
      }
      if (key === undefined) return replyError(ProxyErrors.unknownCorrelObject(command.correlClass, command.object));
      return selectLibrary(services, session, key, command.read);
    }
    case 'set_correl_object':
      try {
        await directory.bindCorrel(command.correlClass, command.object, command.key);
      } catch (err) {
        return replyError(correlBindingError(services, session, err, command));
      }
      services.logger.info(
        // Keys, objects and classes are checked to be short (routing/identifiers.ts); clip keeps that so in the log.
        { session, correlClass: clip(command.correlClass), object: clip(command.object), key: clip(command.key) },
        'correl object bound',
      );
      return REPLY_OK;
    case 'show_library':
      return { kind: 'show-library', binary: false };
  }
}

/** The route to the key's library (assigning and saving a new key first), or the error to answer. */
export async function selectLibrary(services: SessionServices, session: number, key: string, read?: ReadRequest): Promise<SessionAction> {
  try {
    const resolved = await services.directory.resolveKey(key);
    if (resolved.isNew) {
      services.logger.info({ session, key: clip(key), library: resolved.library }, 'new key assigned');
      services.events.emit('assignment', { library: resolved.library });
    }
    return read ? { kind: 'route', library: resolved.library, key, read } : { kind: 'route', library: resolved.library, key };
  } catch (err) {
    return replyError(directoryError(services, session, err, 'key assignment could not be saved', key));
  }
}

/**
 * The client's error when the directory could not answer: an unreachable shared directory names its reason (the
 * client may retry; it stays connected), anything else points at the log.
 */
function directoryError(services: SessionServices, session: number, err: unknown, what: string, key?: string): ProxyError {
  const fields = key === undefined ? { session, err } : { session, key: clip(key), err };
  if (err instanceof DirectoryError && err.code === 'UNAVAILABLE') {
    services.logger.warn(fields, what);
    return ProxyErrors.persistFailed(clip(err.message));
  }
  services.logger.error(fields, what);
  return ProxyErrors.persistFailed('see the mysqlda log');
}

/** The client's error for a `set correl_object` the directory refused or could not save. */
function correlBindingError(services: SessionServices, session: number, err: unknown, command: Extract<ExtensionCommand, { kind: 'set_correl_object' }>): ProxyError {
  if (err instanceof DirectoryError) {
    if (err.code === 'UNKNOWN_KEY') return ProxyErrors.keyHasNoLibrary(command.key);
    if (err.code === 'CORREL_CONFLICT') {
      const bound = services.directory.lookupCorrel(command.correlClass, command.object) ?? '?';
      return ProxyErrors.correlConflict(command.correlClass, command.object, bound);
    }
  }
  return directoryError(services, session, err, 'correl binding could not be saved');
}
