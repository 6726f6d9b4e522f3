import type { V1LifecycleHandler } from '@kubernetes/client-node';
import { PREFIX } from './annotation-keys.js';
import { supports, type KubernetesVersion } from './kubernetes-version.js';
import type { Container } from './pod.js';
import { appHttpPort, resolveDeclaredPort, type ProbePorts } from './ports.js';
import { podProblem, type Problems } from './problems.js';
import type { DeregisterSettings } from './settings.js';
import { quote } from './text.js';

/**
 * The preStop hooks of SPEC §4: the one that takes the instance out of Nacos and then waits, and the
 * one that only waits (drain without Nacos).
 *
 * In exec mode the deregistration hook is a `/bin/sh -c` script: the HTTP call through curl (or
 * wget when the image has no curl), bounded by the timeout, then `sleep` — separated by `;`, so the
 * wait happens whether or not the call succeeded. Every value in it was validated against a narrow
 * alphabet before it got here, and the URL is single-quoted on top of that.
 */
export function deregisterHook(settings: DeregisterSettings, container: Container, readiness: ProbePorts | undefined, problems: Problems): V1LifecycleHandler | undefined {
  const port = deregisterPort(settings, container, readiness, problems);
  if (port === undefined) return undefined;
  if (settings.mode === 'http') return { httpGet: { path: settings.path, port, scheme: 'HTTP' } };
  return { exec: { command: ['/bin/sh', '-c', deregisterScript(settings, port)] } };
}

/** The body Spring Cloud's `serviceregistry` actuator endpoint takes to take the instance out. */
export const ACTUATOR_DOWN_BODY = '{"status":"DOWN"}';

export function deregisterScript(settings: DeregisterSettings, port: number): string {
  const { method, timeoutSeconds: timeout, sleepSeconds: sleep } = settings;
  const url = `'http://127.0.0.1:${port}${settings.path}'`;
  let curl: string;
  let wget: string;
  if (settings.via === 'actuator') {
    const header = `'Content-Type: application/json'`;
    const body = `'${ACTUATOR_DOWN_BODY}'`;
    curl = `curl -sS -m ${timeout} -X POST -H ${header} -d ${body} -o /dev/null ${url}`;
    wget = `wget -q -T ${timeout} -O /dev/null --header ${header} --post-data ${body} ${url}`;
  } else {
    curl = `curl -sS -m ${timeout}${method === 'GET' ? '' : ` -X ${method}`} -o /dev/null ${url}`;
    wget =
      method === 'GET' ? `wget -q -T ${timeout} -O /dev/null ${url}`
      : method === 'POST' ? `wget -q -T ${timeout} -O /dev/null --post-data '' ${url}`
      : `echo 'probe-injector: ${method} needs curl in the image' >&2`;
  }
  return (
    `if command -v curl >/dev/null 2>&1; then ${curl}; ` +
    `elif command -v wget >/dev/null 2>&1; then ${wget}; ` +
    `else echo 'probe-injector: neither curl nor wget found' >&2; fi; ` +
    `sleep ${sleep}`
  );
}

/** `prestop-sleep-seconds`: the `sleep` action where the cluster has it (>= 1.30), else a shell sleep. */
export function sleepHook(seconds: number, version: KubernetesVersion | undefined): V1LifecycleHandler {
  if (supports(version, 'sleepAction')) return { sleep: { seconds } };
  return { exec: { command: ['/bin/sh', '-c', `sleep ${seconds}`] } };
}

/**
 * The port to call: the annotation's (names resolved), else where the app serves plain HTTP (the
 * final readiness probe's port when it is plain HTTP or TCP, else the first TCP containerPort that
 * is not a gRPC probe's).
 */
function deregisterPort(settings: DeregisterSettings, container: Container, readiness: ProbePorts | undefined, problems: Problems): number | undefined {
  if (settings.port !== undefined) return resolveDeclaredPort(settings.port, 'nacos-deregister-port', container, problems)?.number;
  const port = appHttpPort(container, readiness);
  if (port !== undefined) return port;
  problems.push(
    podProblem(
      'nacos-deregister-port',
      `container ${quote(container.name)} has no port to call the ${settings.via === 'actuator' ? 'actuator' : 'deregistration endpoint'} on (no plain-HTTP or TCP readiness probe, no TCP containerPort other than a gRPC probe's); set ${PREFIX}nacos-deregister-port to a port number`,
    ),
  );
  return undefined;
}
