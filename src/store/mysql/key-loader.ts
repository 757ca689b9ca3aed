/**
 * Start-up of the shared directory: every key row and every correl object streamed straight into the in-memory
 * Directory (rows as arrays, each key's bytes inserted into the KeyTable without a string per key), so that known
 * keys route from memory with no round trip.
 */
import type { Connection as CoreConnection } from 'mysql2';
import type { Directory } from '../../routing/directory.js';
import type { SqlConnection } from './directory-client.js';
import { TABLES } from './schema.js';

export interface LoadedKeys {
  keys: number;
  correlObjects: number;
  /** Key rows whose library is not configured here: library → rows (the caller refuses to start). */
  unknownLibraries: Map<string, number>;
}

/** Streams the key rows, then the correl objects, into `directory` (whose libraries are the configured ones). */
export async function loadDirectory(connection: SqlConnection, directory: Directory, expectedKeys: number): Promise<LoadedKeys> {
  const core = (connection as unknown as { connection: CoreConnection }).connection;
  // About 16 bytes a key: one allocation for most directories instead of a doubling series.
  directory.reserveKeys(expectedKeys, expectedKeys * 16);
  const unknownLibraries = new Map<string, number>();
  let keys = 0;
  let lastName = '';
  let lastId = -1;
  await stream(core, `SELECT core_key, library FROM ${TABLES.keys}`, (row) => {
    const key = row[0] as Buffer;
    const name = row[1] as string;
    if (name !== lastName) {
      lastName = name;
      lastId = directory.libraryId(name);
    }
    if (lastId === -1) {
      unknownLibraries.set(name, (unknownLibraries.get(name) ?? 0) + 1);
      return;
    }
    if (directory.putBytes(key, 0, key.length, lastId) === 'added') keys++;
  });

  let correlObjects = 0;
  let lastClassBytes: Buffer | null = null;
  let lastClass = '';
  // Object and key in one buffer, as bindCorrelBytes takes them (the save-file loader passes a line).
  const sql = `SELECT correl_class, CONCAT(correl_object, core_key), LENGTH(correl_object) FROM ${TABLES.aliases}`;
  await stream(core, sql, (row) => {
    const classBytes = row[0] as Buffer;
    if (lastClassBytes === null || !classBytes.equals(lastClassBytes)) {
      lastClassBytes = classBytes;
      lastClass = classBytes.toString('utf8');
    }
    const pair = row[1] as Buffer;
    const split = Number(row[2]);
    // An object whose key was assigned after the key rows were read is left out: a miss fetches it.
    if (directory.bindCorrelBytes(lastClass, pair, 0, split, split, pair.length) === 'added') correlObjects++;
  });
  return { keys, correlObjects, unknownLibraries };
}

function stream(connection: CoreConnection, sql: string, onRow: (row: unknown[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    connection
      .query({ sql, rowsAsArray: true })
      .on('result', (row) => {
        if (!failed) onRow(row as unknown as unknown[]);
      })
      .on('error', (err) => {
        failed = true;
        reject(err);
      })
      .on('end', () => {
        if (!failed) resolve();
      });
  });
}
