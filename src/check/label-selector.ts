/**
 * Kubernetes label selectors (`metav1.LabelSelector`) as kube-apiserver evaluates a webhook's
 * `namespaceSelector` and `objectSelector`: every `matchLabels` pair and every `matchExpressions`
 * requirement must hold. Pure.
 */

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

export interface SelectorRequirement {
  readonly key: string;
  /** One of `SELECTOR_OPERATORS`; anything else never matches (the API server refuses it at creation). */
  readonly operator: string;
  readonly values?: readonly string[] | null | undefined;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null | undefined;
  readonly matchExpressions?: readonly SelectorRequirement[] | null | undefined;
}

export type Labels = Readonly<Record<string, string>>;

/**
 * Whether `labels` are selected. An absent selector, like an empty one, selects everything (the
 * API server defaults a webhook's selectors to `{}`).
 */
export function selects(selector: LabelSelector | null | undefined, labels: Labels): boolean {
  if (selector == null) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => holds(requirement, labels));
}

function holds(requirement: SelectorRequirement, labels: Labels): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return present && values.includes(labels[requirement.key]!);
    case 'NotIn':
      return !present || !values.includes(labels[requirement.key]!);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}

/** `kubernetes.io/metadata.name notin (kube-system,…), team=shop`: kubectl's way of writing a selector, for messages. */
export function formatSelector(selector: LabelSelector | null | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values } of selector?.matchExpressions ?? []) {
    if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else parts.push(`${key} ${operator.toLowerCase()} (${(values ?? []).join(',')})`);
  }
  return parts.length === 0 ? '(everything)' : parts.join(', ');
}
