import type { IncomingMessage, ServerResponse } from 'node:http';
import { validate } from '../admission/validate.js';
import { admit, isRejection, type AdmissionAnswer, type AdmissionRejection } from '../admission/admit.js';
import type { InjectionConfig } from '../core/config.js';
import { OUTCOMES } from '../core/mutation.js';
import type { Logger } from '../logger.js';
import { logText } from '../serve/log-line.js';
import { createBodyBudget, type BodyBudget, type Reservation } from './body-budget.js';
import { sendError, send } from './send.js';
import { createWorkLane, type WorkLane } from './work-lane.js';

export const DEFAULT_BODY_LIMIT = 6 * 1024 * 1024;
/** Seconds a client is told to wait when the body budget is spent; kube-apiserver's client waits this long and retries. */
export const BUSY_RETRY_AFTER_SECONDS = 1;
/** A refused body too large to drain: after the answer the connection is half-closed and still read this long before it is dropped (Go's net/http: 500 ms). */
const LINGER_MS = 500;
/** A refused body within the size limit, on a connection that must close: read to its end, for at most this long. */
const DRAIN_MS = 10_000;

/**
 * Every outcome of a request to an admission endpoint, as the log line and the metrics label say
 * it: the core's, `error` (a bug: the pod is admitted unchanged), `malformed` (4xx: not JSON, not
 * an AdmissionReview, wrong content type, too large) and `busy` (429: the body budget is spent).
 */
export const ADMISSION_OUTCOMES = [...OUTCOMES, 'error', 'malformed', 'busy'] as const;
export type AdmissionOutcome = (typeof ADMISSION_OUTCOMES)[number];

/** An admission endpoint: its name (`mutate` serves `POST /mutate`) and what answers a parsed body. */
export interface AdmissionEndpoint {
  readonly name: string;
  readonly admit: (body: unknown) => AdmissionAnswer | AdmissionRejection;
}

/** `POST /mutate`: the pod webhook. The one place the shell meets the core's `admit()`. */
export function mutateEndpoint(config: () => InjectionConfig): AdmissionEndpoint {
  return { name: 'mutate', admit: (body) => admit(body, config()) };
}

/** `POST /validate`: workload templates at apply time (SPEC §9). */
export function validateEndpoint(config: () => InjectionConfig): AdmissionEndpoint {
  return { name: 'validate', admit: (body) => validate(body, config()) };
}

/** One admission as the shell saw it: what the log line and the metrics are made of. */
export interface AdmissionEvent {
  readonly endpoint: string;
  readonly outcome: AdmissionOutcome;
  readonly httpStatus: number;
  readonly reason?: string | undefined;
  readonly uid?: string | undefined;
  readonly namespace?: string | undefined;
  readonly pod?: string | undefined;
  readonly operations: number;
  readonly injected?: Readonly<Record<string, number>> | undefined;
  /** For a 4xx/429: what was wrong, for the log. */
  readonly error?: string | undefined;
  readonly durationSeconds: number;
}

export interface AdmissionShell {
  readonly logger: Logger;
  /** Largest body accepted (413 beyond). */
  readonly bodyLimit?: number | undefined;
  /** Shared by every endpoint of the server. */
  readonly budget?: BodyBudget | undefined;
  /** Where large bodies are parsed and admitted, one per event-loop turn (shared by every endpoint). */
  readonly lane?: WorkLane | undefined;
  /** Monotonic clock in nanoseconds (injectable for tests). */
  readonly clock?: () => bigint;
  readonly onAdmission?: ((event: AdmissionEvent) => void) | undefined;
  /** Called when a request arrives; the returned function when its response is done or abandoned. */
  readonly onRequest?: (() => () => void) | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const JSON_TYPE = /^application\/json\s*(;|$)/i;
type Summary = Omit<AdmissionEvent, 'endpoint' | 'httpStatus' | 'durationSeconds'>;

/**
 * An admission endpoint on plain `node:http` types: the hot path, called for every pod created in
 * the cluster. In order: content type (415), declared size (413), a share of the body budget (429
 * with `Retry-After`), the body (413 past the limit), UTF-8 and JSON (400), then the endpoint's
 * `admit` (400 for a malformed review, else 200 with the AdmissionReview). It never throws, always
 * answers, and logs one bounded line per request.
 */
export function createAdmissionHandler(endpoint: AdmissionEndpoint, shell: AdmissionShell): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = shell.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const budget = shell.budget ?? createBodyBudget();
  const lane = shell.lane ?? createWorkLane();
  const large = budget.limits.largeBodyBytes;
  const clock = shell.clock ?? process.hrtime.bigint;
  const { logger } = shell;

