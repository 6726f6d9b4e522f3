import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { KNOWN_KEYS, PREFIX, isKnownKey } from '../src/core/annotation-keys.js';
import { scanAnnotations } from '../src/core/annotation-scan.js';
import { parseSettings } from '../src/core/annotations.js';
import { makeInjectionConfig, type InjectionConfig } from '../src/core/config.js';
import { mutatePod, mutationKey, OUTCOMES, type Mutation } from '../src/core/mutation.js';
import { isPod, type Pod as CorePod } from '../src/core/pod.js';
import type { Problem, Problems } from '../src/core/problems.js';
import { formatDenial, formatProblem, warningTexts } from '../src/messages.js';
import { validatePod } from './support/kube-validation.js';
import { basePod, clone, type Pod } from './support/webhook.js';

/**
 * Property-based tests of the annotation parser and the injection core: arbitrary annotation maps
 * (biased toward the real keys, with valid and hostile values) on arbitrary pod shapes, under every
 * config variant. FC_SEED=<n> replays a run; FC_RUNS=<n> scales the number of runs.
 */
const RUNS = Number(process.env['FC_RUNS'] ?? 1500);
const seed = process.env['FC_SEED'] === undefined ? {} : { seed: Number(process.env['FC_SEED']) };
const params = (numRuns = RUNS) => ({ numRuns, ...seed });

// ---- annotation values ---------------------------------------------------------------------

/** Values that must never be accepted as-is anywhere near a command line or a number. */
const HOSTILE = [
  '', ' ', 'true ', 'TRUE', 'yes', '1e3', '0x10', '-1', '+1', '01', '2147483648', '99999999999', '4294967297',
  "'", '"', '$(reboot)', '`id`', '; rm -rf /', 'a|b', 'a&&b', '$HOME', '\\', '\n', '\r\n', 'x\ny', '\u0000', '\u2028',
  "/x';reboot;'", '/x"$(id)"', '/%27;id', '/a b', '/a\tb', "/ok'", '/ok?x=$(id)', '/ok?x=`id`', '/ok#frag', '//', 'http://evil/',
  '{', '[]', '[""]', 'null', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}',
  'é', '😀', 'a'.repeat(300), `/${'a'.repeat(2000)}`, ',', 'a,,b', ' , ', '__proto__', 'constructor', 'toString',
];

