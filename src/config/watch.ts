/**
 * Watching mysqlda.conf for changes, for live reload. A burst of events (an editor writing a temporary file and
 * renaming it over the config, rsync, a half-written save) becomes one call after a quiet time; a file that is
 * briefly missing during a rename is not a change.
 */
import { watch } from 'chokidar';

export interface ConfigWatcher {
  close(): Promise<void>;
}

export interface WatchOptions {
  debounceMs: number;
  /** Called once per burst of changes. */
  onChange: () => void;
  onError?: (error: Error) => void;
}

export function watchConfigFile(file: string, options: WatchOptions): ConfigWatcher {
  // chokidar keeps following the path across rename-replace (its `atomic` handling), which is how most editors save.
  const watcher = watch(file, { ignoreInitial: true, persistent: false });
  let timer: NodeJS.Timeout | null = null;
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      options.onChange();
    }, options.debounceMs);
  };
  watcher.on('add', schedule);
  watcher.on('change', schedule);
  watcher.on('error', (error) => options.onError?.(error instanceof Error ? error : new Error(String(error))));
  return {
    async close() {
      if (timer) clearTimeout(timer);
      timer = null;
      await watcher.close();
    },
  };
}
