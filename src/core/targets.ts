import { DEFAULT_CONTAINER_ANNOTATION } from './annotation-keys.js';
import { needsVersion, supports, type KubernetesVersion } from './kubernetes-version.js';
import { isNativeSidecar, type Container, type ContainerList, type Pod } from './pod.js';
import { annotationProblem, type Problems } from './problems.js';
import type { InjectionStatus } from './status.js';
import { plain, quote } from './text.js';
import type { Warning } from './warnings.js';

/** A container that gets probes and the hook, and where it is in the pod. */
export interface Target {
  readonly list: ContainerList;
  readonly index: number;
  readonly container: Container;
}

/**
 * Which containers get probes and the hook (SPEC §2, §4): on reinvocation the ones the status
 * names; else the `containers` annotation; else `kubectl.kubernetes.io/default-container`; else
 * the first. Init containers are targets only when named and a native sidecar on a cluster that has
 * them (>= 1.29); ephemeral containers never. Unknown names are problems; the known ones are
 * returned all the same, so that their problems are found too.
 */
export function selectTargets(
  pod: Pod,
  requested: readonly string[] | undefined,
  status: InjectionStatus | undefined,
  version: KubernetesVersion | undefined,
  problems: Problems,
  warnings: Warning[],
): Target[] {
  const byName = new Map<string, Target>();
  const add = (list: ContainerList, containers: readonly Container[] | null | undefined) =>
    (containers ?? []).forEach((container, index) => {
      if (!byName.has(container.name)) byName.set(container.name, { list, index, container });
    });
  add('containers', pod.spec.containers);
  add('initContainers', pod.spec.initContainers);
  const usable = (target: Target) => target.list === 'containers' || (isNativeSidecar(target.container) && supports(version, 'nativeSidecars'));

  const recorded = [...(status?.containers.keys() ?? [])].flatMap((name) => {
    const target = byName.get(name);
    return target && usable(target) ? [target] : [];
  });
  if (recorded.length > 0) return recorded;

  if (requested !== undefined) {
    const targets: Target[] = [];
    const unknown: string[] = [];
    for (const name of requested) {
      const target = byName.get(name);
      if (target === undefined) unknown.push(name);
      else if (target.list === 'containers') targets.push(target);
      else if (!isNativeSidecar(target.container)) {
        problems.push(annotationProblem('containers', requested.join(','), `${quote(name)} is an init container, which runs to completion before the app: only native sidecars (restartPolicy: Always) can get probes and a preStop hook`));
      } else if (!supports(version, 'nativeSidecars')) {
        problems.push(annotationProblem('containers', requested.join(','), `${quote(name)} is a native sidecar: ${needsVersion(version, 'nativeSidecars')}`));
      } else targets.push(target);
    }
    if (unknown.length > 0) {
      const names = pod.spec.containers.slice(0, 20).map((c) => quote(c.name));
      problems.push(
        annotationProblem(
          'containers',
          requested.join(','),
          `names no container of the pod (${unknown.slice(0, 20).map((name) => quote(name)).join(', ')}); expected a comma-separated list of: ${names.join(', ') || '(the pod has no containers)'}`,
        ),
      );
    }
    return targets;
  }

  const first = pod.spec.containers[0];
  if (first === undefined) return []; // kube-apiserver refuses such a pod anyway
  const preferred = pod.metadata?.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (preferred !== undefined) {
    const target = byName.get(preferred);
    if (target?.list === 'containers') return [target];
    // Said on the first invocation; a reinvocation (status present) stays silent.
    if (status === undefined) warnings.push({ kind: 'default-container-missing', name: preferred, fallback: first.name });
  }
  return [{ list: 'containers', index: 0, container: first }];
}

/** `container "app"` / `init container "mesh"` in messages. */
export function describeTarget(target: Target): string {
  return `${target.list === 'initContainers' ? 'init container' : 'container'} ${plain(target.container.name)}`;
}
