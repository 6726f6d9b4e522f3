import type https from 'node:https';
import { listen } from './http/listen.js';
import type { SecureContextOptions } from 'node:tls';
import type { InjectionConfig } from './core/config.js';
import type { AdmissionEndpoint } from './http/admission-handler.js';
import { createBodyBudget, type BodyBudgetLimits } from './http/body-budget.js';
import { createHealthHandler } from './http/health.js';
import { createMetricsHandler } from './http/metrics-server.js';
import { createServer, type Handler, type ServerTimeouts } from './http/server.js';
import { createWorkLane } from './http/work-lane.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface WebhookOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly tls: SecureContextOptions;
  /** The current configuration; called per request, so reloads apply at once. */
  readonly config: () => InjectionConfig;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Largest request body (default 6 MiB): 413 beyond. */
  readonly bodyLimit?: number | undefined;
  /** All request bodies being received at once (default `DEFAULT_BODY_BUDGET`): 429 beyond. */
  readonly bodyBudget?: BodyBudgetLimits | undefined;
  readonly timeouts?: Partial<ServerTimeouts> | undefined;
  /** The admission endpoints (default: `/mutate` and `/validate` on `config`). */
  readonly endpoints?: readonly AdmissionEndpoint[] | undefined;
  /** While it returns a reason, `/readyz` answers 503 with it (start-up work still under way). */
  readonly starting?: (() => string | undefined) | undefined;
}

export interface Webhook {
  readonly server: https.Server;
  readonly port: number;
  readonly timeouts: ServerTimeouts;
  /** `GET /healthz` and `GET /readyz`, for another port to serve too. */
  readonly health: Handler;
  isReady(): boolean;
  /** Requests received and not yet answered. */
  inFlight(): number;
  /** Serves new TLS connections with another certificate; existing connections keep theirs. */
  setTls(tls: SecureContextOptions): void;
  /**
   * Graceful stop. At once: `/readyz` turns 503 and every response (in flight or new) carries
   * `Connection: close`. For `delayMs` requests are still served, so endpoints and kube-apiserver
   * move away; then the listener closes and idle connections are closed, and the promise resolves
   * once every request in flight has been answered and its connection closed. Requests cannot
   * outlive `timeouts.requestMs` (node:http answers 408), so this ends by `delayMs + requestMs`.
   */
  shutdown(delayMs?: number): Promise<void>;
}

/** The endpoints a webhook serves by default: `POST /mutate` (pods) and `POST /validate` (workloads). */
const DEFAULT_ENDPOINTS = ['mutate', 'validate'] as const;

/** Starts the HTTPS webhook (the shell around the pure core) and resolves once it listens. */
export async function startWebhook(options: WebhookOptions): Promise<Webhook> {
  let draining = false;
  const { metrics, logger } = options;
  const budget = createBodyBudget(options.bodyBudget);
  metrics?.watchBodyBudget(budget);
  const shell = {
    logger,
    bodyLimit: options.bodyLimit,
    budget,
    lane: createWorkLane(),
    onAdmission: metrics && ((event: Parameters<typeof metrics.admission>[0]) => metrics.admission(event)),
    onRequest: metrics && (() => metrics.inFlight()),
  };
  // The admission stack (the core, valibot: ~40 ms to load) is loaded once the listener is up, like
  // everything /healthz does not need; /readyz waits for it, and a request that comes earlier waits
  // for it too. Once loaded, the routes hold the handlers themselves.
  const names = options.endpoints?.map((endpoint) => endpoint.name) ?? DEFAULT_ENDPOINTS;
  let loaded = false;
  let loading: Promise<void> | undefined;
  const admission = new Map<string, Handler>();
  const load = () =>
    (loading ??= import('./http/admission-handler.js').then(({ createAdmissionHandler, mutateEndpoint, validateEndpoint }) => {
      const endpoints = options.endpoints ?? [mutateEndpoint(options.config), validateEndpoint(options.config)];
      for (const endpoint of endpoints) admission.set(`/${endpoint.name}`, createAdmissionHandler(endpoint, shell));
      loaded = true;
    }));
  for (const name of names) admission.set(`/${name}`, (req, res) => void load().then(() => admission.get(`/${name}`)!(req, res)));
  // (Before startWebhook resolves, a request can only come from a client that found the port first.)
  const notReady = () => (draining ? 'shutting down' : !loaded ? 'loading' : options.starting?.());
  const health = createHealthHandler(notReady);
  const web = createServer({
    tls: options.tls,
    timeouts: options.timeouts,
    routes: {
      admission,
      health,
      metrics: metrics && createMetricsHandler(() => metrics.registry),
      app: async () => {
        const { createApp } = await import('./http/app.js');
        return createApp({ logger, admissionPaths: [...admission.keys()], metrics: metrics !== undefined });
      },
    },
    onTlsError: metrics && ((reason) => metrics.tlsError(reason)),
  });
  const { server } = web;
  const port = await listen(server, options.port, options.host);
  // Listening: /healthz answers while the admission stack loads.
  await load();
  return {
    server,
    port,
    timeouts: web.timeouts,
    health,
    isReady: () => notReady() === undefined,
    inFlight: web.inFlight,
    setTls: (tls) => server.setSecureContext({ ...tls, minVersion: 'TLSv1.2' }),
    shutdown: async (delayMs = 0) => {
      draining = true;
      web.drain();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await new Promise<void>((resolve) => {
        // close() stops accepting and closes idle connections (node ≥ 19); a connection with a
        // request in flight closes after its response, which says `Connection: close`. The sweep
        // catches a connection whose response had started before the drain.
        const sweep = setInterval(() => server.closeIdleConnections(), 250);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
      });
    },
  };
}
