import { NACOS_GATE_LABEL, PREFIX, STATUS_ANNOTATION } from './annotation-keys.js';
import { scanAnnotations } from './annotation-scan.js';
import { parseSettings } from './annotations.js';
import { annotationsOf, labelsOf, type Pod } from './pod.js';
import { appRegisteredPort, resolveDeclaredPort, type ProbePorts } from './ports.js';
import { attempt, podProblem, type Problems, type Result } from './problems.js';
import type { InjectionConfig, NacosIdentitySettings } from './settings.js';
import { readStatus } from './status.js';
import { selectTargets, type Target } from './targets.js';
import { quote } from './text.js';

export { NACOS_GATE_LABEL };

/** Who the pod is in Nacos: the instance the gate controller looks for (SPEC §3, §8). */
export interface NacosIdentity {
  readonly service: string;
  readonly group: string;
  /** The namespace id; the empty id is `public`, the same namespace. */
  readonly namespace: string;
  /** Only instances of this cluster count; undefined: any. */
  readonly cluster?: string | undefined;
  readonly port: number;
  /** The target container the port was resolved on. */
  readonly container: string;
}

/** Labels that name the application, in the order they are tried after `nacos-service`. */
export const SERVICE_LABELS = ['app.kubernetes.io/name', 'app'] as const;

/**
 * Resolves the identity from what the annotations say, the pod's labels, the config and the first
 * target container with its final readiness probe. The webhook calls it while planning (with the
 * probe it is about to inject); the controller through `resolveNacosIdentity` on the stored pod.
 */
export function nacosIdentity(
  nacos: NacosIdentitySettings,
  labels: Readonly<Record<string, string>>,
  config: InjectionConfig,
  target: Target | undefined,
  readiness: ProbePorts | undefined,
  conditionType: string,
  problems: Problems,
): NacosIdentity | undefined {
  const service = nacos.service ?? SERVICE_LABELS.map((label) => labels[label]).find((value) => value !== undefined && value !== '');
  if (service === undefined) {
    problems.push(
      podProblem(
        'nacos-service',
        `the pod carries the readiness gate ${quote(conditionType)}, so its Nacos service must be known: set ${PREFIX}nacos-service (the app's spring.application.name), or label the pod ${SERVICE_LABELS.join(' or ')}`,
      ),
    );
  }
  let port: number | undefined;
  if (target === undefined) {
    problems.push(podProblem('nacos-port', 'the pod has no container to resolve its Nacos port on'));
  } else if (nacos.port !== undefined) {
    port = resolveDeclaredPort(nacos.port, 'nacos-port', target.container, problems)?.number;
  } else {
    port = appRegisteredPort(target.container, readiness);
    if (port === undefined) {
      problems.push(
        podProblem(
          'nacos-port',
          `container ${quote(target.container.name)} has no port the app could register in Nacos (no readiness probe port, no TCP containerPort); set ${PREFIX}nacos-port to the port it registers`,
        ),
      );
    }
  }
  if (service === undefined || port === undefined || target === undefined) return undefined;
  const namespace = nacos.namespace ?? config.nacos.namespace;
  return {
    service,
    group: nacos.group ?? config.nacos.group,
    namespace: namespace === '' ? 'public' : namespace,
    cluster: nacos.cluster,
    port,
    container: target.container.name,
  };
}

const IDENTITY_KEYS: ReadonlySet<string> = new Set(['containers', 'nacos-service', 'nacos-group', 'nacos-namespace', 'nacos-cluster', 'nacos-port']);

/**
 * The identity of a stored pod, for the gate controller: the same annotations, labels, config and
 * target rules as the webhook (the status annotation names the targets it injected).
 */
export function resolveNacosIdentity(pod: Pod, config: InjectionConfig): Result<NacosIdentity> {
  return attempt((problems) => {
    const annotations = annotationsOf(pod);
    const settings = parseSettings(scanAnnotations(annotations).ours, config, problems, IDENTITY_KEYS);
    const status = readStatus(annotations[STATUS_ANNOTATION]);
    const [target] = selectTargets(pod, settings.containers, status, config.kubernetesVersion, problems, []);
    return nacosIdentity(settings.nacos, labelsOf(pod), config, target, target?.container.readinessProbe ?? undefined, config.nacos.gate.conditionType, problems);
  });
}
