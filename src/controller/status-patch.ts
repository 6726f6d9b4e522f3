import type { ConditionWrite } from './gate.js';

/**
 * The body of the `pods/status` PATCH that writes our condition: a strategic merge patch, so the
 * API server merges `status.conditions` by `type` and no other condition (the kubelet's) is
 * touched; with `metadata.resourceVersion`, so it only applies to the version the decision was made
 * on (else 409 Conflict, and the controller re-reads and decides again).
 */
export const STATUS_PATCH_CONTENT_TYPE = 'application/strategic-merge-patch+json';

export interface StatusPatch {
  readonly metadata: { readonly resourceVersion: string };
  readonly status: {
    readonly conditions: readonly [
      {
        readonly type: string;
        readonly status: 'True' | 'False';
        readonly reason: string;
        readonly message: string;
        readonly lastTransitionTime: string;
        readonly lastProbeTime: null;
      },
    ];
  };
}

export function gateStatusPatch(conditionType: string, write: ConditionWrite, resourceVersion: string): StatusPatch {
  return {
    metadata: { resourceVersion },
    status: {
      conditions: [
        {
          type: conditionType,
          status: write.status,
          reason: write.reason,
          message: write.message,
          lastTransitionTime: kubeTime(write.lastTransitionTime),
          lastProbeTime: null,
        },
      ],
    },
  };
}

/** metav1.Time: RFC 3339 in UTC, whole seconds (what the API server stores). */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
