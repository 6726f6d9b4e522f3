import type { V1Probe } from '@kubernetes/client-node';
import { PREFIX, probeKey, type ProbeKeySuffix, type ProbeKind } from './annotation-keys.js';
import { needsVersion, supports, type KubernetesVersion } from './kubernetes-version.js';
import type { Container } from './pod.js';
import { firstTcpPort, resolveDeclaredPort, resolvePort, type ResolvedPort } from './ports.js';
import type { ProbeOverride } from './probe-override.js';
import { annotationProblem, podProblem, type Problems } from './problems.js';
import { impliedType, type HandlerType, type InjectionSettings, type PortRef, type Scheme, type Timings } from './settings.js';
import type { Target } from './targets.js';
import { quote } from './text.js';

/** Where a port came from: the value, the key to name if it does not fit, and who chose it. */
export interface PortChoice {
  readonly ref?: PortRef | undefined;
  readonly key: string;
  /** `annotation`: the pod asked for it; `profile`/`default`: the defaults chose it. */
  readonly source: 'annotation' | 'profile' | 'default';
}

export type HandlerDraft =
  | { readonly type: 'http'; readonly path: string; readonly scheme: Scheme; readonly port: PortChoice }
  | { readonly type: 'tcp'; readonly port: PortChoice }
  | { readonly type: 'grpc'; readonly port: PortChoice; readonly service?: string | undefined }
  | { readonly type: 'exec'; readonly command: readonly string[] };

/** A probe as far as it can be decided without knowing the container (ports come later). */
export type ProbeDraft =
  | { readonly kind: ProbeKind; readonly override: ProbeOverride }
  | { readonly kind: ProbeKind; readonly handler: HandlerDraft; readonly timings: Timings };

/**
 * Decides a probe's handler and timings: profile → shared annotations → per-probe annotations →
 * `{probe}-probe`. Returns `undefined` when the probe is switched off or cannot be decided (then
 * the collector says why).
 */
export function draftProbe(kind: ProbeKind, settings: InjectionSettings, version: KubernetesVersion | undefined, problems: Problems): ProbeDraft | undefined {
  const { profile, shared } = settings;
  const own = settings.probes[kind].settings;
  const preset = profile.probes[kind];
  if ((own.enabled ?? preset.enabled ?? true) === false) return undefined;
  const key = (suffix: ProbeKeySuffix) => probeKey(kind, suffix);
  const override = settings.probes[kind].override;
  if (override) {
    if (override.grpc && !supports(version, 'grpcProbes')) {
      problems.push(annotationProblem(key('probe'), undefined, `a grpc handler ${needsVersion(version, 'grpcProbes')}`));
      return undefined;
    }
    return { kind, override };
  }

  // The level that decides: a per-probe key beats a shared one; at one level an explicit type wins,
  // then a path (http), then a command (exec); otherwise the profile decides.
  const ownType = impliedType(own);
  const sharedType = impliedType(shared);
  const type: HandlerType = ownType ?? sharedType ?? impliedType(preset) ?? profile.type ?? 'tcp';
  const typeKey = own.type !== undefined ? key('type') : ownType === undefined && shared.type !== undefined ? 'type' : undefined;

  // Keys that only make sense for one handler must fit the handler chosen.
  let fits = true;
  const mismatch = (given: unknown, keyName: string, needs: HandlerType, actual: HandlerType) => {
    if (given === undefined || actual === needs) return;
    fits = false;
    problems.push(annotationProblem(keyName, typeof given === 'string' ? given : JSON.stringify(given), `only applies to ${needs} probes, but the ${kind} probe's type is ${actual}`));
  };
  mismatch(own.path, key('path'), 'http', type);
  mismatch(own.scheme, key('scheme'), 'http', type);
  mismatch(own.command, key('command'), 'exec', type);
  mismatch(own.grpcService, key('grpc-service'), 'grpc', type);
  if (shared.type !== undefined) {
    mismatch(shared.path, 'path', 'http', shared.type);
    mismatch(shared.scheme, 'scheme', 'http', shared.type);
  }
  if (type === 'grpc' && !supports(version, 'grpcProbes')) {
    problems.push(annotationProblem(typeKey ?? 'profile', typeKey === undefined ? profile.name : 'grpc', `gRPC health checking ${needsVersion(version, 'grpcProbes')}`));
    return undefined;
  }

  const port: PortChoice =
    own.port !== undefined ? { ref: own.port, key: key('port'), source: 'annotation' }
    : shared.port !== undefined ? { ref: shared.port, key: 'port', source: 'annotation' }
    : preset.port !== undefined ? { ref: preset.port, key: 'profile', source: 'profile' }
    : profile.port !== undefined ? { ref: profile.port, key: 'profile', source: 'profile' }
    : { key: 'port', source: 'default' };

  let handler: HandlerDraft;
  switch (type) {
    case 'http':
      handler = {
        type,
        path: own.path ?? shared.path ?? preset.path ?? profile.path ?? '/',
        scheme: own.scheme ?? shared.scheme ?? preset.scheme ?? profile.scheme ?? 'HTTP',
        port,
      };
      break;
    case 'tcp':
      handler = { type, port };
      break;
    case 'grpc':
      handler = { type, port, service: own.grpcService ?? preset.grpcService };
      break;
    case 'exec': {
      const command = own.command ?? preset.command;
      if (command === undefined) {
        problems.push(annotationProblem(key('command'), undefined, `is required when the ${kind} probe's type is exec: a non-empty JSON array of strings`));
        return undefined;
      }
      handler = { type, command };
      break;
    }
  }
  if (!fits) return undefined;
  const timings: Timings = {
    initialDelaySeconds: own.initialDelaySeconds ?? preset.initialDelaySeconds,
    periodSeconds: own.periodSeconds ?? preset.periodSeconds,
    timeoutSeconds: own.timeoutSeconds ?? preset.timeoutSeconds,
    successThreshold: own.successThreshold ?? preset.successThreshold,
    failureThreshold: own.failureThreshold ?? preset.failureThreshold,
  };
  return { kind, handler, timings };
}

