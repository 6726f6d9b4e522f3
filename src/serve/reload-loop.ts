import { watchFiles } from './file-watcher.js';

/** Retries of a failed reload: the first after `initialMs`, then twice as long each time, at most `maxMs`. */
export interface ReloadBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const RELOAD_BACKOFF: ReloadBackoff = { initialMs: 1000, maxMs: 300_000 };

export interface ReloadLoopOptions<T> {
  /** Watched for changes; a change loads at once (and restarts the backoff). */
  readonly files: readonly string[];
  readonly intervalMs: number;
  /** Reads and validates the files; throws when they cannot be used (yet). */
  readonly load: () => Promise<T>;
  /** Puts a loaded value in use. Called only with what `load` accepted. */
  readonly apply: (value: T) => void;
  /** A load (or apply) failed: the previous value stays; the next attempt is in `retryInMs`. */
  readonly onFailure: (error: unknown, attempt: number, retryInMs: number) => void;
  readonly backoff?: ReloadBackoff | undefined;
  /** How files are watched (injectable for tests). */
  readonly watch?: typeof watchFiles | undefined;
}

export interface ReloadLoop {
  /** Loads now (SIGHUP): like a change of the files. */
  reloadNow(): void;
  /** Whether the newest files could not be applied (a retry is pending). */
  failing(): boolean;
  stop(): void;
}

/**
 * Keeps a value (the config, the serving certificate) in step with its files. A load that fails,
 * for any reason (a half-written file, a key that does not match its certificate yet, too many
 * open files), keeps the last good value and is retried with backoff until it succeeds, not only
 * when the files change again. Loads never overlap; a change during a load loads again after it.
 */
export function startReloadLoop<T>(options: ReloadLoopOptions<T>): ReloadLoop {
  const backoff = options.backoff ?? RELOAD_BACKOFF;
  let running = false;
  let again = false;
  let stopped = false;
  let failing = false;
  let attempt = 0;
  let retry: NodeJS.Timeout | undefined;

  const run = async (): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(retry);
    try {
      const value = await options.load();
      if (stopped) return;
      options.apply(value);
      attempt = 0;
      failing = false;
    } catch (error) {
      if (stopped) return;
      attempt++;
      failing = true;
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt - 1, 30));
      retry = setTimeout(() => void run(), delay);
      retry.unref();
      try {
        options.onFailure(error, attempt, delay);
      } catch {
        // reporting must not stop the loop
      }
    } finally {
      running = false;
      if (again && !stopped) {
        again = false;
        void run();
      }
    }
  };
  const changed = () => {
    attempt = 0;
    void run();
  };
  const unwatch = (options.watch ?? watchFiles)(options.files, options.intervalMs, changed);
  return {
    reloadNow: changed,
    failing: () => failing,
    stop() {
      stopped = true;
      clearTimeout(retry);
      unwatch();
    },
  };
}
