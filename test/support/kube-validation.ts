/**
 * A mirror of kube-apiserver's validation of what the webhook touches (pkg/apis/core/validation:
 * validateProbe, validateHandler / validateLifecycle, validateInitContainers (native sidecars),
 * validateReadinessGates, the grace period, labels), plus SPEC §4's own rules (named ports must
 * exist on the container, gRPC ports numeric). Every pod the tests produce goes through it, so no
 * patch we emit would be refused by a real cluster of that version.
 */

type Json = Record<string, unknown>;

const INT32_MAX = 2147483647;
const IANA_SVC_NAME = /^(?=.{1,15}$)(?=[^a-z]*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown, min: number): boolean => Number.isInteger(value) && (value as number) >= min && (value as number) <= INT32_MAX;

/** The features the mirror's cluster has (the newest by default): an older one refuses their fields. */
export interface MirrorVersion {
  readonly minor: number;
}
const NEWEST: MirrorVersion = { minor: 99 };

export function validatePod(pod: unknown, version: MirrorVersion = NEWEST): string[] {
  const errors: string[] = [];
  if (!isObject(pod) || !isObject(pod['spec'])) return ['pod has no spec'];
  const spec = pod['spec'];
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) errors.push('spec.containers: Required value');
  const names = new Set<string>();
  const check = (list: 'containers' | 'initContainers', container: unknown, index: number) => {
    const at = `spec.${list}[${index}]`;
    if (!isObject(container)) return void errors.push(`${at}: not an object`);
    const name = container['name'];
    if (typeof name === 'string') {
      if (names.has(name)) errors.push(`${at}.name: Duplicate value`);
      names.add(name);
    }
    const sidecar = list === 'initContainers' && container['restartPolicy'] === 'Always';
    if (sidecar && version.minor < 29) errors.push(`${at}.restartPolicy: Forbidden: native sidecars need 1.29`);
    if (list === 'initContainers' && container['restartPolicy'] != null && container['restartPolicy'] !== 'Always') errors.push(`${at}.restartPolicy: Unsupported value`);
    for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (container[kind] == null) continue;
      if (list === 'initContainers' && !sidecar) errors.push(`${at}.${kind}: Forbidden: may not be set for init containers without restartPolicy=Always`);
      else errors.push(...validateProbe(container[kind], kind, container, `${at}.${kind}`, version));
    }
    const lifecycle = container['lifecycle'];
    if (lifecycle != null) {
      if (list === 'initContainers' && !sidecar) errors.push(`${at}.lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always`);
      else if (!isObject(lifecycle)) errors.push(`${at}.lifecycle: not an object`);
      else for (const hook of ['preStop', 'postStart'] as const) {
        if (lifecycle[hook] != null) errors.push(...validateLifecycleHandler(lifecycle[hook], container, `${at}.lifecycle.${hook}`, version));
      }
    }
  };
  (Array.isArray(containers) ? containers : []).forEach((container: unknown, index) => check('containers', container, index));
  const init = spec['initContainers'];
  (Array.isArray(init) ? init : []).forEach((container: unknown, index) => check('initContainers', container, index));
  const gates = spec['readinessGates'];
  if (gates != null) {
    if (!Array.isArray(gates)) errors.push('spec.readinessGates: not a list');
    else {
      const seen = new Set<string>();
      gates.forEach((gate: unknown, index) => {
        const type = isObject(gate) ? gate['conditionType'] : undefined;
        if (typeof type !== 'string' || !QUALIFIED_NAME.test(type)) errors.push(`spec.readinessGates[${index}].conditionType: Invalid value: ${JSON.stringify(type)}`);
        else if (seen.has(type)) errors.push(`spec.readinessGates[${index}].conditionType: Duplicate value (not an API error, but the webhook must not repeat gates)`);
        else seen.add(type);
      });
    }
  }
  const grace = spec['terminationGracePeriodSeconds'];
  if (grace != null && !(Number.isInteger(grace) && (grace as number) >= 0)) errors.push('spec.terminationGracePeriodSeconds: must be a non-negative integer');
  const labels = isObject(pod['metadata']) ? pod['metadata']['labels'] : undefined;
  if (labels != null) {
    if (!isObject(labels)) errors.push('metadata.labels: not a map');
    else for (const [key, value] of Object.entries(labels)) {
      if (!QUALIFIED_NAME.test(key)) errors.push(`metadata.labels: Invalid value: ${JSON.stringify(key)}`);
      if (typeof value !== 'string' || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) || value.length > 63) errors.push(`metadata.labels[${key}]: Invalid value`);
    }
  }
  const annotations = isObject(pod['metadata']) ? pod['metadata']['annotations'] : undefined;
  if (annotations != null) {
    if (!isObject(annotations)) errors.push('metadata.annotations: not a map');
    else {
      let size = 0;
      for (const [key, value] of Object.entries(annotations)) {
        if (typeof value !== 'string') errors.push(`metadata.annotations[${key}]: must be a string`);
        size += key.length + String(value).length;
      }
      if (size > 256 * 1024) errors.push('metadata.annotations: Too long: must have at most 262144 bytes');
    }
  }
  return errors;
}

