import type { V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';
import { isProbeSpecificKey, PREFIX, PROBE_FIELD, PROBE_KINDS, type ProbeField } from './annotation-keys.js';
import type { InjectionSettings } from './annotations.js';
import type { InjectionConfig } from './config.js';
import { DEFAULT_GRACE_PERIOD_SECONDS, type ExistingProbe, type Pod } from './pod.js';
import { buildPreStop } from './pre-stop.js';
import { quoteValue, type Problem } from './problem.js';
import { buildProbe, draftProbe, type ProbeDraft } from './probe.js';
import type { InjectionStatus } from './status.js';
import type { Targets } from './targets.js';

export type InjectedItem = ProbeField | 'preStop';

export interface ContainerPlan {
  readonly index: number;
  readonly name: string;
  readonly probes: readonly { readonly field: ProbeField; readonly probe: V1Probe }[];
  readonly preStop?: V1LifecycleHandler | undefined;
  /** What the spec already had and was kept, though the settings would have added it. */
  readonly kept: readonly InjectedItem[];
}

/** Everything one admission adds to a pod; the patch is a direct translation of it. */
export interface Plan {
  readonly containers: readonly ContainerPlan[];
  readonly readinessGates: readonly string[];
  readonly grace?: { readonly from: number; readonly to: number } | undefined;
  readonly warnings: readonly string[];
}

export function planInjection(
  pod: Pod,
  settings: InjectionSettings,
  targets: Targets,
  status: InjectionStatus | undefined,
  config: InjectionConfig,
): Plan | Problem[] {
  const problems: Problem[] = [];
  const drafts: ProbeDraft[] = [];
  for (const kind of PROBE_KINDS) {
    const draft = draftProbe(kind, settings);
    if (Array.isArray(draft)) problems.push(...draft);
    else if (draft) drafts.push(draft);
  }
  if (problems.length > 0) return problems;

  const warnings = [...targets.warnings];
  const containers: ContainerPlan[] = [];
  for (const index of targets.indexes) {
    const container = pod.spec.containers[index];
    if (!container) continue;
    // Warn about a kept item only when no status annotation is there yet: if there is one, this is a
    // reinvocation, and what was kept was either said already or added by us — it stays silent.
    const silent = status !== undefined;
    const probes: { field: ProbeField; probe: V1Probe }[] = [];
    const kept: InjectedItem[] = [];
    for (const draft of drafts) {
      const field = PROBE_FIELD[draft.kind];
      if (container[field] != null) {
        kept.push(field);
        const asked = [...settings.givenKeys].find((key) => isProbeSpecificKey(draft.kind, key));
        if (asked !== undefined && !silent) {
          warnings.push(`probe-injector: container ${quoteValue(container.name)} already has a ${field}; kept it and ignored ${PREFIX}${asked}`);
        }
        continue;
      }
      const probe = buildProbe(draft, container);
      if ('key' in probe) problems.push(probe as Problem);
      else probes.push({ field, probe });
    }

    let preStop: V1LifecycleHandler | undefined;
    if (settings.deregister) {
      if (container.lifecycle?.preStop != null) {
        kept.push('preStop');
        if (!silent) {
          warnings.push(`probe-injector: container ${quoteValue(container.name)} already has a preStop hook; kept it and ignored ${PREFIX}nacos-deregister`);
        }
      } else {
        const readiness = container.readinessProbe ?? (probes.find((p) => p.field === 'readinessProbe')?.probe as ExistingProbe | undefined);
        const hook = buildPreStop(settings.deregister, container, readiness ?? undefined);
        if ('key' in hook) problems.push(hook as Problem);
        else preStop = hook;
      }
    }
    containers.push({ index, name: container.name, probes, preStop, kept });
  }
  if (problems.length > 0) return dedupe(problems);

  const existingGates = new Set((pod.spec.readinessGates ?? []).map((gate) => gate.conditionType));
  const readinessGates = settings.readinessGates.filter((gate) => !existingGates.has(gate));

  let grace: Plan['grace'];
  if (settings.deregister && containers.some((c) => c.preStop)) {
    const { timeoutSeconds, sleepSeconds } = settings.deregister;
    const needed = timeoutSeconds + sleepSeconds + config.shutdownSeconds;
    const current = pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
    if (current < needed) {
      grace = { from: current, to: needed };
      warnings.push(
        `probe-injector: raised terminationGracePeriodSeconds from ${current} to ${needed} (preStop: ${timeoutSeconds}s call + ${sleepSeconds}s wait, then ${config.shutdownSeconds}s shutdown)`,
      );
    }
  }
  return { containers, readinessGates, grace, warnings };
}

export function planAddsNothing(plan: Plan): boolean {
  return plan.readinessGates.length === 0 && plan.grace === undefined && plan.containers.every((c) => c.probes.length === 0 && !c.preStop);
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const id = `${problem.key}\u0000${problem.value ?? ''}\u0000${problem.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
