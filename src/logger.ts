import { pino, type Logger as PinoLogger } from 'pino';
import { createLineWriter, type LineWriterLimits } from './serve/line-writer.js';
import { boundLogLine, LOG_LIMITS } from './serve/log-line.js';

/** The logging the shells need; pino's logger satisfies it, tests pass a recorder. */
export interface Logger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export const LOG_BUFFER: LineWriterLimits = {
  batchBytes: 4096,
  maxBufferedBytes: 4 * 1024 * 1024,
  flushIntervalMs: 1000,
};

export interface ProcessLogger {
  readonly logger: PinoLogger;
  /** Writes what is buffered now (start-up lines, before exiting). */
  flush(): void;
  /**
   * Before exiting: writes what is buffered, waiting at most `timeoutMs` for stdout to take it,
   * then stops writing, so that nothing holds the exit. What could not be written by then is lost.
   */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The process's JSON logger (pino) on stdout: ISO times, no pid/hostname, every line bounded and
 * escaped (`boundLogLine`), written in batches without ever blocking (`createLineWriter`). With
 * stdout stalled (a full pipe, a stopped log shipper) lines wait up to
 * `LOG_BUFFER.maxBufferedBytes` and are then dropped, never blocking an admission nor the exit and
 * never growing memory without bound; `onDropped` counts them.
 */
export function createProcessLogger(options: { readonly fd?: number; readonly onDropped?: (lines: number) => void } = {}): ProcessLogger {
  const writer = createLineWriter(options.fd ?? 1, LOG_BUFFER, options.onDropped);
  const logger = pino(
    {
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: (line) => boundLogLine(line, LOG_LIMITS.lineBytes) },
    },
    writer,
  );
  const close = async (timeoutMs: number): Promise<void> => {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      writer.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    writer.destroy();
  };
  return { logger, flush: () => writer.flush(), close };
}
