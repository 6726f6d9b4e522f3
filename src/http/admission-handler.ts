import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, isRejection, type AdmissionAnswer, type AdmissionOutcome } from '../core/admission.js';
import type { InjectionConfig } from '../core/config.js';
import type { Logger } from '../logger.js';

export const DEFAULT_BODY_LIMIT = 6 * 1024 * 1024;

/** One admission as the shell saw it: what the log line and the metrics are made of. */
export interface AdmissionEvent {
  readonly outcome: AdmissionOutcome | 'malformed';
  readonly httpStatus: number;
  readonly uid?: string | undefined;
  readonly namespace?: string | undefined;
  readonly pod?: string | undefined;
  readonly operations: number;
  readonly injected?: Readonly<Record<string, number>> | undefined;
  readonly durationSeconds: number;
}

export interface AdmissionHandlerOptions {
  /** Read per request, so a reloaded config applies to the next request. */
  readonly config: () => InjectionConfig;
  readonly logger: Logger;
  readonly bodyLimit?: number | undefined;
  /** Monotonic clock in nanoseconds (injectable for tests). */
  readonly clock?: () => bigint;
  readonly onAdmission?: ((event: AdmissionEvent) => void) | undefined;
  /** Called when a request arrives; the returned function when its response is done or abandoned. */
  readonly onRequest?: (() => () => void) | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `POST /mutate`, on plain `node:http` types: this is the hot path, called for every pod created in
 * the cluster, so it skips express's per-request machinery. It checks, in order: content type
 * (415), size (413), UTF-8 and JSON (400), then the AdmissionReview schema (400) — and hands the
 * parsed body to the pure core. It never throws and always answers.
 */
export function createAdmissionHandler(options: AdmissionHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const clock = options.clock ?? process.hrtime.bigint;
  const { logger } = options;

  return (req, res) => {
    const started = clock();
    const settled = options.onRequest?.();
    if (settled) res.once('close', settled);
    const finish = (status: number, body: unknown, event: Omit<AdmissionEvent, 'httpStatus' | 'durationSeconds'>) => {
      send(res, status, body);
      const full: AdmissionEvent = { ...event, httpStatus: status, durationSeconds: Number(clock() - started) / 1e9 };
      options.onAdmission?.(full);
      const { durationSeconds, injected, ...fields } = full;
      logger.info({ ...fields, durationMs: Math.round(durationSeconds * 1e6) / 1e3 }, 'admission');
    };
    const fail = (status: number, error: string, details: readonly string[] = []) => {
      if (status === 413 || status === 415) res.setHeader('Connection', 'close');
      finish(status, { code: status, error, details }, { outcome: 'malformed', operations: 0 });
    };

    const type = req.headers['content-type'];
    if (!type || !/^application\/json\s*(;|$)/i.test(type)) {
      return fail(415, `expected Content-Type application/json, got ${JSON.stringify(type ?? '(none)')}`);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return fail(413, `request body is larger than ${limit} bytes`);

    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        fail(413, `request body is larger than ${limit} bytes`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      done = true; // the client went away; nothing to answer
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      let body: unknown;
      try {
        body = JSON.parse(utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      } catch (cause) {
        const reason = cause instanceof SyntaxError ? `request body is not valid JSON: ${cause.message.slice(0, 120)}` : 'request body is not valid UTF-8';
        return fail(400, reason);
      }
      let answer: ReturnType<typeof admit>;
      try {
        answer = admit(body, options.config());
      } catch (cause) {
        // admit() catches everything itself; this is the last line of defence.
        logger.error({ err: cause }, 'admission failed');
        return fail(400, 'request could not be processed');
      }
      if (isRejection(answer)) return fail(400, answer.error, answer.details);
      if (answer.cause !== undefined) logger.error({ err: answer.cause, uid: answer.uid }, 'injection failed; pod admitted unchanged');
      finish(200, answer.review, summary(answer));
    });
  };
}

function summary(answer: AdmissionAnswer): Omit<AdmissionEvent, 'httpStatus' | 'durationSeconds'> {
  return { outcome: answer.outcome, uid: answer.uid, namespace: answer.namespace, pod: answer.pod, operations: answer.operations, injected: answer.injected };
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  res.end(payload);
}
