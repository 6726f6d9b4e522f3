import { fstatSync, writeSync } from 'node:fs';
import net from 'node:net';

export interface LineWriterLimits {
  /** Lines are written in batches of about this size (one write per line would cost a syscall each). */
  readonly batchBytes: number;
  /** Lines waiting for stdout, at most; beyond it new lines are dropped (and counted). */
  readonly maxBufferedBytes: number;
  /** A quiet process's lines are not held back longer than this. */
  readonly flushIntervalMs: number;
}

/** A destination for log lines (pino's `DestinationStream`, plus what the shell needs). */
export interface LineWriter {
  write(line: string): void;
  /** Hands what is batched to stdout now; `done` once stdout has taken everything (or at once when that cannot be known). */
  flush(done?: (error?: Error) => void): void;
  /** Stops writing: what stdout has not taken yet is dropped. Never blocks. */
  destroy(): void;
}

/**
 * Writes log lines to a file descriptor without ever blocking the process. When stdout is a pipe
 * or a socket (a container's log pipe), it is driven as a non-blocking stream: a reader that stops
 * reading (a stalled log shipper) fills a bounded buffer, after which lines are dropped and counted,
 * and the process can still answer admissions and exit. (pino's own destination writes from a
 * thread-pool thread; on a full blocking pipe that write never returns, and the process cannot exit.)
 * A regular file or a terminal is written synchronously.
 */
export function createLineWriter(fd: number, limits: LineWriterLimits, onDropped: (lines: number) => void = () => {}): LineWriter {
  const stat = fstatSync(fd);
  const stream = stat.isFIFO() || stat.isSocket() ? new net.Socket({ fd, readable: false, writable: true }) : undefined;
  stream?.on('error', () => {}); // a reader that went away: lines are lost, the process goes on
  let batch = '';
  let destroyed = false;

  const hand = () => {
    if (batch === '' || destroyed) return;
    const text = batch;
    batch = '';
    if (!stream) {
      try {
        writeSync(fd, text);
      } catch {
        onDropped(countLines(text));
      }
      return;
    }
    if (stream.writableLength + Buffer.byteLength(text) > limits.maxBufferedBytes) onDropped(countLines(text));
    else stream.write(text);
  };
  const timer = setInterval(hand, limits.flushIntervalMs);
  timer.unref();

  return {
    write(line) {
      if (destroyed) return;
      batch += line;
      if (batch.length >= limits.batchBytes) hand();
    },
    flush(done) {
      hand();
      if (!done) return;
      if (!stream || stream.writableLength === 0 || destroyed) return done();
      stream.once('drain', () => done());
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      clearInterval(timer);
      stream?.destroy();
    },
  };
}

function countLines(text: string): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  return Math.max(lines, 1);
}
