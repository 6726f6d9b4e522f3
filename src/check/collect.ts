import type { InjectionConfig } from '../core/config.js';
import { formatVersion, versionFromInfo } from '../core/kubernetes-version.js';
import { isPod } from '../core/pod.js';
import type { Scope } from './cluster-reader.js';
import { controllerOf, type CronJobObject, type NamespaceObject, type StoredPod, type TemplatedObject, type WebhookConfigurationObject } from './cluster-objects.js';
import {
  CHECKED_KINDS,
  draftOfPod,
  draftOfTemplate,
  EMPTY_TALLY,
  factsOfPod,
  finishRow,
  namespaceSelection,
  tally,
  type CheckContext,
  type CheckedKind,
  type CheckRow,
  type PodTally,
  type RowDraft,
} from './decide.js';
import type { Labels } from './label-selector.js';
import type { CheckReport } from './report.js';
import { podWebhooks, type WebhookConfiguration } from './webhook.js';

/**
 * What `check` reads, as a port: `ClusterReader` implements it against the API server; the tests
 * give it fixtures. Lists are streamed, so that only a compact summary of each pod is kept.
 */
export interface ClusterSource {
  version(): Promise<{ readonly major?: unknown; readonly minor?: unknown; readonly gitVersion?: unknown }>;
  webhookConfigurations(): AsyncIterable<WebhookConfigurationObject>;
  namespace(name: string): Promise<NamespaceObject>;
  namespaces(): AsyncIterable<NamespaceObject>;
  deployments(scope: Scope): AsyncIterable<TemplatedObject>;
  statefulSets(scope: Scope): AsyncIterable<TemplatedObject>;
  daemonSets(scope: Scope): AsyncIterable<TemplatedObject>;
  replicaSets(scope: Scope): AsyncIterable<TemplatedObject>;
  replicationControllers(scope: Scope): AsyncIterable<TemplatedObject>;
  jobs(scope: Scope): AsyncIterable<TemplatedObject>;
  cronJobs(scope: Scope, version: 'v1' | 'v1beta1'): AsyncIterable<CronJobObject>;
  pods(scope: Scope): AsyncIterable<StoredPod>;
}

const TEMPLATE = 'spec.template';
const CRONJOB_TEMPLATE = 'spec.jobTemplate.spec.template';

function webhookConfigurationOf(object: WebhookConfigurationObject): WebhookConfiguration {
  return { name: object.metadata.name, webhooks: object.webhooks ?? [] };
}

const byRow = (a: CheckRow, b: CheckRow) =>
  a.namespace.localeCompare(b.namespace) || CHECKED_KINDS.indexOf(a.kind) - CHECKED_KINDS.indexOf(b.kind) || a.name.localeCompare(b.name);

/**
 * Reads the cluster (in this order: version, webhook configurations, namespaces, workloads, then
 * pods, each pod attributed to its workload by ownerReferences) and decides every row.
 */
export async function collectReport(source: ClusterSource, scope: Scope, config: InjectionConfig, now: () => number): Promise<CheckReport> {
  const detected = versionFromInfo(await source.version());
  // The core writes for the cluster's version unless the config says otherwise, as `serve` does.
  const coreConfig: InjectionConfig = config.kubernetesVersion === undefined ? { ...config, kubernetesVersion: detected } : config;
  const configurations: WebhookConfiguration[] = [];
  for await (const object of source.webhookConfigurations()) configurations.push(webhookConfigurationOf(object));
  const context: CheckContext = { config: coreConfig, webhooks: podWebhooks(configurations), now: now() };

  const labels = new Map<string, Labels>();
  if ('namespace' in scope) {
    const object = await source.namespace(scope.namespace);
    labels.set(object.metadata.name, object.metadata.labels ?? {});
  } else {
    for await (const object of source.namespaces()) labels.set(object.metadata.name, object.metadata.labels ?? {});
  }
  const labelsOf = (namespace: string) => labels.get(namespace) ?? {};

  const entries = new Map<string, { draft: RowDraft; pods: PodTally }>();
  /** ReplicaSet → Deployment, Job → CronJob (by uid): whose pods they are. */
  const parents = new Map<string, string>();
  const add = (kind: CheckedKind, object: TemplatedObject | CronJobObject, template: unknown, where: string) => {
    const { namespace, name, uid } = object.metadata;
    entries.set(uid, { draft: draftOfTemplate({ namespace, kind, name }, template, where, labelsOf(namespace), context), pods: EMPTY_TALLY });
  };
  const owned = (object: TemplatedObject, parentKind: string): boolean => {
    const owners = object.metadata.ownerReferences ?? [];
    const owner = controllerOf(owners);
    if (owner?.kind === parentKind) parents.set(object.metadata.uid, owner.uid);
    return owners.length > 0;
  };

  for await (const object of source.replicaSets(scope)) if (!owned(object, 'Deployment')) add('ReplicaSet', object, object.spec.template, TEMPLATE);
  for await (const object of source.jobs(scope)) if (!owned(object, 'CronJob')) add('Job', object, object.spec.template, TEMPLATE);
  for await (const object of source.deployments(scope)) add('Deployment', object, object.spec.template, TEMPLATE);
  for await (const object of source.statefulSets(scope)) add('StatefulSet', object, object.spec.template, TEMPLATE);
  for await (const object of source.daemonSets(scope)) add('DaemonSet', object, object.spec.template, TEMPLATE);
  for await (const object of source.replicationControllers(scope)) add('ReplicationController', object, object.spec.template, TEMPLATE);
  // batch/v1 CronJobs came in Kubernetes 1.21; before that only batch/v1beta1 serves them.
  const cronJobVersion = detected !== undefined && detected.major === 1 && detected.minor < 21 ? 'v1beta1' : 'v1';
  for await (const object of source.cronJobs(scope, cronJobVersion)) add('CronJob', object, object.spec.jobTemplate.spec?.template, CRONJOB_TEMPLATE);

  const rows: CheckRow[] = [];
  for await (const pod of source.pods(scope)) {
    const asPod = isPod(pod) ? pod : undefined;
    const facts = factsOfPod(pod, asPod, context);
    if ((pod.metadata.ownerReferences ?? []).length === 0) {
      const draft: RowDraft =
        asPod === undefined
          ? { ...draftOfTemplate({ namespace: pod.metadata.namespace, kind: 'Pod', name: pod.metadata.name }, undefined, 'the pod', labelsOf(pod.metadata.namespace), context), where: undefined }
          : draftOfPod(asPod, labelsOf(pod.metadata.namespace), context);
      rows.push(finishRow(draft, tally(EMPTY_TALLY, facts), context));
      continue;
    }
    const owner = controllerOf(pod.metadata.ownerReferences);
    if (owner === undefined) continue;
    const entry = entries.get(parents.get(owner.uid) ?? owner.uid);
    if (entry !== undefined) entry.pods = tally(entry.pods, facts);
  }
  for (const { draft, pods } of entries.values()) rows.push(finishRow(draft, pods, context));
  rows.sort(byRow);

  return {
    kubernetesVersion: formatVersion(detected),
    conditionType: coreConfig.nacos.gate.conditionType,
    namespace: 'namespace' in scope ? scope.namespace : undefined,
    webhooks: context.webhooks,
    namespaces: [...labels].map(([name, namespaceLabels]) => ({ name, webhook: namespaceSelection(name, namespaceLabels, context) })),
    rows,
  };
}
