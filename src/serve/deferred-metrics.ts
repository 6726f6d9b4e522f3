import type { BodyBudget } from '../http/body-budget.js';
import type { Metrics } from '../metrics.js';

/**
 * Metrics that arrive later: `serve` starts listening first and loads prom-client (~50 ms of
 * start-up) just after, with `/readyz` held until then. Until `resolve`, counts are not kept
 * (kube-apiserver sends nothing to a webhook that is not ready); the body budget is handed over
 * when they arrive.
 */
export interface DeferredMetrics {
  readonly metrics: Metrics;
  resolve(real: Metrics): void;
  loaded(): boolean;
}

export function deferMetrics(): DeferredMetrics {
  let real: Metrics | undefined;
  let budget: BodyBudget | undefined;
  const noop = () => {};
  const metrics: Metrics = {
    get registry() {
      return real?.registry;
    },
    admission: (event) => real?.admission(event),
    inFlight: () => real?.inFlight() ?? noop,
    reload: (kind, result) => real?.reload(kind, result),
    reloadFailing: (kind, failing) => real?.reloadFailing(kind, failing),
    servingCertificateExpiry: (notAfter) => real?.servingCertificateExpiry(notAfter),
    tlsError: (reason) => real?.tlsError(reason),
    logLinesDropped: (lines) => real?.logLinesDropped(lines),
    kubernetesVersion: (version, source, gitVersion) => real?.kubernetesVersion(version, source, gitVersion),
    watchBodyBudget: (watched) => {
      budget = watched;
      real?.watchBodyBudget(watched);
    },
  };
  return {
    metrics,
    loaded: () => real !== undefined,
    resolve(loaded) {
      real = loaded;
      if (budget) loaded.watchBodyBudget(budget);
    },
  };
}
