import type { V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';
import { isProbeSpecificKey, NACOS_GATE_LABEL, PROBE_FIELD, PROBE_KINDS, type ProbeField } from './annotation-keys.js';
import { nacosIdentity, type NacosIdentity } from './nacos-identity.js';
import { DEFAULT_GRACE_PERIOD_SECONDS, labelsOf, type Pod } from './pod.js';
import type { ProbePorts } from './ports.js';
import { deregisterHook, sleepHook } from './pre-stop.js';
import { buildProbe, defaultsHaveNoPort, draftProbe } from './probe.js';
import { podProblem, type Problems } from './problems.js';
import type { InjectionConfig, InjectionSettings } from './settings.js';
import type { InjectionStatus } from './status.js';
import type { Target } from './targets.js';
import { quote } from './text.js';
import type { InjectedItem, Warning } from './warnings.js';

export interface ContainerPlan {
  readonly target: Target;
  readonly probes: readonly { readonly field: ProbeField; readonly probe: V1Probe }[];
  readonly preStop?: V1LifecycleHandler | undefined;
  /** What the spec already had and was kept, though the settings would have added it. */
  readonly kept: readonly InjectedItem[];
}

/** Everything one admission adds to a pod; the patch is a direct translation of it. */
export interface Plan {
  readonly containers: readonly ContainerPlan[];
  readonly readinessGates: readonly string[];
  /** Labels to add (the Nacos gate's). */
  readonly labels: Readonly<Record<string, string>>;
  /** The Nacos identity, when the pod carries the gate. */
  readonly identity?: NacosIdentity | undefined;
  readonly grace?: { readonly from: number; readonly to: number } | undefined;
}

export interface PlanContext {
  readonly config: InjectionConfig;
  /** The status annotation of an earlier invocation: kept items are then not worth a warning again. */
  readonly status: InjectionStatus | undefined;
  /** Opted in by `injectByDefault` alone: what the defaults cannot do is skipped, not refused. */
  readonly byDefault: boolean;
}

/**
 * Plans the injection into each target container, then the pod-wide parts: readiness gates, the
 * Nacos gate's label and identity, the grace period. Problems go into the collector and planning
 * carries on, so every problem of every container is found.
 */
export function planInjection(pod: Pod, settings: InjectionSettings, targets: readonly Target[], context: PlanContext, problems: Problems, warnings: Warning[]): Plan {
  const { config, status, byDefault } = context;
  const version = config.kubernetesVersion;
  const drafts = PROBE_KINDS.flatMap((kind) => draftProbe(kind, settings, version, problems) ?? []);
  // A reinvocation (status present) says nothing about kept items: they were said already, or are ours.
  const silent = status !== undefined;
  const noPort: string[] = [];

  const containers = targets.map((target): ContainerPlan => {
    const { container } = target;
    const probes: { field: ProbeField; probe: V1Probe }[] = [];
    const kept: InjectedItem[] = [];
    for (const draft of drafts) {
      const field = PROBE_FIELD[draft.kind];
      if (container[field] != null) {
        kept.push(field);
        const asked = [...settings.givenKeys].find((key) => isProbeSpecificKey(draft.kind, key));
        if (asked !== undefined && !silent) warnings.push({ kind: 'kept', container: container.name, item: field, key: asked });
        continue;
      }
      if (byDefault && defaultsHaveNoPort(draft, container)) {
        if (!noPort.includes(container.name)) noPort.push(container.name);
        continue;
      }
      const probe = buildProbe(draft, target, problems);
      if (probe) probes.push({ field, probe });
    }
    const readiness = container.readinessProbe ?? readinessOf(probes);
    let preStop: V1LifecycleHandler | undefined;
    const hookKey = settings.deregister ? 'nacos-deregister' : settings.preStopSleepSeconds !== undefined ? 'prestop-sleep-seconds' : undefined;
    if (hookKey !== undefined && container.lifecycle?.preStop != null) {
      kept.push('preStop');
      if (!silent) warnings.push({ kind: 'kept', container: container.name, item: 'preStop', key: hookKey });
    } else if (settings.deregister) {
      preStop = deregisterHook(settings.deregister, container, readiness, problems);
    } else if (settings.preStopSleepSeconds !== undefined) {
      preStop = sleepHook(settings.preStopSleepSeconds, version);
    }
    return { target, probes, preStop, kept };
  });
  if (noPort.length > 0 && !silent) warnings.push({ kind: 'no-port', containers: noPort });

  // One pass over the gates already there (a pod may carry thousands), looking only for the few that matter.
  const { conditionType } = config.nacos.gate;
  const wanted = new Set([...settings.readinessGates, conditionType]);
  const present = new Set<string>();
  for (const gate of pod.spec.readinessGates ?? []) if (wanted.has(gate.conditionType)) present.add(gate.conditionType);
  const readinessGates = settings.readinessGates.filter((gate) => !present.has(gate));

  // The Nacos gate: its pods are labelled for the controller, and must have a Nacos identity.
  let identity: NacosIdentity | undefined;
  const labels: Record<string, string> = {};
  if (present.has(conditionType) || readinessGates.includes(conditionType)) {
    const first = containers[0];
    const readiness = first && (first.target.container.readinessProbe ?? readinessOf(first.probes));
    identity = nacosIdentity(settings.nacos, labelsOf(pod), config, first?.target, readiness, conditionType, problems);
    const label = labelsOf(pod)[NACOS_GATE_LABEL];
    if (label === undefined) labels[NACOS_GATE_LABEL] = 'true';
    else if (label !== 'true') {
      problems.push(podProblem('readiness-gates', `the pod carries the readiness gate ${quote(conditionType)} but its label ${NACOS_GATE_LABEL} is ${quote(label)}: the gate controller only watches pods labelled "true", so the pod would never become Ready; remove the label`));
    }
  }

  let grace: Plan['grace'];
  if (containers.some((c) => c.preStop)) {
    const callSeconds = settings.deregister?.timeoutSeconds ?? 0;
    const sleepSeconds = settings.deregister?.sleepSeconds ?? settings.preStopSleepSeconds ?? 0;
    const needed = callSeconds + sleepSeconds + config.shutdownSeconds;
    const current = pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if (current < needed) {
      grace = { from: current, to: needed };
      warnings.push({ kind: 'grace-raised', from: current, to: needed, callSeconds, sleepSeconds, shutdownSeconds: config.shutdownSeconds });
    }
  }
  return { containers, readinessGates, labels, identity, grace };
}

/** The readiness probe being injected. */
function readinessOf(probes: readonly { readonly field: ProbeField; readonly probe: V1Probe }[]): ProbePorts | undefined {
  return probes.find((p) => p.field === 'readinessProbe')?.probe;
}

export function planAddsNothing(plan: Plan): boolean {
  return (
    plan.readinessGates.length === 0 &&
    plan.grace === undefined &&
    Object.keys(plan.labels).length === 0 &&
    plan.containers.every((c) => c.probes.length === 0 && !c.preStop)
  );
}