/** Per family of keys: values the key accepts, and near misses it must refuse (or that depend on the pod). */
const fam = {
  bool: { ok: ['true', 'false'], bad: ['True', '1'] },
  int: { ok: ['0', '1', '2', '3', '10', '35', '60', '600'], bad: ['601', '2147483647', '61'] },
  threshold: { ok: ['1'], bad: ['2', '3', '0'] },
  port: { ok: ['8080', 'http', 'management', 'grpc', '9090'], bad: ['1', '65535', '65536', '0', 'metrics', 'dns', 'nope', 'HTTP'] },
  path: { ok: ['/', '/health', '/actuator/health/readiness', '/a?b=c&d=e', '/x%20y', '/~user/.x-_', '/a+b,c:d@e', '/ok?x=1'], bad: ['relative'] },
  deregisterPath: { ok: ['/api/nacos/deregister', '/', '/nacos/v1/ns/instance?serviceName=orders&ip=1', '/a-b_c.d~e%2F', '/x?y', '/x?a=b&c=d'], bad: ['/a+b', '/x?y=1;2'] },
  type: { ok: ['http', 'tcp', 'grpc', 'exec'], bad: ['HTTP', 'udp'] },
  scheme: { ok: ['HTTP', 'HTTPS'], bad: ['http'] },
  profile: { ok: ['default', 'http', 'spring-boot', 'grpc'], bad: ['nope', 'Default'] },
  mode: { ok: ['exec', 'http'], bad: ['HTTP', 'ssh'] },
  via: { ok: ['endpoint', 'actuator'], bad: ['Actuator', 'eureka'] },
  nacosName: { ok: ['orders', 'DEFAULT_GROUP', 'prod-1', 'a.b:c', 'public'], bad: ['a b', 'a/b', ''] },
  method: { ok: ['GET', 'POST', 'PUT', 'DELETE'], bad: ['PATCH', 'get'] },
  command: { ok: ['["cat","/tmp/healthy"]', '["/bin/sh","-c","echo $(id)"]', '["true"]'], bad: ['[]', '[""]', '"cat"', '[1]', '["a",null]'] },
  grpcService: { ok: ['', 'grpc.health.v1.Health', 'orders', "x'; id; '"], bad: [] },
  gates: {
    ok: ['nacos.io/registered', 'a', 'A_b.c', 'x/y', 'nacos.io/registered,example.com/ready', 'nacos.io/registered, nacos.io/registered'],
    bad: ['Bad.IO/x', 'a/b/c', '-a', `${'a'.repeat(64)}`, 'example.com/', '/x'],
  },
  containers: { ok: ['app', 'app,sidecar', 'sidecar', 'app, sidecar', 'worker,app', 'log-shipper', 'app,app', 'app,mesh'], bad: ['nope', 'app,'] },
  status: {
    ok: [
      '{"containers":{"app":["readinessProbe"]}}',
      '{"containers":{"app":["startupProbe","readinessProbe","livenessProbe","preStop"]},"readinessGates":["nacos.io/registered"],"terminationGracePeriodSeconds":48}',
      '{"containers":{"nope":["readinessProbe"]}}',
      '{"containers":[]}',
      '{"containers":{"__proto__":["x"]}}',
      'not json',
      '[]',
    ],
    bad: [],
  },
  probe: {
    ok: [
      '{"httpGet":{"path":"/ready","port":"http"},"periodSeconds":7}',
      '{"tcpSocket":{"port":8080}}',
      '{"grpc":{"port":"grpc"}}',
      '{"grpc":{"port":9090,"service":"x"}}',
      '{"exec":{"command":["true"]}}',
      '{"httpGet":{"path":"/h","port":8080,"httpHeaders":[{"name":"X-A","value":"b"}]}}',
    ],
    bad: [
      '{"exec":{"command":["true"]},"successThreshold":2}',
      '{"httpGet":{"path":"/x","port":8080},"terminationGracePeriodSeconds":5}',
      '{"httpGet":{"path":"/h","port":8080,"httpHeaders":[{"name":"bad name","value":"b"}]}}',
      '{"httpGet":{"path":"x","port":8080}}',
      '{"tcpSocket":{"port":"nope"}}',
      '{"tcpSocket":{"port":8080},"exec":{"command":["x"]}}',
      '{"tcpSocket":{"port":8080},"periodSeconds":2147483648}',
      '{"tcpSocket":{"port":8080},"bogus":1}',
      '{"__proto__":{"tcpSocket":{"port":8080}}}',
      '{}',
    ],
  },
};

function familyOf(key: string): { readonly ok: readonly string[]; readonly bad: readonly string[] } {
  if (key === 'status') return fam.status;
  if (key === 'containers') return fam.containers;
  if (key === 'profile') return fam.profile;
  if (key === 'readiness-gates') return fam.gates;
  if (key === 'nacos-deregister-mode') return fam.mode;
  if (key === 'nacos-deregister-via') return fam.via;
  if (['nacos-service', 'nacos-group', 'nacos-namespace', 'nacos-cluster'].includes(key)) return fam.nacosName;
  if (key === 'nacos-deregister-method') return fam.method;
  if (key === 'nacos-deregister-path') return fam.deregisterPath;
  if (key.endsWith('success-threshold')) return fam.threshold;
  if (key.endsWith('-seconds') || key.endsWith('-threshold')) return fam.int;
  if (key === 'port' || key.endsWith('-port')) return fam.port;
  if (key === 'path' || key.endsWith('-path')) return fam.path;
  if (key === 'type' || key.endsWith('-type')) return fam.type;
  if (key === 'scheme' || key.endsWith('-scheme')) return fam.scheme;
  if (key.endsWith('-command')) return fam.command;
  if (key.endsWith('-grpc-service')) return fam.grpcService;
  if (key.endsWith('-probe')) return fam.probe;
  return fam.bool; // inject, nacos-deregister, readiness, liveness, startup
}

