import type * as K8s from '@kubernetes/client-node';
import * as v from 'valibot';
import { issueText } from '../core/schema.js';
import { apiError } from '../controller/kube-api.js';
import { CronJobSchema, NamespaceSchema, StoredPodSchema, TemplatedSchema, WebhookConfigurationSchema } from './cluster-objects.js';

/**
 * The Kubernetes side of `check`: list and get calls only (read-only RBAC, docs/check.md), each
 * list paginated (`limit` / `continue`) so that a big cluster is read a page at a time, each call
 * bounded in time. Every item is checked against its schema here; a call that fails, or an answer
 * that is not what the API documents, ends the run with a `CheckReadError` naming the call.
 */

export const PAGE_SIZE = 500;
export const CALL_TIMEOUT_MS = 30_000;

export class CheckReadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CheckReadError';
  }
}

export interface CheckApis {
  readonly k8s: typeof K8s;
  readonly core: K8s.CoreV1Api;
  readonly apps: K8s.AppsV1Api;
  readonly batch: K8s.BatchV1Api;
  readonly custom: K8s.CustomObjectsApi;
  readonly admission: K8s.AdmissionregistrationV1Api;
  readonly version: K8s.VersionApi;
}

export function makeCheckApis(k8s: typeof K8s, kubeConfig: K8s.KubeConfig): CheckApis {
  return {
    k8s,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    apps: kubeConfig.makeApiClient(k8s.AppsV1Api),
    batch: kubeConfig.makeApiClient(k8s.BatchV1Api),
    custom: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
    admission: kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api),
    version: kubeConfig.makeApiClient(k8s.VersionApi),
  };
}

