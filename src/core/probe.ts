import type { V1Probe } from '@kubernetes/client-node';
import { PREFIX, probeKey, type ProbeKind } from './annotation-keys.js';
import type { InjectionSettings } from './annotations.js';
import { findNamedPort, tcpPorts, type Container } from './pod.js';
import { quoteValue, type Problem } from './problem.js';
import { type HandlerType, type PortRef, type Scheme, type Timings } from './profile.js';

/** Where a port came from: the value, and the key to name if it does not fit the container. */
export interface PortChoice {
  readonly ref?: PortRef | undefined;
  readonly key: string;
}

export type HandlerDraft =
  | { readonly type: 'http'; readonly path: string; readonly scheme: Scheme; readonly port: PortChoice }
  | { readonly type: 'tcp'; readonly port: PortChoice }
  | { readonly type: 'grpc'; readonly port: PortChoice; readonly service?: string | undefined }
  | { readonly type: 'exec'; readonly command: readonly string[] };

/** A probe as far as it can be built without knowing the container (ports come later). */
export type ProbeDraft =
  | { readonly kind: ProbeKind; readonly override: V1Probe }
  | { readonly kind: ProbeKind; readonly handler: HandlerDraft; readonly timings: Timings };

/**
 * Decides a probe's handler and timings: profile → shared annotations → per-probe annotations →
 * `{probe}-probe`. Returns `undefined` when the probe is switched off.
 */
export function draftProbe(kind: ProbeKind, settings: InjectionSettings): ProbeDraft | undefined | Problem[] {
  const { profile, shared } = settings;
  const own = settings.probes[kind].settings;
  const preset = profile.probes[kind];
  if ((own.enabled ?? preset.enabled ?? true) === false) return undefined;
  const override = settings.probes[kind].override;
  if (override) return { kind, override };

  const problems: Problem[] = [];
  const key = (suffix: Parameters<typeof probeKey>[1]) => probeKey(kind, suffix);

  // The level that decides: a per-probe key beats a shared one; at one level an explicit type wins,
  // then a path (http), then a command (exec); otherwise the profile decides.
  let type: HandlerType;
  if (own.type !== undefined) type = own.type;
  else if (own.path !== undefined) type = 'http'; // with a command too, the command is reported below
  else if (own.command !== undefined) type = 'exec';
  else if (shared.type !== undefined) type = shared.type;
  else if (shared.path !== undefined) type = 'http';
  else type = profileType(settings, kind);

  // Keys that only make sense for one handler must fit the handler chosen.
  const mismatch = (given: unknown, keyName: string, needs: HandlerType, actual: HandlerType) => {
    if (given !== undefined && actual !== needs) {
      problems.push({ key: keyName, value: typeof given === 'string' ? given : JSON.stringify(given), message: `only applies to ${needs} probes, but the ${kind} probe's type is ${actual}` });
    }
  };
  mismatch(own.path, key('path'), 'http', type);
  mismatch(own.scheme, key('scheme'), 'http', type);
  mismatch(own.command, key('command'), 'exec', type);
  mismatch(own.grpcService, key('grpc-service'), 'grpc', type);
  if (shared.type !== undefined) {
    mismatch(shared.path, 'path', 'http', shared.type);
    mismatch(shared.scheme, 'scheme', 'http', shared.type);
  }

  const port: PortChoice =
    own.port !== undefined ? { ref: own.port, key: key('port') }
    : shared.port !== undefined ? { ref: shared.port, key: 'port' }
    : preset.port !== undefined ? { ref: preset.port, key: 'profile' }
    : profile.port !== undefined ? { ref: profile.port, key: 'profile' }
    : { key: 'port' };

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
        problems.push({ key: key('command'), message: `is required when the ${kind} probe's type is exec: a non-empty JSON array of strings` });
      }
      handler = { type, command: command ?? [] };
      break;
    }
  }
  if (problems.length > 0) return problems;
  const timings: Timings = {
    initialDelaySeconds: own.initialDelaySeconds ?? preset.initialDelaySeconds,
    periodSeconds: own.periodSeconds ?? preset.periodSeconds,
    timeoutSeconds: own.timeoutSeconds ?? preset.timeoutSeconds,
    successThreshold: own.successThreshold ?? preset.successThreshold,
    failureThreshold: own.failureThreshold ?? preset.failureThreshold,
  };
  return { kind, handler, timings };
}

function profileType(settings: InjectionSettings, kind: ProbeKind): HandlerType {
  const preset = settings.profile.probes[kind];
  if (preset.type !== undefined) return preset.type;
  if (preset.path !== undefined) return 'http';
  if (preset.command !== undefined) return 'exec';
  return settings.profile.type ?? 'tcp';
}

/** Builds the probe for one container: resolves ports against what the container declares. */
export function buildProbe(draft: ProbeDraft, container: Container): V1Probe | Problem {
  if ('override' in draft) return resolveOverridePorts(draft.kind, draft.override, container);
  const { handler, timings } = draft;
  if (handler.type === 'exec') return { exec: { command: [...handler.command] }, ...timings };
  const port = resolvePort(handler.port, container, handler.type === 'grpc');
  if (typeof port === 'object') return port;
  switch (handler.type) {
    case 'http':
      return { httpGet: { path: handler.path, port, scheme: handler.scheme }, ...timings };
    case 'tcp':
      return { tcpSocket: { port }, ...timings };
    case 'grpc':
      return { grpc: { port: port as number, ...(handler.service !== undefined && { service: handler.service }) }, ...timings };
  }
}

/**
 * A port for one container: a number as given; a name only if the container declares it (gRPC
 * needs the number); none given: the container's first TCP port.
 */
export function resolvePort(choice: PortChoice, container: Container, numeric: boolean): number | string | Problem {
  if (typeof choice.ref === 'number') return choice.ref;
  if (typeof choice.ref === 'string') {
    const declared = findNamedPort(container, choice.ref);
    if (!declared) {
      const names = (container.ports ?? []).flatMap((p) => (p.name ? [quoteValue(p.name)] : [])).slice(0, 20);
      return {
        key: choice.key,
        value: choice.ref,
        message: `container ${quoteValue(container.name)} declares no port named "${choice.ref}"; expected a port number or one of its port names${names.length > 0 ? ` (${names.join(', ')})` : ' (it names none)'}`,
      };
    }
    return numeric ? declared.containerPort : choice.ref;
  }
  const first = tcpPorts(container)[0];
  if (!first) {
    return {
      key: 'port',
      message: `container ${quoteValue(container.name)} declares no TCP containerPort to probe; set ${PREFIX}port to a port number`,
    };
  }
  return first.containerPort;
}

function resolveOverridePorts(kind: ProbeKind, probe: V1Probe, container: Container): V1Probe | Problem {
  const key = probeKey(kind, 'probe');
  const check = (ref: number | string, numeric: boolean) => resolvePort({ ref, key }, container, numeric);
  if (probe.httpGet) {
    const port = check(probe.httpGet.port, false);
    if (typeof port === 'object') return port;
  }
  if (probe.tcpSocket) {
    const port = check(probe.tcpSocket.port, false);
    if (typeof port === 'object') return port;
  }
  if (probe.grpc) {
    const port = check(probe.grpc.port as number | string, true);
    if (typeof port === 'object') return port;
    if (port !== probe.grpc.port) return { ...probe, grpc: { ...probe.grpc, port: port as number } };
  }
  return probe;
}