const hostileValue = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 3 },
  { arbitrary: fc.string({ maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 },
);
/** A value for `key`: one it accepts (`validWeight` times more often), a near miss, or a hostile one. */
const valueFor = (key: string, validWeight = 4) => {
  const { ok, bad } = familyOf(key);
  return fc.oneof(
    { arbitrary: fc.constantFrom(...ok), weight: validWeight },
    { arbitrary: bad.length > 0 ? fc.constantFrom(...bad) : hostileValue, weight: 1 },
    { arbitrary: hostileValue, weight: 1 },
  );
};

const TYPOS = ['readiness-period', 'liveness-typo', 'Inject', 'inject ', 'readines-path', 'nacos-deregistr', 'gates', 'probe', '', '/', 'x'.repeat(200), '__proto__', 'constructor'];
/** An annotation key: mostly a real one, sometimes a typo under the prefix, or a foreign key. */
const annotationKey = fc.oneof(
  { arbitrary: fc.constantFrom(...KNOWN_KEYS).map((key) => PREFIX + key), weight: 12 },
  { arbitrary: fc.oneof(fc.constantFrom(...TYPOS), fc.string({ maxLength: 30 })).map((key) => PREFIX + key), weight: 2 },
  { arbitrary: fc.constantFrom('kubectl.kubernetes.io/default-container', 'app.kubernetes.io/name', 'example.com/x', '__proto__', 'constructor'), weight: 1 },
);

const CONTAINER_NAMES = ['app', 'sidecar', 'log-shipper', 'worker'];

/** Annotation maps as kube-apiserver would send them (own keys, from JSON: `__proto__` included). */
function annotationsArb(validWeight = 4, maxKeys = 8) {
  const entry = annotationKey.chain((key) => {
    const short = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
    const value =
      key === 'kubectl.kubernetes.io/default-container' ? fc.oneof(fc.constantFrom(...CONTAINER_NAMES, 'nope'), hostileValue)
      : key.startsWith(PREFIX) && isKnownKey(short) ? valueFor(short, validWeight)
      : hostileValue;
    return fc.tuple(fc.constant(key), value);
  });
  const inject = fc.oneof({ arbitrary: fc.constant('true'), weight: 8 }, { arbitrary: fc.constantFrom(undefined, 'false', 'TRUE', ''), weight: 1 });
  return fc.tuple(inject, fc.array(entry, { maxLength: maxKeys })).map(([injectValue, entries]) => {
    const map: Record<string, string> = Object.fromEntries(entries);
    if (injectValue !== undefined) Object.defineProperty(map, `${PREFIX}inject`, { value: injectValue, enumerable: true, writable: true, configurable: true });
    return map;
  });
}

// ---- pods ------------------------------------------------------------------------------------

const PORTS = [
  { name: 'http', containerPort: 8080, protocol: 'TCP' },
  { name: 'management', containerPort: 8081 },
  { name: 'grpc', containerPort: 9090, protocol: 'TCP' },
  { containerPort: 7000 },
  { name: 'metrics', containerPort: 2020, protocol: 'UDP' },
  { name: 'dns', containerPort: 53, protocol: 'UDP' },
];

/** An existing probe that is valid for a container with these ports. */
function existingProbe(ports: readonly Record<string, any>[]) {
  const names = ports.flatMap((p) => (p.name ? [p.name as string] : []));
  const portRef = fc.oneof(fc.constantFrom(8080, 3000), ...(names.length > 0 ? [fc.constantFrom(...names)] : []));
  return fc.oneof(
    portRef.map((port) => ({ tcpSocket: { port }, periodSeconds: 10 })),
    fc.tuple(portRef, fc.constantFrom('HTTP', 'HTTPS', undefined)).map(([port, scheme]) => ({ httpGet: { path: '/healthz', port, ...(scheme && { scheme }) } })),
    fc.constant({ exec: { command: ['cat', '/tmp/healthy'] } }),
    fc.constant({ grpc: { port: 9090 } }),
  );
}

const lifecycleArb = fc.constantFrom<unknown>(
  undefined,
  null,
  {},
  { preStop: null },
  { postStart: { exec: { command: ['true'] } } },
  { preStop: { exec: { command: ['sleep', '5'] } } },
  { preStop: { httpGet: { path: '/stop', port: 8080 } } },
);

const containerArb = (name: string) =>
  fc
    .oneof({ arbitrary: fc.subarray(PORTS), weight: 6 }, { arbitrary: fc.constantFrom(undefined, null), weight: 1 })
    .chain((ports) =>
      fc.record({
        ports: fc.constant(ports),
        startupProbe: fc.option(existingProbe(ports ?? []), { nil: undefined, freq: 3 }),
        readinessProbe: fc.option(existingProbe(ports ?? []), { nil: undefined, freq: 3 }),
        livenessProbe: fc.option(existingProbe(ports ?? []), { nil: undefined, freq: 3 }),
        lifecycle: lifecycleArb,
      }),
    )
    .map((parts) => {
      const container: Record<string, unknown> = { name, image: `registry.example.com/${name}:1.0`, imagePullPolicy: 'IfNotPresent', resources: {} };
      for (const [key, value] of Object.entries(parts)) if (value !== undefined) container[key] = value;
      return container;
    });

const podShape = fc.record({
  containers: fc.uniqueArray(fc.constantFrom(...CONTAINER_NAMES), { minLength: 1, maxLength: 3 }).chain((names) => fc.tuple(...names.map(containerArb))),
  /** A native sidecar (or a plain init container) named `mesh`, which `containers` may name. */
  initContainers: fc.constantFrom<unknown>(undefined, [{ name: 'mesh', image: 'envoy', restartPolicy: 'Always', ports: [{ containerPort: 15021 }] }], [{ name: 'mesh', image: 'setup' }]),
  labels: fc.constantFrom<unknown>(undefined, { app: 'orders' }, { 'app.kubernetes.io/name': 'orders', 'probe-injector.io/nacos-gate': 'true' }, { run: 'x' }),
  readinessGates: fc.constantFrom<unknown>(undefined, null, [], [{ conditionType: 'nacos.io/registered' }], [{ conditionType: 'example.com/other' }]),
  grace: fc.constantFrom<unknown>(undefined, 0, 30, 45, 3600, 2147483647),
  metadata: fc.oneof(
    { arbitrary: fc.constantFrom('named', 'generateName'), weight: 8 },
    { arbitrary: fc.constantFrom('no-annotations', 'null-annotations', 'no-metadata'), weight: 1 },
  ),
});

function podArb(validWeight = 4, maxKeys = 8) {
  return fc.tuple(podShape, annotationsArb(validWeight, maxKeys)).map(([shape, annotations]) => {
    const pod: Pod = basePod();
    pod.spec.containers = shape.containers;
    if (shape.readinessGates === undefined) delete pod.spec.readinessGates;
    else pod.spec.readinessGates = shape.readinessGates;
    if (shape.initContainers !== undefined) pod.spec.initContainers = shape.initContainers;
    if (shape.labels === undefined) delete pod.metadata.labels;
    else pod.metadata.labels = shape.labels;
    if (shape.grace === undefined) delete pod.spec.terminationGracePeriodSeconds;
    else pod.spec.terminationGracePeriodSeconds = shape.grace;
    switch (shape.metadata) {
      case 'named':
        pod.metadata.annotations = annotations;
        break;
      case 'generateName':
        delete pod.metadata.name;
        pod.metadata.generateName = 'orders-7d9f8c6b5-';
        pod.metadata.annotations = annotations;
        break;
      case 'no-annotations':
        delete pod.metadata.annotations;
        break;
      case 'null-annotations':
        pod.metadata.annotations = null;
        break;
      case 'no-metadata':
        delete pod.metadata;
        break;
    }
    return pod;
  });
}

const CONFIGS: InjectionConfig[] = [
  makeInjectionConfig(),
  makeInjectionConfig({ errorPolicy: 'warn' }),
  makeInjectionConfig({ injectByDefault: true }),
  makeInjectionConfig({ injectByDefault: true, errorPolicy: 'warn', shutdownSeconds: 0, kubernetesVersion: '1.29' }),
  makeInjectionConfig({ shutdownSeconds: 30, nacos: { deregister: { mode: 'http' } }, kubernetesVersion: '1.23' }),
  makeInjectionConfig({ nacos: { deregister: { method: 'PUT', sleepSeconds: 0, timeoutSeconds: 60 } }, kubernetesVersion: '1.30' }),
  makeInjectionConfig({ nacos: { deregister: { via: 'actuator' }, gate: { conditionType: 'example.com/other' } }, kubernetesVersion: 'v1.31.2' }),
];
const configArb = fc.constantFrom(...CONFIGS);

// ---- checks ----------------------------------------------------------------------------------

/** A problem names a key: a known one, or the full foreign / unknown key it is about. */
function namesAKey(problem: Problem): boolean {
  if (problem.key === '') return problem.origin === 'bound';
  return typeof problem.key === 'string' && (isKnownKey(problem.key) || problem.key.includes('/'));
}

function run(pod: Pod, config: InjectionConfig): Mutation {
  expect(isPod(pod)).toBe(true);
  return mutatePod(pod as CorePod, config);
}

function applyStrictly(pod: Pod, patch: readonly unknown[]): Pod {
  return jsonpatch.applyPatch(clone(pod), clone(patch) as jsonpatch.Operation[], true).newDocument as Pod;
}

function valueAt(doc: unknown, path: string): { found: boolean; value?: unknown } {
  let node: any = doc;
  for (const raw of path.split('/').slice(1)) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, token)) return { found: false };
    node = node[token];
  }
  return { found: true, value: node };
}

