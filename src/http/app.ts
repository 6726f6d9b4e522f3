import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';

export interface AppOptions {
  readonly logger: Logger;
  /** Served at `/metrics` in the Prometheus text format. */
  readonly registry?: Registry | undefined;
}

/**
 * The application around the admission path: metrics, and a JSON 404/405/error for everything
 * else. (`POST /mutate`, `GET /healthz` and `GET /readyz` never reach it: see server.ts.)
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('env', 'production');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  const { registry } = options;
  if (registry) {
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  app.all('/mutate', (_req, res) => {
    res.set('Allow', 'POST').status(405).json({ code: 405, error: 'use POST /mutate with an AdmissionReview' });
  });
  app.use((req, res) => {
    res.status(404).json({ code: 404, error: `no route for ${req.method} ${req.path.slice(0, 200)}` });
  });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    options.logger.error({ err }, 'request failed');
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    res.status(status).json({ code: status, error: status === 500 ? 'internal error' : String(err.message ?? 'bad request') });
  };
  app.use(onError);
  return app;
}