/**
 * Whether the defaults cannot give this probe a port on this container: no port was asked for, and
 * the profile's (or the container's first TCP port) does not exist there. A pod opted in by
 * `injectByDefault` alone then gets no port-based probe on that container instead of a denial.
 */
export function defaultsHaveNoPort(draft: ProbeDraft, container: Container): boolean {
  if ('override' in draft || draft.handler.type === 'exec') return false;
  const { port } = draft.handler;
  if (port.source === 'annotation') return false;
  return port.ref === undefined ? firstTcpPort(container) === undefined : resolvePort(port.ref, container) === undefined;
}

/** Builds the probe for one container: resolves ports against what the container declares. */
export function buildProbe(draft: ProbeDraft, target: Target, problems: Problems): V1Probe | undefined {
  const { container } = target;
  if ('override' in draft) return overrideFor(draft.kind, draft.override, container, problems);
  const { handler, timings } = draft;
  if (handler.type === 'exec') return { exec: { command: [...handler.command] }, ...timings };
  const port = choosePort(handler.port, container, problems);
  if (port === undefined) return undefined;
  switch (handler.type) {
    case 'http':
      return { httpGet: { path: handler.path, port: port.ref, scheme: handler.scheme }, ...timings };
    case 'tcp':
      return { tcpSocket: { port: port.ref }, ...timings };
    case 'grpc':
      // The API requires a number for gRPC.
      return { grpc: { port: port.number, ...(handler.service !== undefined && { service: handler.service }) }, ...timings };
  }
}

/** A port for one container: as given when declared; none given: the container's first TCP port. */
function choosePort(choice: PortChoice, container: Container, problems: Problems): ResolvedPort | undefined {
  if (choice.ref === undefined) {
    const first = firstTcpPort(container);
    if (first !== undefined) return { number: first, ref: first };
    problems.push(podProblem('port', `container ${quote(container.name)} declares no TCP containerPort to probe; set ${PREFIX}port to a port number`));
    return undefined;
  }
  return resolveDeclaredPort(choice.ref, choice.key, container, problems);
}

/** The verbatim probe for one container: port names must be declared; a gRPC port becomes its number. */
function overrideFor(kind: ProbeKind, probe: ProbeOverride, container: Container, problems: Problems): V1Probe | undefined {
  const key = probeKey(kind, 'probe');
  if (probe.httpGet && !resolveDeclaredPort(probe.httpGet.port, key, container, problems)) return undefined;
  if (probe.tcpSocket && !resolveDeclaredPort(probe.tcpSocket.port, key, container, problems)) return undefined;
  if (probe.grpc) {
    const port = resolveDeclaredPort(probe.grpc.port, key, container, problems);
    if (!port) return undefined;
    return { ...probe, grpc: { ...probe.grpc, port: port.number } };
  }
  const { grpc: _grpc, ...rest } = probe;
  return rest;
}