/** The exec preStop script the webhook may write: nothing but this template around one URL. */
const URL_PART = "'http://127\\.0\\.0\\.1:[0-9]{1,5}/[A-Za-z0-9/\\-._~%]*(\\?[A-Za-z0-9/\\-._~%=&]*)?'";
const ACTUATOR = `-H 'Content-Type: application/json' -d '{"status":"DOWN"}'`;
const SCRIPT = new RegExp(
  `^if command -v curl >/dev/null 2>&1; then curl -sS -m [0-9]{1,2}( -X (POST|PUT|DELETE))?( ${ACTUATOR})? -o /dev/null U; ` +
    `elif command -v wget >/dev/null 2>&1; then (wget -q -T [0-9]{1,2} -O /dev/null( --post-data ''| --header 'Content-Type: application/json' --post-data '{"status":"DOWN"}')? U|echo 'probe-injector: (PUT|DELETE) needs curl in the image' >&2); ` +
    "else echo 'probe-injector: neither curl nor wget found' >&2; fi; sleep [0-9]{1,3}$",
);
const SCRIPT_WITH_URL = new RegExp(SCRIPT.source.replaceAll(' U', ` ${URL_PART}`));

function preStopsOf(patch: readonly any[]): any[] {
  return patch.flatMap((op) => {
    if (/\/lifecycle$/.test(op.path)) return [op.value.preStop];
    if (/\/lifecycle\/preStop$/.test(op.path)) return [op.value];
    return [];
  });
}

