import { bounded, plain } from '../core/text.js';
import { selects, type LabelSelector, type Labels } from './label-selector.js';

/**
 * The pod webhook as the cluster has it registered: which MutatingWebhookConfigurations hold a
 * webhook of ours, and whether one of them sends a namespace's pods to it. Pure.
 */

/** The webhook's name in `manifests/` (SPEC §7). */
export const POD_WEBHOOK_NAME = 'pods.probe-injector.io';
export const MUTATE_PATH = '/mutate';

export interface WebhookRule {
  readonly operations?: readonly string[] | null | undefined;
  readonly apiGroups?: readonly string[] | null | undefined;
  readonly resources?: readonly string[] | null | undefined;
}

/** One entry of a MutatingWebhookConfiguration's `webhooks`, as the check reads it. */
export interface RegisteredWebhook {
  readonly name: string;
  readonly clientConfig: {
    readonly url?: string | null | undefined;
    readonly service?: { readonly namespace: string; readonly name: string; readonly path?: string | null | undefined; readonly port?: number | null | undefined } | null | undefined;
  };
  readonly rules?: readonly WebhookRule[] | null | undefined;
  readonly namespaceSelector?: LabelSelector | null | undefined;
  readonly objectSelector?: LabelSelector | null | undefined;
}

export interface WebhookConfiguration {
  readonly name: string;
  readonly webhooks: readonly RegisteredWebhook[];
}

/** A webhook of ours, named `configuration/webhook`. */
export interface PodWebhook {
  readonly id: string;
  /** Where the API server sends the pods: `service probe-injector/probe-injector:443/mutate` or the URL. */
  readonly calls: string;
  /** Its rules send pod CREATEs at all. */
  readonly receivesPods: boolean;
  readonly namespaceSelector?: LabelSelector | null | undefined;
  readonly objectSelector?: LabelSelector | null | undefined;
}

function pathOf(webhook: RegisteredWebhook): string | undefined {
  const { url, service } = webhook.clientConfig;
  if (service) return service.path ?? undefined;
  if (!url) return undefined;
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function callsOf(webhook: RegisteredWebhook): string {
  const { url, service } = webhook.clientConfig;
  if (service) return `service ${plain(`${service.namespace}/${service.name}:${service.port ?? 443}${service.path ?? ''}`, 300)}`;
  return url ? plain(url, 300) : '(no clientConfig)';
}

const ids = (webhooks: readonly PodWebhook[]) => bounded(webhooks.map((webhook) => webhook.id).join(', '), 400);

const covers = (list: readonly string[] | null | undefined, wanted: string) => (list ?? []).some((item) => item === wanted || item === '*');

/** Whether the rules send `CREATE pods` (core group) to the webhook. */
function receivesPods(webhook: RegisteredWebhook): boolean {
  return (webhook.rules ?? []).some(
    (rule) => covers(rule.operations, 'CREATE') && covers(rule.apiGroups, '') && (covers(rule.resources, 'pods') || (rule.resources ?? []).includes('*/*')),
  );
}

/** Ours: named `pods.probe-injector.io`, or calling a `/mutate` path (a renamed registration of the same server). */
export function podWebhooks(configurations: readonly WebhookConfiguration[]): PodWebhook[] {
  return configurations.flatMap((configuration) =>
    configuration.webhooks
      .filter((webhook) => webhook.name === POD_WEBHOOK_NAME || pathOf(webhook) === MUTATE_PATH)
      .map((webhook) => ({
        id: plain(`${configuration.name}/${webhook.name}`, 200),
        calls: callsOf(webhook),
        receivesPods: receivesPods(webhook),
        namespaceSelector: webhook.namespaceSelector,
        objectSelector: webhook.objectSelector,
      })),
  );
}

/** Whether the API server sends a namespace's pods to the webhook, and why not. */
export type Selection =
  | { readonly selected: true; readonly by: readonly string[] }
  | { readonly selected: false; readonly why: 'no-webhook' | 'no-pod-rule' | 'namespace-not-selected' | 'object-not-selected'; readonly text: string };

export const NO_WEBHOOK_TEXT = `no MutatingWebhookConfiguration has the webhook ${POD_WEBHOOK_NAME} (or one calling ${MUTATE_PATH})`;

/**
 * The webhooks that would be called for a pod with `podLabels` in a namespace with
 * `namespaceLabels` (its rules take pod CREATEs, its namespaceSelector and objectSelector match).
 * Without `podLabels` only the namespace is looked at.
 */
export function selection(webhooks: readonly PodWebhook[], namespace: string, namespaceLabels: Labels, podLabels?: Labels): Selection {
  if (webhooks.length === 0) return { selected: false, why: 'no-webhook', text: NO_WEBHOOK_TEXT };
  const receiving = webhooks.filter((webhook) => webhook.receivesPods);
  if (receiving.length === 0) return { selected: false, why: 'no-pod-rule', text: `the rules of ${ids(webhooks)} do not send pod CREATEs` };
  const forNamespace = receiving.filter((webhook) => selects(webhook.namespaceSelector, namespaceLabels));
  if (forNamespace.length === 0) {
    return { selected: false, why: 'namespace-not-selected', text: `namespace ${plain(namespace)} is not selected by the namespaceSelector of ${ids(receiving)}` };
  }
  const by = podLabels === undefined ? forNamespace : forNamespace.filter((webhook) => selects(webhook.objectSelector, podLabels));
  if (by.length === 0) return { selected: false, why: 'object-not-selected', text: `the pod's labels are not selected by the objectSelector of ${ids(forNamespace)}` };
  return { selected: true, by: by.map((webhook) => webhook.id) };
}
