import type { V1LifecycleHandler } from '@kubernetes/client-node';
import type { DeregisterSettings } from './annotations.js';
import { findNamedPort, tcpPorts, type Container, type ExistingProbe } from './pod.js';
import { quoteValue, type Problem } from './problem.js';
import { resolvePort } from './probe.js';

/**
 * The preStop hook that takes the instance out of Nacos and then waits (SPEC §4).
 *
 * In exec mode it is a `/bin/sh -c` script: the deregistration call through curl (or wget when the
 * image has no curl), bounded by the timeout, then `sleep` — separated by `;`, so the wait happens
 * whether or not the call succeeded. Every value in it was validated against a narrow alphabet
 * before it got here, and the URL is single-quoted on top of that.
 */
export function buildPreStop(
  settings: DeregisterSettings,
  container: Container,
  readiness: ExistingProbe | undefined,
): V1LifecycleHandler | Problem {
  const port = deregisterPort(settings, container, readiness);
  if (typeof port === 'object') return port;
  if (settings.mode === 'http') {
    return { httpGet: { path: settings.path, port, scheme: 'HTTP' } };
  }
  return { exec: { command: ['/bin/sh', '-c', deregisterScript(settings, port)] } };
}

export function deregisterScript(settings: DeregisterSettings, port: number): string {
  const { method, timeoutSeconds: timeout, sleepSeconds: sleep } = settings;
  const url = `'http://127.0.0.1:${port}${settings.path}'`;
  const curl = `curl -sS -m ${timeout}${method === 'GET' ? '' : ` -X ${method}`} -o /dev/null ${url}`;
  const wget =
    method === 'GET' ? `wget -q -T ${timeout} -O /dev/null ${url}`
    : method === 'POST' ? `wget -q -T ${timeout} -O /dev/null --post-data '' ${url}`
    : `echo 'probe-injector: ${method} needs curl in the image' >&2`;
  return (
    `if command -v curl >/dev/null 2>&1; then ${curl}; ` +
    `elif command -v wget >/dev/null 2>&1; then ${wget}; ` +
    `else echo 'probe-injector: neither curl nor wget found' >&2; fi; ` +
    `sleep ${sleep}`
  );
}

/**
 * The port to call: the annotation's (names resolved), else the numeric port of the container's
 * final readiness probe when it is plain HTTP, TCP or gRPC, else the first TCP containerPort.
 */
function deregisterPort(settings: DeregisterSettings, container: Container, readiness: ExistingProbe | undefined): number | Problem {
  if (settings.port !== undefined) {
    return resolvePort({ ref: settings.port, key: 'nacos-deregister-port' }, container, true) as number | Problem;
  }
  const fromReadiness = readinessPort(container, readiness);
  if (fromReadiness !== undefined) return fromReadiness;
  const first = tcpPorts(container)[0];
  if (first) return first.containerPort;
  return {
    key: 'nacos-deregister-port',
    message: `container ${quoteValue(container.name)} has no port to call (no TCP containerPort, no HTTP, TCP or gRPC readiness probe); set it to a port number`,
  };
}

function readinessPort(container: Container, readiness: ExistingProbe | undefined): number | undefined {
  const port =
    readiness?.httpGet ? ((readiness.httpGet.scheme ?? 'HTTP') === 'HTTP' ? readiness.httpGet.port : undefined)
    : (readiness?.tcpSocket?.port ?? readiness?.grpc?.port);
  if (typeof port === 'number') return port;
  if (typeof port === 'string') return findNamedPort(container, port)?.containerPort;
  return undefined;
}