function checkPreStop(hook: any): void {
  if (hook.sleep) {
    expect(Object.keys(hook)).toEqual(['sleep']);
    expect(Number.isInteger(hook.sleep.seconds) && hook.sleep.seconds >= 1 && hook.sleep.seconds <= 600).toBe(true);
    return;
  }
  if (hook.exec && /^sleep [0-9]+$/.test(hook.exec.command[2])) {
    expect(hook.exec.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    return;
  }
  if (hook.httpGet) {
    expect(Object.keys(hook)).toEqual(['httpGet']);
    expect(hook.httpGet.path).toMatch(/^\/[A-Za-z0-9/\-._~%]*(\?[A-Za-z0-9/\-._~%=&]*)?$/);
    expect(Number.isInteger(hook.httpGet.port)).toBe(true);
    return;
  }
  const command = hook.exec.command;
  expect(command).toHaveLength(3);
  expect(command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  const script: string = command[2];
  expect(script).toMatch(SCRIPT_WITH_URL);
  // Outside the single-quoted URL only the fixed template is left: no character from an annotation.
  const outside = script.replace(new RegExp(URL_PART, 'g'), 'U').replaceAll(`'{"status":"DOWN"}'`, 'BODY');
  expect(outside.replaceAll('BODY', `'{"status":"DOWN"}'`)).toMatch(SCRIPT);
  expect(outside).not.toMatch(/[`$\\"\n\r|]|\(|\)/);
}

// ---- properties ------------------------------------------------------------------------------

describe('fuzz: the annotation parser', () => {
  it('never throws; every problem names a key; an unknown key under the prefix gets a known suggestion', () => {
    fc.assert(
      fc.property(annotationsArb(), configArb, (annotations, config) => {
        const problems: Problems = [];
        const settings = parseSettings(scanAnnotations(annotations).ours, config, problems);
        expect(settings.profile).toBeDefined(); // a value always, even with problems: the next stages still run
        for (const problem of problems) {
          expect(namesAKey(problem)).toBe(true);
          expect(formatProblem(problem)).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/);
          if (problem.key.startsWith(PREFIX) && !isKnownKey(problem.key.slice(PREFIX.length))) {
            for (const suggestion of problem.message.matchAll(/probe-injector\.io\/([a-z-]+)/g)) expect(isKnownKey(suggestion[1] ?? '')).toBe(true);
          }
        }
      }),
      params(),
    );
  });
});

describe('fuzz: the injection core (mutatePod)', () => {
  it('never throws, never modifies its input, and says what it did consistently: every problem names a key, warnings are single lines', () => {
    fc.assert(
      fc.property(podArb(), configArb, (pod, config) => {
        const before = clone(pod);
        const mutation = run(pod, config);
        expect(pod).toEqual(before); // pure: the request's pod is never modified
        expect(OUTCOMES).toContain(mutation.outcome);
        expect(mutation.patch.length > 0).toBe(mutation.outcome === 'patched');
        for (const problem of mutation.problems) expect(namesAKey(problem)).toBe(true);
        if (mutation.outcome === 'denied') {
          expect(config.errorPolicy).toBe('reject');
          expect(mutation.problems.length).toBeGreaterThan(0);
        }
        if (mutation.problems.length > 0 && config.errorPolicy === 'warn') expect(mutation.outcome).toBe('unchanged');
        expect(mutation.warnings.length).toBeLessThanOrEqual(20);
        for (const warning of warningTexts(mutation.warnings)) {
          expect(warning).toMatch(/^probe-injector: /);
          expect(warning).not.toMatch(/[\u0000-\u001f\u007f\u2028\u2029]/); // no newline or other control character
          expect(warning.length).toBeLessThanOrEqual(240);
        }
      }),
      params(),
    );
  });

  it('every patch applies strictly (RFC 6902) to the pod, only adds what was missing, and the result passes kube-apiserver validation', () => {
    let patched = 0;
    fc.assert(
      fc.property(podArb(12, 5), configArb, (pod, config) => {
        const mutation = run(pod, config);
        if (mutation.outcome !== 'patched') return;
        patched++;
        for (const op of mutation.patch) {
          expect(['add', 'replace']).toContain(op.op);
          if (op.op === 'replace') expect(op.path).toBe('/spec/terminationGracePeriodSeconds');
          else if (!op.path.endsWith('/-')) {
            // "Never override": an add lands where nothing (or an explicit null) was.
            const existing = valueAt(pod, op.path);
            const ours = op.path === '/spec/terminationGracePeriodSeconds' || op.path.endsWith('/probe-injector.io~1status');
            if (existing.found && !ours) expect(existing.value).toBeNull();
          }
        }
        const result = applyStrictly(pod, mutation.patch);
        // Only what the patch brought: a generated pod may already be invalid for the version (a sidecar on 1.23).
        const version = { minor: config.kubernetesVersion?.minor ?? 20 };
        const before = new Set(validatePod(pod, version));
        expect(validatePod(result, version).filter((error) => !before.has(error))).toEqual([]);
        expect(isPod(result)).toBe(true);
      }),
      params(),
    );
    expect(patched).toBeGreaterThan(RUNS / 10); // not vacuous: a good share of the pods was patched
  });

  it('feeding the patched pod back (reinvocation) yields no patch', () => {
    fc.assert(
      fc.property(podArb(12, 5), configArb, (pod, config) => {
        const first = run(pod, config);
        if (first.outcome !== 'patched') return;
        const again = run(applyStrictly(pod, first.patch), config);
        expect(again.patch).toEqual([]);
        expect(again.outcome).toBe('unchanged');
      }),
      params(),
    );
  });

  it('reinvocation stays silent: no warnings the second time', () => {
    fc.assert(
      fc.property(podArb(12, 5), configArb, (pod, config) => {
        const first = run(pod, config);
        if (first.outcome !== 'patched') return;
        const again = run(applyStrictly(pod, first.patch), config);
        expect(again.warnings).toEqual([]);
      }),
      params(),
    );
  });

  it('no shell metacharacter from an annotation ever reaches a preStop command outside the validated, single-quoted URL', () => {
    const nacosKeys = ['nacos-deregister-mode', 'nacos-deregister-via', 'nacos-deregister-port', 'nacos-deregister-path', 'nacos-deregister-method', 'nacos-deregister-timeout-seconds', 'nacos-deregister-sleep-seconds'];
    const nacosAnnotations = fc
      .tuple(
        ...nacosKeys.map((key) =>
          fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 }, { arbitrary: valueFor(key, 8), weight: 6 }, { arbitrary: hostileValue, weight: 2 }),
        ),
      )
      .map((values) => {
        const map: Record<string, string> = { [`${PREFIX}inject`]: 'true', [`${PREFIX}nacos-deregister`]: 'true' };
        values.forEach((value, i) => {
          if (value !== undefined) map[PREFIX + nacosKeys[i]] = value;
        });
        return map;
      });
    const pods = fc.tuple(podArb(12, 2), nacosAnnotations).map(([pod, annotations]) => {
      if (pod.metadata) pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), ...annotations };
      return pod;
    });
    let hooks = 0;
    fc.assert(
      fc.property(pods, configArb, (pod, config) => {
        const mutation = run(pod, config);
        for (const hook of preStopsOf(mutation.patch)) {
          hooks++;
          checkPreStop(hook);
        }
      }),
      params(),
    );
    expect(hooks).toBeGreaterThan(RUNS / 40); // the property did look at hooks (about 4 % of the pods get one)
  });
});

describe('fuzz: mutationKey (what the admission memo keys on)', () => {
  /** Changes a pod anywhere, read by the core or not. */
  const change = fc.constantFrom<(pod: Pod) => void>(
    (pod) => (pod.metadata ? (pod.metadata.name = 'other') : undefined),
    (pod) => (pod.metadata ? (pod.metadata.generateName = 'orders-5f6d-') : undefined),
    (pod) => (pod.metadata ? (pod.metadata.ownerReferences = [{ kind: 'ReplicaSet', name: 'x', uid: '1' }]) : undefined),
    (pod) => (pod.spec.containers[0].image = 'registry.example.com/other:2'),
    (pod) => (pod.spec.containers[0].volumeMounts = [{ name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets' }]),
    (pod) => (pod.spec.containers[0].env = [{ name: 'A', value: 'b' }]),
    (pod) => (pod.spec.volumes = [{ name: 'kube-api-access-x7k2p', projected: {} }]),
    (pod) => (pod.spec.nodeName = 'node-1'),
    (pod) => (pod.spec.containers[0].ports = [{ containerPort: 1234 }]),
    (pod) => (pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 1 } }),
    (pod) => (pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }]),
    (pod) => (pod.spec.terminationGracePeriodSeconds = 1),
    (pod) => (pod.metadata ? (pod.metadata.labels = { app: 'x' }) : undefined),
    (pod) => (pod.metadata ? (pod.metadata.annotations = { ...pod.metadata.annotations, 'probe-injector.io/port': '9' }) : undefined),
    (pod) => (pod.spec.initContainers = [{ name: 'mesh', image: 'x', restartPolicy: 'Always' }]),
  );

  it('two pods with the same key get the same answer (so a memoised answer is the fresh one)', () => {
    let same = 0;
    fc.assert(
      fc.property(podArb(12, 5), change, configArb, (pod, edit, config) => {
        const other = clone(pod);
        edit(other);
        if (!isPod(other) || mutationKey(pod as CorePod) !== mutationKey(other)) return;
        same++;
        expect(run(other, config)).toEqual(run(pod, config));
      }),
      params(),
    );
    expect(same).toBeGreaterThan(RUNS / 4); // not vacuous
  });
});

describe('fuzz: the worst shapes stay within their bounds (issue 11)', () => {
  const P = PREFIX;
  /** Many containers, many gates, big and nested values, values copied to many targets, many keys. */
  const worstPod = fc
    .record({
      containers: fc.integer({ min: 1, max: 300 }),
      targeted: fc.integer({ min: 0, max: 300 }),
      gatesInSpec: fc.integer({ min: 0, max: 3000 }),
      gatesAsked: fc.integer({ min: 0, max: 100 }),
      valueBytes: fc.constantFrom(0, 100, 4000, 16_000, 17_000, 100_000),
      nesting: fc.constantFrom(0, 50, 5000),
      copied: fc.subarray(['readiness-probe', 'liveness-probe', 'startup-probe', 'readiness-command', 'liveness-grpc-service'] as const),
      unknownKeys: fc.integer({ min: 0, max: 1000 }),
      keyBytes: fc.constantFrom(10, 300, 300_000),
    })
    .map((shape) => {
      const pod: Pod = basePod();
      pod.spec.containers = Array.from({ length: shape.containers }, (_, i) => ({ name: `c${i}`, image: 'x', ports: [{ containerPort: 8080 + (i % 100) }] }));
      pod.spec.readinessGates = Array.from({ length: shape.gatesInSpec }, (_, i) => ({ conditionType: `example.com/g${i}` }));
      const annotations: Record<string, string> = { [`${P}inject`]: 'true' };
      if (shape.targeted > 0) annotations[`${P}containers`] = Array.from({ length: shape.targeted }, (_, i) => `c${i}`).join(',');
      if (shape.gatesAsked > 0) annotations[`${P}readiness-gates`] = Array.from({ length: shape.gatesAsked }, (_, i) => `example.com/a${i}`).join(',');
      const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
      const filler = 'x'.repeat(Math.max(0, shape.valueBytes - 40));
      for (const key of shape.copied) {
        annotations[P + key] = key.endsWith('-probe')
          ? `{"exec":{"command":["${filler}"]}${shape.nesting > 0 ? `,"x":${nested(shape.nesting)}` : ''}}`
          : key.endsWith('-command')
            ? `["${filler}"]`
            : filler;
      }
      const keys = shape.keyBytes > 1000 ? Math.min(shape.unknownKeys, 2) : shape.unknownKeys; // a few huge keys, or many short ones
      for (let i = 0; i < keys; i++) annotations[`${P}${'k'.repeat(shape.keyBytes)}${i}`] = 'v';
      pod.metadata.annotations = annotations;
      return pod;
    });

  it('patch, denial and warnings never exceed their bounds, and the core never throws', () => {
    fc.assert(
      fc.property(worstPod, fc.constantFrom(...CONFIGS), (pod, config) => {
        const mutation = run(pod, config);
        expect(mutation.patchJson.length).toBeLessThanOrEqual(256 * 1024);
        if (mutation.outcome === 'denied') expect(formatDenial(mutation.problems).length).toBeLessThanOrEqual(16 * 1024);
        const warnings = warningTexts(mutation.warnings);
        expect(warnings.length).toBeLessThanOrEqual(20);
        for (const warning of warnings) expect(warning.length).toBeLessThanOrEqual(240);
      }),
      params(Math.max(20, Math.floor(RUNS / 30))),
    );
  });
});

