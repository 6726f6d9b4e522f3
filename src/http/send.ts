import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** The body of every error the webhook answers itself: a code, one line, and details when there are any. */
export interface JsonError {
  readonly code: number;
  readonly error: string;
  readonly details?: readonly string[] | undefined;
}

/**
 * Sends `body` as JSON with its length. Does nothing when an answer was already started or the
 * client is gone, so a handler that answers twice (an error after a timeout) cannot throw.
 */
export function send(res: ServerResponse, status: number, body: unknown, headers?: OutgoingHttpHeaders): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** A JSON error (`{code, error, details}`). */
export function sendError(res: ServerResponse, status: number, error: string, details: readonly string[] = [], headers?: OutgoingHttpHeaders): void {
  const body: JsonError = { code: status, error, details };
  send(res, status, body, headers);
}
