import type { Container, ContainerPort } from './pod.js';
import { annotationProblem, type Problems } from './problems.js';
import type { PortRef } from './settings.js';
import { quote } from './text.js';

/**
 * Ports: a port given by number or by name, resolved against what one container declares.
 * A probe's httpGet and tcpSocket keep a name as given; gRPC and the preStop's URL need the number.
 */

/** What the port rules read of a probe: an existing one of the pod, or one being injected. */
export interface ProbePorts {
  readonly httpGet?: { readonly port?: PortRef | null | undefined; readonly scheme?: string | null | undefined } | null | undefined;
  readonly tcpSocket?: { readonly port?: PortRef | null | undefined } | null | undefined;
  readonly grpc?: { readonly port?: number | null | undefined } | null | undefined;
}

export interface ResolvedPort {
  /** The number the name stands for (or the number given). */
  readonly number: number;
  /** What to write into an httpGet/tcpSocket handler: the reference as given. */
  readonly ref: PortRef;
}

/** The ports a container declares that speak TCP (protocol absent means TCP). */
export function tcpPorts(container: Container): ContainerPort[] {
  return (container.ports ?? []).filter((port) => (port.protocol ?? 'TCP') === 'TCP');
}

export function declaredPortNames(container: Container): string[] {
  return (container.ports ?? []).flatMap((port) => (port.name ? [port.name] : []));
}

/** A number as given; a name only when the container declares it (else `undefined`). */
export function resolvePort(ref: PortRef, container: Container): ResolvedPort | undefined {
  if (typeof ref === 'number') return { number: ref, ref };
  const declared = (container.ports ?? []).find((port) => port.name === ref);
  return declared ? { number: declared.containerPort, ref } : undefined;
}

/** Like `resolvePort`; a name the container does not declare is a problem under `key`. */
export function resolveDeclaredPort(ref: PortRef, key: string, container: Container, problems: Problems): ResolvedPort | undefined {
  const resolved = resolvePort(ref, container);
  if (resolved) return resolved;
  const names = declaredPortNames(container).slice(0, 20).map((name) => quote(name));
  problems.push(
    annotationProblem(
      key,
      String(ref),
      `container ${quote(container.name)} declares no port named ${quote(String(ref))}; expected a port number or one of its port names${names.length > 0 ? ` (${names.join(', ')})` : ' (it names none)'}`,
    ),
  );
  return undefined;
}

/** The container's first TCP containerPort, the default of every port. */
export function firstTcpPort(container: Container, except?: number): number | undefined {
  return tcpPorts(container).find((port) => port.containerPort !== except)?.containerPort;
}

/**
 * The port a probe checks, as a number: httpGet (plain HTTP only), tcpSocket and, when allowed,
 * grpc. Names are resolved against the container.
 */
export function probePort(probe: ProbePorts | undefined, container: Container, kinds: { readonly grpc: boolean }): number | undefined {
  if (!probe) return undefined;
  const ref =
    probe.httpGet ? ((probe.httpGet.scheme ?? 'HTTP') === 'HTTP' ? probe.httpGet.port : undefined)
    : probe.tcpSocket ? probe.tcpSocket.port
    : kinds.grpc ? probe.grpc?.port
    : undefined;
  return ref == null ? undefined : resolvePort(ref, container)?.number;
}

/**
 * Where the application serves plain HTTP, by the SPEC's rule for the deregistration call: the
 * numeric port of the final readiness probe when it is plain-HTTP httpGet or tcpSocket, else the
 * first TCP containerPort — never a gRPC probe's port, and never the first port when that is the
 * gRPC probe's (a plain HTTP call to a gRPC server fails).
 */
export function appHttpPort(container: Container, readiness: ProbePorts | undefined): number | undefined {
  return probePort(readiness, container, { grpc: false }) ?? firstTcpPort(container, readiness?.grpc?.port ?? undefined);
}

/**
 * The port the application registers in Nacos by default: the final readiness probe's port,
 * gRPC included (a gRPC service registers its gRPC port), else the first TCP containerPort.
 */
export function appRegisteredPort(container: Container, readiness: ProbePorts | undefined): number | undefined {
  return probePort(readiness, container, { grpc: true }) ?? firstTcpPort(container);
}
