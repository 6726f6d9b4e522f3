import type { Problem } from './problems.js';

/** What the webhook adds to a container, as the status annotation and the metrics name it. */
export type InjectedItem = 'startupProbe' | 'readinessProbe' | 'livenessProbe' | 'preStop';

/**
 * What the core wants the user to know, as data. The words (and the `probe-injector: ` prefix)
 * are added once, at the edge that speaks: the admission response, `mutate`, `check`, the logs.
 */
export type Warning =
  /** The container already had `item`; it was kept, and `key` (which asked for it) was ignored. */
  | { readonly kind: 'kept'; readonly container: string; readonly item: InjectedItem; readonly key: string }
  /** The grace period was raised so the injected preStop hook and the app's shutdown fit in it. */
  | {
      readonly kind: 'grace-raised';
      readonly from: number;
      readonly to: number;
      readonly callSeconds: number;
      readonly sleepSeconds: number;
      readonly shutdownSeconds: number;
    }
  /** `kubectl.kubernetes.io/default-container` names no container: the first one was used. */
  | { readonly kind: 'default-container-missing'; readonly name: string; readonly fallback: string }
  /** Opted in by `injectByDefault` only: these containers have no port to probe and got no port-based probes. */
  | { readonly kind: 'no-port'; readonly containers: readonly string[] }
  /** A key under the prefix (in any case) that is not known, on a pod that is not opted in. */
  | { readonly kind: 'unknown-key'; readonly key: string; readonly suggestions: readonly string[] }
  /** `errorPolicy: warn`: a problem, allowed. */
  | { readonly kind: 'problem'; readonly problem: Problem }
  /** More warnings than one answer carries. */
  | { readonly kind: 'more'; readonly count: number };
