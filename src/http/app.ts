import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from '../logger.js';

export interface AppOptions {
  readonly logger: Logger;
  /** The admission paths (`/mutate`, …): any method but POST gets a 405 there. */
  readonly admissionPaths: readonly string[];
  /** Whether `GET /metrics` is served (then other methods get a 405 there). */
  readonly metrics: boolean;
}

/**
 * The application around the endpoints the cluster calls: a JSON 404/405/error for everything
 * else. (`POST /mutate`, `GET /healthz`, `GET /readyz` and `GET /metrics` never reach it: see
 * server.ts.)
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('env', 'production');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  for (const path of options.admissionPaths) {
    app.all(path, (_req, res) => {
      res.set('Allow', 'POST').status(405).json({ code: 405, error: `use POST ${path} with an AdmissionReview` });
    });
  }
  if (options.metrics) {
    app.all('/metrics', (_req, res) => {
      res.set('Allow', 'GET').status(405).json({ code: 405, error: 'use GET /metrics' });
    });
  }
  app.use((req, res) => {
    res.status(404).json({ code: 404, error: `no route for ${req.method.slice(0, 20)} ${req.path.slice(0, 200)}` });
  });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    options.logger.error({ err: String(err?.message ?? err).slice(0, 300) }, 'request failed');
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ code: status, error: status === 500 ? 'internal error' : String(err.message ?? 'bad request').slice(0, 300) });
  };
  app.use(onError);
  return app;
}
