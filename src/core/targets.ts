import { DEFAULT_CONTAINER_ANNOTATION } from './annotation-keys.js';
import { needsVersion, supports, type KubernetesVersion } from './kubernetes-version.js';
import { containerIssue, isContainer, isNativeSidecar, type Container, type ContainerList, type NamedContainer, type Pod } from './pod.js';
import { annotationProblem, podProblem, type Problems } from './problems.js';
import type { InjectionStatus } from './status.js';
import { plain, quote } from './text.js';
import type { Warning } from './warnings.js';

/** A container that gets probes and the hook, and where it is in the pod. */
export interface Target {
  readonly list: ContainerList;
  readonly index: number;
  readonly container: Container;
}

/** A container found by name, not yet checked. */
interface Found {
  readonly list: ContainerList;
  readonly index: number;
  readonly container: NamedContainer;
}

/**
 * The containers with these names, regular ones first, in one pass over each list (a pod may have
 * tens of thousands; only a few are asked for). The first of a name counts.
 */
function findByName(pod: Pod, names: ReadonlySet<string>): Map<string, Found> {
  const found = new Map<string, Found>();
  const scan = (list: ContainerList, containers: readonly NamedContainer[] | null | undefined) => {
    (containers ?? []).forEach((container, index) => {
      if (names.has(container.name) && !found.has(container.name)) found.set(container.name, { list, index, container });
    });
  };
  scan('containers', pod.spec.containers);
  scan('initContainers', pod.spec.initContainers);
  return found;
}

/**
 * Which containers get probes and the hook (SPEC §2, §4): on reinvocation the ones the status
 * names; else the `containers` annotation; else `kubectl.kubernetes.io/default-container`; else
 * the first. Init containers are targets only when named and a native sidecar on a cluster that has
 * them (>= 1.29); ephemeral containers never. Unknown names are problems; the known ones are
 * returned all the same, so that their problems are found too. A target's ports, probes and
 * lifecycle are checked here, as the core reads them.
 */
export function selectTargets(
  pod: Pod,
  requested: readonly string[] | undefined,
  status: InjectionStatus | undefined,
  version: KubernetesVersion | undefined,
  problems: Problems,
  warnings: Warning[],
): Target[] {
  const checked = (found: Found): Target[] => {
    if (isContainer(found.container)) return [{ list: found.list, index: found.index, container: found.container }];
    problems.push(podProblem('containers', `container ${quote(found.container.name)} is not a valid container: ${containerIssue(found.container)}`));
    return [];
  };
  const usable = (found: Found) => found.list === 'containers' || (isNativeSidecar(found.container) && supports(version, 'nativeSidecars'));

  const recordedNames = [...(status?.containers.keys() ?? [])];
  if (recordedNames.length > 0) {
    const found = findByName(pod, new Set(recordedNames));
    const recorded = recordedNames.flatMap((name) => {
      const target = found.get(name);
      return target && usable(target) ? checked(target) : [];
    });
    if (recorded.length > 0) return recorded;
  }

  if (requested !== undefined) {
    const found = findByName(pod, new Set(requested));
    const targets: Target[] = [];
    const unknown: string[] = [];
    for (const name of requested) {
      const target = found.get(name);
      if (target === undefined) unknown.push(name);
      else if (target.list === 'containers') targets.push(...checked(target));
      else if (!isNativeSidecar(target.container)) {
        problems.push(annotationProblem('containers', requested.join(','), `${quote(name)} is an init container, which runs to completion before the app: only native sidecars (restartPolicy: Always) can get probes and a preStop hook`));
      } else if (!supports(version, 'nativeSidecars')) {
        problems.push(annotationProblem('containers', requested.join(','), `${quote(name)} is a native sidecar: ${needsVersion(version, 'nativeSidecars')}`));
      } else targets.push(...checked(target));
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
    const index = pod.spec.containers.findIndex((container) => container.name === preferred);
    const container = pod.spec.containers[index];
    if (container) return checked({ list: 'containers', index, container });
    // Said on the first invocation; a reinvocation (status present) stays silent.
    if (status === undefined) warnings.push({ kind: 'default-container-missing', name: preferred, fallback: first.name });
  }
  return checked({ list: 'containers', index: 0, container: first });
}

/** `container "app"` / `init container "mesh"` in messages. */
export function describeTarget(target: Target): string {
  return `${target.list === 'initContainers' ? 'init container' : 'container'} ${plain(target.container.name)}`;
}
