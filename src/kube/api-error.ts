/**
 * What @kubernetes/client-node's errors say, read once for every command that talks to the API
 * server (the controller, `check`, leader election): the HTTP status of an `ApiException`, and the
 * Status message in its body, in one line.
 */

/** The HTTP status of an ApiException of @kubernetes/client-node; undefined for network errors. */
export function apiStatusOf(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? Reflect.get(error, 'code') : undefined;
  return typeof code === 'number' && code >= 100 && code <= 599 ? code : undefined;
}

/** The `message` of the Status in an ApiException's body (a string or parsed), if there is one. */
function statusMessage(error: unknown): string | undefined {
  const body: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'body') : undefined;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'message') : undefined;
  return typeof message === 'string' ? message : undefined;
}

/** `HTTP 403: <the Status message>` for an API answer; undefined for a network error. */
export function describeApiAnswer(error: unknown, limit = 300): string | undefined {
  const status = apiStatusOf(error);
  if (status === undefined) return undefined;
  const message = statusMessage(error);
  return `HTTP ${status}${message === undefined ? '' : `: ${message.slice(0, limit)}`}`;
}