  return (req, res) => {
    const started = clock();
    let reservation: Reservation | undefined;
    const settled = shell.onRequest?.();
    res.once('close', () => {
      reservation?.release();
      settled?.();
    });

    const finish = (status: number, body: unknown, summary: Summary) => {
      send(res, status, body);
      const event: AdmissionEvent = { ...summary, endpoint: endpoint.name, httpStatus: status, durationSeconds: Number(clock() - started) / 1e9 };
      shell.onAdmission?.(event);
      logger.info(logFields(event), 'admission');
    };
    /** A 4xx of our own, for a request whose body was read. */
    const fail = (status: number, outcome: 'malformed' | 'busy', error: string, details: readonly string[] = []) => {
      sendError(res, status, error, details, status === 429 ? { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) } : undefined);
      const event: AdmissionEvent = { endpoint: endpoint.name, outcome, httpStatus: status, operations: 0, error, durationSeconds: Number(clock() - started) / 1e9 };
      shell.onAdmission?.(event);
      logger.info(logFields(event), 'admission');
    };
    /**
     * A refusal before the body is read (415, 413, 429). The rest of the body is read and thrown
     * away, not kept: closing a connection with unread data makes the kernel reset it, and the
     * client would see ECONNRESET or EPIPE instead of this answer (kube-apiserver would not retry
     * a 429). A body declared within the size limit is drained whole; the connection stays usable,
     * or, when it must close (the client asked for it), closes once the body is in. A larger one (or
     * one without a length) gets `Connection: close`, and, like Go's net/http, the connection is
     * half-closed after the answer and still read for `LINGER_MS` before it is dropped.
     */
    const refuse = (status: number, outcome: 'malformed' | 'busy', error: string) => {
      done = true;
      chunks.length = 0;
      reservation?.release();
      req.on('data', () => {}); // read and dropped
      const drainable = declared !== undefined && declared <= limit;
      if (!drainable) res.setHeader('Connection', 'close');
      // node:http ends a closing connection with destroySoon(): FIN, then close at once, unread data or not.
      const socket = req.socket;
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        if (req.complete) return destroySoon();
        if (!drainable && socket.writable) socket.end();
        const timer = setTimeout(() => socket.destroy(), drainable ? DRAIN_MS : LINGER_MS);
        timer.unref();
        req.once('end', () => {
          clearTimeout(timer);
          destroySoon();
        });
      };
      fail(status, outcome, error);
    };

    const type = req.headers['content-type'];
    const lengthHeader = req.headers['content-length'];
    const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    if (!type || !JSON_TYPE.test(type)) {
      return refuse(415, 'malformed', `expected Content-Type application/json, got ${JSON.stringify(logText(type, 100) ?? '(none)')}`);
    }
    if (declared !== undefined && declared > limit) return refuse(413, 'malformed', `request body is larger than ${limit} bytes`);

    reservation = budget.reserve(declared ?? 0);
    if (!reservation) return refuse(429, 'busy', busyMessage(budget, declared ?? 0));

    const onData = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) return refuse(413, 'malformed', `request body is larger than ${limit} bytes`);
      // A chunked body (or one longer than declared, which node:http refuses anyway) grows its share.
      if (size > reservation!.bytes && !reservation!.grow(size - reservation!.bytes)) return refuse(429, 'busy', busyMessage(budget, size));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', () => {
      done = true; // the client went away; nothing to answer
    });
    const answer = () => {
      if (res.destroyed) return; // the client gave up while the body waited in the lane
      let body: unknown;
      try {
        body = JSON.parse(utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      } catch (cause) {
        chunks.length = 0;
        return fail(400, 'malformed', cause instanceof SyntaxError ? `request body is not valid JSON: ${cause.message.slice(0, 120)}` : 'request body is not valid UTF-8');
      }
      chunks.length = 0;
      let result: AdmissionAnswer | AdmissionRejection;
      try {
        result = endpoint.admit(body);
      } catch (cause) {
        // admit() catches everything itself; this is the last line of defence.
        logger.error({ endpoint: endpoint.name, err: errorText(cause) }, 'admission failed');
        return fail(400, 'malformed', 'request could not be processed');
      } finally {
        body = undefined;
        reservation!.release(); // the body is parsed and answered: its bytes are free again
      }
      if (isRejection(result)) return fail(400, 'malformed', result.error, result.details);
      if (result.cause !== undefined) logger.error({ endpoint: endpoint.name, uid: logText(result.uid), err: errorText(result.cause) }, 'admission failed; pod admitted unchanged');
      finish(200, result.review, summary(result));
    };
    req.on('end', () => {
      if (done) return;
      done = true;
      if (size > large) lane.run(answer);
      else answer();
    });
  };
}

function summary(answer: AdmissionAnswer): Summary {
  return {
    outcome: answer.outcome,
    reason: answer.reason,
    uid: answer.uid,
    namespace: answer.namespace,
    pod: answer.pod,
    operations: answer.operations,
    injected: answer.injected,
  };
}

function busyMessage(budget: BodyBudget, bytes: number): string {
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return `the webhook is busy: ${mib(budget.used())} of request bodies are being processed (budget ${mib(budget.limits.totalBytes)}) and this one needs ${mib(bytes)} more; retry in ${BUSY_RETRY_AFTER_SECONDS}s`;
}

/** The admission log line's fields (SPEC §7): every text from the request cut to a Kubernetes name's length. */
export function logFields(event: AdmissionEvent): Record<string, unknown> {
  return {
    endpoint: event.endpoint,
    outcome: event.outcome,
    reason: logText(event.reason, 300),
    uid: logText(event.uid),
    namespace: logText(event.namespace),
    pod: logText(event.pod),
    operations: event.operations,
    httpStatus: event.httpStatus,
    error: logText(event.error, 300),
    durationMs: Math.round(event.durationSeconds * 1e6) / 1e3,
  };
}

function errorText(cause: unknown): string {
  return logText(cause instanceof Error ? `${cause.name}: ${cause.message}\n${cause.stack ?? ''}` : String(cause), 2000) ?? '';
}
