import { scanAnnotations } from '../core/annotation-scan.js';
import { BOUNDS } from '../core/bounds.js';
import type { InjectionConfig } from '../core/config.js';
import { mutatePod, mutationKey, type Mutation } from '../core/mutation.js';
import type { Pod } from '../core/pod.js';

/**
 * The core's answers for the pod contents seen last, per configuration: kube-apiserver sends the
 * same pod again and again (every replica of a ReplicaSet, every reinvocation), and the core is
 * pure, so a repeated content gets the answer already computed. Bounded: a few hundred entries of
 * small pods (a big pod is computed every time).
 */
const ENTRIES = 512;
const MAX_KEY_LENGTH = 64 * 1024;
const MAX_CONTAINERS = 16;

const caches = new WeakMap<InjectionConfig, Map<string, Mutation>>();

/** Whether the pod is small enough that its key is cheap (a big pod would cost more to key than to answer). */
function keyable(pod: Pod): boolean {
  const annotations = pod.metadata?.annotations;
  return (
    pod.spec.containers.length + (pod.spec.initContainers?.length ?? 0) <= MAX_CONTAINERS &&
    (pod.spec.readinessGates?.length ?? 0) <= BOUNDS.readinessGates &&
    (annotations == null || !scanAnnotations(annotations).overBound)
  );
}

export function memoizedMutatePod(pod: Pod, config: InjectionConfig): Mutation {
  if (!keyable(pod)) return mutatePod(pod, config);
  const key = mutationKey(pod);
  if (key.length > MAX_KEY_LENGTH) return mutatePod(pod, config);
  let cache = caches.get(config);
  if (!cache) caches.set(config, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // most recently used last
    cache.set(key, hit);
    return hit;
  }
  const mutation = mutatePod(pod, config);
  cache.set(key, mutation);
  if (cache.size > ENTRIES) cache.delete(cache.keys().next().value ?? key);
  return mutation;
}
