import { pino, type Logger as PinoLogger } from 'pino';
import { boundLogLine, LOG_LIMITS } from './serve/log-line.js';

/** The logging the shells need; pino's logger satisfies it, tests pass a recorder. */
export interface Logger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export const LOG_BUFFER = {
  /** Lines are written in batches of this size (one write per admission would cost a syscall each). */
  batchBytes: 4096,
  /** While stdout does not take them, lines wait in memory up to this size; beyond it they are dropped (and counted). */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** A quiet webhook's lines are not held back longer than this. */
  flushIntervalMs: 1000,
} as const;

export interface ProcessLogger {
  readonly logger: PinoLogger;
  /** Writes what is buffered now (start-up lines, before exiting). */
  flush(): void;
  /** Writes everything and calls back; after `timeoutMs` calls back anyway (stdout may be stalled). */
  flushAndWait(timeoutMs: number): Promise<void>;
}

/**
 * The process's JSON logger (pino) on stdout: ISO times, no pid/hostname, every line bounded and
 * escaped (`boundLogLine`), written in batches. With stdout stalled (a full pipe, a stopped log
 * shipper) lines are buffered up to `LOG_BUFFER.maxBufferedBytes` and then dropped, never blocking
 * an admission and never growing memory without bound; `onDropped` counts them.
 */
export function createProcessLogger(options: { readonly fd?: number; readonly onDropped?: (lines: number) => void } = {}): ProcessLogger {
  const destination = pino.destination({ dest: options.fd ?? 1, sync: false, minLength: LOG_BUFFER.batchBytes, maxLength: LOG_BUFFER.maxBufferedBytes });
  const { onDropped } = options;
  if (onDropped) destination.on('drop', (data: string) => onDropped(countLines(data)));
  setInterval(() => flushQuietly(destination), LOG_BUFFER.flushIntervalMs).unref();
  const logger = pino(
    {
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: { streamWrite: (line) => boundLogLine(line, LOG_LIMITS.lineBytes) },
    },
    destination,
  );
  return {
    logger,
    flush: () => flushQuietly(destination),
    flushAndWait: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        try {
          logger.flush(() => {
            clearTimeout(timer);
            resolve();
          });
        } catch {
          resolve();
        }
      }),
  };
}

function flushQuietly(destination: { flush(): void }): void {
  try {
    destination.flush();
  } catch {
    // sonic-boom throws while a previous write is still pending; the next interval flushes.
  }
}

function countLines(data: string): number {
  let lines = 0;
  for (let i = data.indexOf('\n'); i !== -1; i = data.indexOf('\n', i + 1)) lines++;
  return Math.max(lines, 1);
}