function validateProbe(probe: unknown, kind: string, container: Json, at: string, version: MirrorVersion): string[] {
  if (!isObject(probe)) return [`${at}: not an object`];
  const errors: string[] = [];
  const known = new Set(['exec', 'httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds']);
  for (const key of Object.keys(probe)) if (!known.has(key)) errors.push(`${at}.${key}: unknown field`);
  if (probe['grpc'] != null && version.minor < 24) errors.push(`${at}.grpc: unknown field (gRPC probes need 1.24)`);
  errors.push(...validateHandlers(probe, ['exec', 'httpGet', 'tcpSocket', 'grpc'], container, at));
  for (const field of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (probe[field] !== undefined && !isInt(probe[field], 0)) errors.push(`${at}.${field}: must be greater than or equal to 0`);
  }
  if ((kind === 'livenessProbe' || kind === 'startupProbe') && probe['successThreshold'] !== undefined && probe['successThreshold'] !== 1) {
    errors.push(`${at}.successThreshold: Invalid value: must be 1`);
  }
  if (probe['terminationGracePeriodSeconds'] !== undefined) {
    if (kind === 'readinessProbe') errors.push(`${at}.terminationGracePeriodSeconds: Invalid value: must not be set for readinessProbes`);
    else if (!isInt(probe['terminationGracePeriodSeconds'], 1)) errors.push(`${at}.terminationGracePeriodSeconds: must be greater than 0`);
  }
  return errors;
}

function validateLifecycleHandler(handler: unknown, container: Json, at: string, version: MirrorVersion): string[] {
  if (!isObject(handler)) return [`${at}: not an object`];
  if (handler['grpc'] !== undefined) return [`${at}.grpc: Forbidden: lifecycle handlers do not support grpc`];
  const errors: string[] = [];
  const sleep = handler['sleep'];
  if (sleep != null) {
    if (version.minor < 30) errors.push(`${at}.sleep: unknown field (the sleep action needs 1.30)`);
    else if (!isObject(sleep) || !isInt(sleep['seconds'], 1)) errors.push(`${at}.sleep.seconds: must be greater than 0`);
  }
  return [...errors, ...validateHandlers(handler, ['exec', 'httpGet', 'tcpSocket', 'sleep'], container, at)];
}

function validateHandlers(handler: Json, allowed: readonly string[], container: Json, at: string): string[] {
  const errors: string[] = [];
  const present = allowed.filter((key) => handler[key] != null);
  if (present.length === 0) errors.push(`${at}: Required value: must specify a handler type`);
  if (present.length > 1) errors.push(`${at}: Forbidden: may not specify more than 1 handler type`);
  const exec = handler['exec'];
  if (exec != null) {
    const command = isObject(exec) ? exec['command'] : undefined;
    if (!Array.isArray(command) || command.length === 0) errors.push(`${at}.exec.command: Required value`);
    else if (!command.every((arg) => typeof arg === 'string')) errors.push(`${at}.exec.command: must be strings`);
  }
  const http = handler['httpGet'];
  if (http != null) {
    if (!isObject(http)) errors.push(`${at}.httpGet: not an object`);
    else {
      if (typeof http['path'] !== 'string' || http['path'] === '') errors.push(`${at}.httpGet.path: Required value`);
      else if (!http['path'].startsWith('/')) errors.push(`${at}.httpGet.path: must be absolute (SPEC §4)`);
      errors.push(...validatePort(http['port'], container, `${at}.httpGet.port`, false));
      if (http['scheme'] !== undefined && http['scheme'] !== 'HTTP' && http['scheme'] !== 'HTTPS') errors.push(`${at}.httpGet.scheme: Unsupported value`);
      const headers = http['httpHeaders'];
      if (headers !== undefined) {
        if (!Array.isArray(headers)) errors.push(`${at}.httpGet.httpHeaders: not a list`);
        else headers.forEach((header: unknown, index) => {
          if (!isObject(header) || typeof header['name'] !== 'string' || !HEADER_NAME.test(header['name'])) errors.push(`${at}.httpGet.httpHeaders[${index}].name: Invalid value`);
        });
      }
    }
  }
  const tcp = handler['tcpSocket'];
  if (tcp != null) errors.push(...validatePort(isObject(tcp) ? tcp['port'] : undefined, container, `${at}.tcpSocket.port`, false));
  const grpc = handler['grpc'];
  if (grpc != null) errors.push(...validatePort(isObject(grpc) ? grpc['port'] : undefined, container, `${at}.grpc.port`, true));
  return errors;
}

function validatePort(port: unknown, container: Json, at: string, numeric: boolean): string[] {
  if (typeof port === 'number') return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : [`${at}: Invalid value: must be between 1 and 65535, inclusive`];
  if (numeric) return [`${at}: Invalid value: must be a number (gRPC ports are int32)`];
  if (typeof port !== 'string' || !IANA_SVC_NAME.test(port)) return [`${at}: Invalid value: ${JSON.stringify(port)}: must be a valid port name`];
  const ports = Array.isArray(container['ports']) ? container['ports'] : [];
  return ports.some((p: unknown) => isObject(p) && p['name'] === port) ? [] : [`${at}: port name ${JSON.stringify(port)} is not declared by the container (SPEC §4)`];
}
