import { makeInjectionConfig, type ConfigInput } from '../../src/core/config.js';
import { mutatePod, type Mutation } from '../../src/core/mutation.js';
import { isPod } from '../../src/core/pod.js';
import { formatDenial, warningTexts } from '../../src/messages.js';
import { validatePod } from './kube-validation.js';
import { clone, type Pod } from './pod.js';
import { applyStrict } from './patch.js';

/** What the core answered for a pod, worded as the admission response words it. */
export interface Injected {
  readonly mutation: Mutation;
  /** The patch as the response carries it (parsed from its JSON). */
  readonly patch: any[];
  /** The original pod with the patch applied (strict RFC 6902). */
  readonly pod: Pod;
  readonly warnings: string[];
  /** The denial message, when denied. */
  readonly denial?: string | undefined;
}

/**
 * Runs the pure core on a pod (no HTTP): the patch is applied strictly to a copy, the result goes
 * through the kube-apiserver validation mirror of the config's Kubernetes version, and the input pod
 * must come back untouched.
 */
export function inject(pod: Pod, config: ConfigInput = {}): Injected {
  if (!isPod(pod)) throw new Error('not a pod by the core schema');
  const before = JSON.stringify(pod);
  const resolved = makeInjectionConfig(config);
  const mutation = mutatePod(pod, resolved);
  if (JSON.stringify(pod) !== before) throw new Error('mutatePod changed its input');
  const patch = mutation.patchJson === '' ? [] : JSON.parse(mutation.patchJson);
  const patched = applyStrict(clone(pod), patch);
  if (mutation.outcome !== 'denied') {
    const errors = validatePod(patched, { minor: resolved.kubernetesVersion?.minor ?? 20 });
    if (errors.length > 0) throw new Error(`kube-apiserver would reject the patched pod:\n${errors.join('\n')}`);
  }
  return {
    mutation,
    patch,
    pod: patched,
    warnings: warningTexts(mutation.warnings),
    denial: mutation.outcome === 'denied' ? formatDenial(mutation.problems) : undefined,
  };
}