/** One call's options: an abort after `CALL_TIMEOUT_MS`. */
function bounded(k8s: typeof K8s, timeoutMs: number): K8s.ConfigurationOptions<K8s.ObservableMiddleware> {
  const middleware: K8s.ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (context) => new k8s.Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

interface Page {
  readonly items?: readonly unknown[] | null;
  readonly metadata?: { readonly _continue?: string | null; readonly continue?: string | null } | null;
}

type PageCall = (page: { limit: number; _continue?: string }, options: K8s.ConfigurationOptions<K8s.ObservableMiddleware>) => Promise<Page>;

/** Which objects a list is for: one namespace, or all. */
export type Scope = { readonly namespace: string } | { readonly all: true };

export const inScope = (scope: Scope) => ('namespace' in scope ? ` in namespace ${scope.namespace}` : ' in all namespaces');

export interface ReaderOptions {
  /** Bound on each call (default `CALL_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
  /** `limit` of each list call (default `PAGE_SIZE`). */
  readonly pageSize?: number;
  /** Told of every page read: which list, how many items (for tests and debugging). */
  readonly onPage?: (what: string, items: number) => void;
}

export class ClusterReader {
  private readonly timeoutMs: number;
  private readonly pageSize: number;

  constructor(
    private readonly apis: CheckApis,
    private readonly options: ReaderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  private async call<T>(what: string, run: (options: K8s.ConfigurationOptions<K8s.ObservableMiddleware>) => Promise<T>): Promise<T> {
    try {
      return await run(bounded(this.apis.k8s, this.timeoutMs));
    } catch (error) {
      throw new CheckReadError(apiError(what, error, this.timeoutMs).message, { cause: error });
    }
  }

  /** Every item of a list, a page at a time, each checked against `schema`. */
  private async *list<S extends v.GenericSchema>(what: string, schema: S, call: PageCall): AsyncGenerator<v.InferOutput<S>> {
    let token: string | undefined;
    let index = 0;
    do {
      const page = await this.call(what, (options) => call({ limit: this.pageSize, ...(token !== undefined && { _continue: token }) }, options));
      if (page === null || typeof page !== 'object' || !Array.isArray(page.items)) throw new CheckReadError(`${what}: the answer is not a list`);
      this.options.onPage?.(what, page.items.length);
      for (const item of page.items) {
        const result = v.safeParse(schema, item);
        if (!result.success) throw new CheckReadError(`${what}: item ${index} is not what the API documents: ${result.issues.slice(0, 3).map((issue) => issueText(issue)).join('; ')}`);
        index++;
        yield result.output;
      }
      token = page.metadata?._continue ?? page.metadata?.continue ?? undefined;
      if (token === '') token = undefined;
    } while (token !== undefined);
  }

  /** `GET /version`: `{ major, minor, gitVersion }`. */
  async version(): Promise<{ major?: unknown; minor?: unknown; gitVersion?: unknown }> {
    return this.call('get the API server version (GET /version)', (options) => this.apis.version.getCode(options));
  }

  webhookConfigurations() {
    return this.list('list mutatingwebhookconfigurations', WebhookConfigurationSchema, (page, options) => this.apis.admission.listMutatingWebhookConfiguration(page, options));
  }

  async namespace(name: string) {
    const object = await this.call(`get namespace ${name}`, (options) => this.apis.core.readNamespace({ name }, options));
    const result = v.safeParse(NamespaceSchema, object);
    if (!result.success) throw new CheckReadError(`get namespace ${name}: not what the API documents: ${result.issues.slice(0, 3).map((issue) => issueText(issue)).join('; ')}`);
    return result.output;
  }

  namespaces() {
    return this.list('list namespaces', NamespaceSchema, (page, options) => this.apis.core.listNamespace(page, options));
  }

  deployments(scope: Scope) {
    const { apps } = this.apis;
    return this.list(`list deployments${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope ? apps.listNamespacedDeployment({ namespace: scope.namespace, ...page }, options) : apps.listDeploymentForAllNamespaces(page, options),
    );
  }

  statefulSets(scope: Scope) {
    const { apps } = this.apis;
    return this.list(`list statefulsets${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope ? apps.listNamespacedStatefulSet({ namespace: scope.namespace, ...page }, options) : apps.listStatefulSetForAllNamespaces(page, options),
    );
  }

  daemonSets(scope: Scope) {
    const { apps } = this.apis;
    return this.list(`list daemonsets${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope ? apps.listNamespacedDaemonSet({ namespace: scope.namespace, ...page }, options) : apps.listDaemonSetForAllNamespaces(page, options),
    );
  }

  replicaSets(scope: Scope) {
    const { apps } = this.apis;
    return this.list(`list replicasets${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope ? apps.listNamespacedReplicaSet({ namespace: scope.namespace, ...page }, options) : apps.listReplicaSetForAllNamespaces(page, options),
    );
  }

  replicationControllers(scope: Scope) {
    const { core } = this.apis;
    return this.list(`list replicationcontrollers${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope
        ? core.listNamespacedReplicationController({ namespace: scope.namespace, ...page }, options)
        : core.listReplicationControllerForAllNamespaces(page, options),
    );
  }

  jobs(scope: Scope) {
    const { batch } = this.apis;
    return this.list(`list jobs${inScope(scope)}`, TemplatedSchema, (page, options) =>
      'namespace' in scope ? batch.listNamespacedJob({ namespace: scope.namespace, ...page }, options) : batch.listJobForAllNamespaces(page, options),
    );
  }

  /** batch/v1 CronJobs, or on clusters before 1.21 batch/v1beta1 (no typed client for it: read as custom objects). */
  cronJobs(scope: Scope, version: 'v1' | 'v1beta1') {
    const { batch, custom } = this.apis;
    const what = `list cronjobs (batch/${version})${inScope(scope)}`;
    if (version === 'v1') {
      return this.list(what, CronJobSchema, (page, options) =>
        'namespace' in scope ? batch.listNamespacedCronJob({ namespace: scope.namespace, ...page }, options) : batch.listCronJobForAllNamespaces(page, options),
      );
    }
    const resource = { group: 'batch', version: 'v1beta1', plural: 'cronjobs' };
    return this.list(what, CronJobSchema, (page, options) =>
      'namespace' in scope
        ? custom.listNamespacedCustomObject({ ...resource, namespace: scope.namespace, ...page }, options)
        : custom.listClusterCustomObject({ ...resource, ...page }, options),
    );
  }

  pods(scope: Scope) {
    const { core } = this.apis;
    return this.list(`list pods${inScope(scope)}`, StoredPodSchema, (page, options) =>
      'namespace' in scope ? core.listNamespacedPod({ namespace: scope.namespace, ...page }, options) : core.listPodForAllNamespaces(page, options),
    );
  }
}
