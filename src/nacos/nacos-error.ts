/**
 * What can go wrong when asking Nacos, as one error type with a `kind` the caller can act on.
 * Messages name the server and the route, never a query string, a token or a password.
 */
export const NACOS_ERROR_KINDS = [
  /** The connection failed (refused, reset, DNS, TLS, a body cut short). Tried on the next address. */
  'network',
  /** A request took longer than `timeoutSeconds`, or the whole call longer than its bound. Tried on the next address. */
  'timeout',
  /** HTTP 5xx. Tried on the next address. */
  'server',
  /** An answer that is final: a 3xx/4xx other than 401/403 (wrong context path, API disabled, bad parameter) or a v3 envelope with a non-zero code. */
  'rejected',
  /** 401/403 after one fresh login, or the login itself refused. */
  'unauthorized',
  /** The answer arrived but is not what Nacos sends: not JSON, wrong types, missing fields, too large. */
  'malformed',
] as const;
export type NacosErrorKind = (typeof NACOS_ERROR_KINDS)[number];

/** The `outcome` label of `probe_injector_nacos_requests_total`: one per HTTP request made to Nacos. */
export const NACOS_OUTCOMES = ['success', 'error', 'timeout', 'unauthorized', 'malformed'] as const;
export type NacosOutcome = (typeof NACOS_OUTCOMES)[number];

export interface NacosErrorDetail {
  readonly cause?: unknown;
  /** The server address (`http://host:8848`) the error came from, when one did. */
  readonly address?: string | undefined;
  /** The HTTP status, when an answer arrived. */
  readonly status?: number | undefined;
}

export class NacosError extends Error {
  override readonly name = 'NacosError';
  readonly address: string | undefined;
  readonly status: number | undefined;

  constructor(
    readonly kind: NacosErrorKind,
    message: string,
    detail: NacosErrorDetail = {},
  ) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.address = detail.address;
    this.status = detail.status;
  }

  /** Whether another address may answer better (network errors, timeouts, 5xx). */
  get retryable(): boolean {
    return this.kind === 'network' || this.kind === 'timeout' || this.kind === 'server';
  }
}

export function outcomeOf(kind: NacosErrorKind): NacosOutcome {
  switch (kind) {
    case 'timeout':
    case 'unauthorized':
    case 'malformed':
      return kind;
    default:
      return 'error';
  }
}
