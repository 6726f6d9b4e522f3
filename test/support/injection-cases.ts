/**
 * The table of valid annotation sets, from the pod a case starts with to the pod that must be
 * stored: run through the HTTPS webhook by test/injection.test.ts, and through a real
 * kube-apiserver by test/e2e/injection.e2e.ts (those without a per-case config).
 */
import type { ConfigInput } from '../../src/core/config.js';
import { actuatorHook, ALL_PROBES, exec, execHook, grpc, http, on, P, setProbes, setStatus, tcp, type Pod } from './expect.js';

const all3 = { containers: { app: ALL_PROBES } };
/** A cluster that has every feature the webhook can use (gRPC probes, native sidecars, the sleep action). */
const NEW = { kubernetesVersion: '1.30' } as const;
const tcp3 = (pod: Pod, port: number | string = 8080) => setProbes(pod, { startup: tcp('startup', port), readiness: tcp('readiness', port), liveness: tcp('liveness', port) });

/** Makes the pod a case starts from: one container `app` with a TCP port named `http` (8080). */
export type MakePod = (annotations?: Record<string, string>, change?: (pod: Pod) => void) => Pod;

/** What kube-apiserver must support for a case (v1.20, the e2e server, lacks these). */
export type Needs = 'grpc-probes' | 'sleep-action' | 'native-sidecars';

export interface InjectionCase {
  readonly name: string;
  readonly pod: (make: MakePod) => Pod;
  readonly needs?: Needs;
  /** The pod the API server should store; `undefined`: unchanged. */
  readonly expect?: (pod: Pod) => void;
  readonly warnings?: readonly RegExp[];
  readonly config?: ConfigInput;
}

export const INJECTION_CASES: InjectionCase[] = [
  // --- opting in -----------------------------------------------------------------------------
  { name: 'no annotations: untouched', pod: (make) => make() },
  { name: 'inject "false": untouched', pod: (make) => make({ [`${P}inject`]: 'false', [`${P}readiness-path`]: '/x' }) },
  {
    name: 'injectByDefault: a pod with no annotations at all gets the default probes and an annotations map',
    pod: (make) => make({}, (pod) => delete pod.metadata.annotations),
    config: { injectByDefault: true },
    expect: (pod) => {
      tcp3(pod);
      pod.metadata.annotations = { [`${P}status`]: JSON.stringify(all3) };
    },
  },
  { name: 'injectByDefault: inject "false" still opts out', pod: (make) => make({ [`${P}inject`]: 'false' }), config: { injectByDefault: true } },

  // --- profiles and the SPEC timing table ----------------------------------------------------
  { name: 'default profile: tcpSocket on the first TCP port, SPEC timings', pod: (make) => make(on()), expect: (pod) => (tcp3(pod), setStatus(pod, all3)) },
  {
    name: 'profile default (explicit)',
    pod: (make) => make(on({ profile: 'default' })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
  },
  {
    name: 'profile http: httpGet / on the port',
    pod: (make) => make(on({ profile: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: http('startup'), readiness: http('readiness'), liveness: http('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'profile spring-boot: actuator readiness and liveness groups',
    pod: (make) => make(on({ profile: 'spring-boot' })),
    expect: (pod) => (
      setProbes(pod, {
        startup: http('startup', '/actuator/health/liveness'),
        readiness: http('readiness', '/actuator/health/readiness'),
        liveness: http('liveness', '/actuator/health/liveness'),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'profile grpc: gRPC health checking on the numeric port',
    needs: 'grpc-probes',
    config: NEW,
    pod: (make) => make(on({ profile: 'grpc' })),
    expect: (pod) => (setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness'), liveness: grpc('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'first TCP containerPort: UDP ports are skipped',
    pod: (make) => make(on(), (pod) => (pod.spec.containers[0].ports = [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 9000 }])),
    expect: (pod) => (tcp3(pod, 9000), setStatus(pod, all3)),
  },

  // --- shared keys ----------------------------------------------------------------------------
  { name: 'type tcp', pod: (make) => make(on({ type: 'tcp' })), expect: (pod) => (tcp3(pod), setStatus(pod, all3)) },
  {
    name: 'type http uses path "/"',
    pod: (make) => make(on({ type: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: http('startup'), readiness: http('readiness'), liveness: http('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'path without a type means http',
    pod: (make) => make(on({ path: '/health?full=1' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/health?full=1'), readiness: http('readiness', '/health?full=1'), liveness: http('liveness', '/health?full=1') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'type grpc with a port name: resolved to the container port number',
    needs: 'grpc-probes',
    config: NEW,
    pod: (make) => make(on({ type: 'grpc', port: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness'), liveness: grpc('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'type exec with a command per probe',
    pod: (make) => make(on({ type: 'exec', 'startup-command': '["true"]', 'readiness-command': '["cat","/tmp/ready"]', 'liveness-command': '["/bin/ok"]' })),
    expect: (pod) => (
      setProbes(pod, { startup: exec('startup', ['true']), readiness: exec('readiness', ['cat', '/tmp/ready']), liveness: exec('liveness', ['/bin/ok']) }),
      setStatus(pod, all3)
    ),
  },
  { name: 'port as a number', pod: (make) => make(on({ port: '9090' })), expect: (pod) => (tcp3(pod, 9090), setStatus(pod, all3)) },
  { name: 'port as a declared name stays a name for tcpSocket', pod: (make) => make(on({ port: 'http' })), expect: (pod) => (tcp3(pod, 'http'), setStatus(pod, all3)) },
  {
    name: 'port on a container with no ports: a number needs no declaration',
    pod: (make) => make(on({ port: '7000' }), (pod) => delete pod.spec.containers[0].ports),
    expect: (pod) => (tcp3(pod, 7000), setStatus(pod, all3)),
  },
  {
    name: 'scheme HTTPS',
    pod: (make) => make(on({ type: 'http', scheme: 'HTTPS', port: '8443' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/', 8443, 'HTTPS'), readiness: http('readiness', '/', 8443, 'HTTPS'), liveness: http('liveness', '/', 8443, 'HTTPS') }),
      setStatus(pod, all3)
    ),
  },

  // --- per-probe keys -------------------------------------------------------------------------
  {
    name: 'readiness "false" and liveness "false": only the startup probe',
    pod: (make) => make(on({ readiness: 'false', liveness: 'false', startup: 'true' })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup') }), setStatus(pod, { containers: { app: ['startupProbe'] } })),
  },
  {
    name: 'every readiness key at once',
    pod: (make) => make(
      on({
        'readiness-type': 'http',
        'readiness-port': '9090',
        'readiness-path': '/ready',
        'readiness-scheme': 'HTTPS',
        'readiness-initial-delay-seconds': '5',
        'readiness-period-seconds': '7',
        'readiness-timeout-seconds': '4',
        'readiness-success-threshold': '2',
        'readiness-failure-threshold': '6',
      }),
    ),
    expect: (pod) => (
      setProbes(pod, {
        startup: tcp('startup'),
        readiness: { httpGet: { path: '/ready', port: 9090, scheme: 'HTTPS' }, initialDelaySeconds: 5, periodSeconds: 7, timeoutSeconds: 4, successThreshold: 2, failureThreshold: 6 },
        liveness: tcp('liveness'),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'liveness and startup timings',
    pod: (make) => make(
      on({
        'liveness-initial-delay-seconds': '0',
        'liveness-period-seconds': '2147483647',
        'liveness-timeout-seconds': '9',
        'liveness-success-threshold': '1',
        'liveness-failure-threshold': '1',
        'startup-period-seconds': '1',
        'startup-failure-threshold': '120',
        'startup-success-threshold': '1',
        'startup-timeout-seconds': '1',
        'startup-initial-delay-seconds': '3',
      }),
    ),
    expect: (pod) => (
      setProbes(pod, {
        startup: tcp('startup', 8080, { periodSeconds: 1, failureThreshold: 120, timeoutSeconds: 1, initialDelaySeconds: 3 }),
        readiness: tcp('readiness'),
        liveness: tcp('liveness', 8080, { periodSeconds: 2147483647, timeoutSeconds: 9, failureThreshold: 1 }),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a per-probe key beats the shared one; a shared path does not bind a probe typed tcp',
    pod: (make) => make(on({ path: '/h', 'liveness-type': 'tcp', 'startup-path': '/started' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/started'), readiness: http('readiness', '/h'), liveness: tcp('liveness') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a per-probe path beats a shared type',
    pod: (make) => make(on({ type: 'tcp', 'readiness-path': '/ready' })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), readiness: http('readiness', '/ready'), liveness: tcp('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'a per-probe port on the spring-boot profile',
    pod: (make) => make(on({ profile: 'spring-boot', port: '8081', 'liveness-port': 'http' })),
    expect: (pod) => (
      setProbes(pod, {
        startup: http('startup', '/actuator/health/liveness', 8081),
        readiness: http('readiness', '/actuator/health/readiness', 8081),
        liveness: http('liveness', '/actuator/health/liveness', 'http'),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a command without a type means exec',
    pod: (make) => make(on({ 'liveness-command': '["sh","-c","test -f /tmp/alive"]' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: exec('liveness', ['sh', '-c', 'test -f /tmp/alive']) }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'grpc-service per probe',
    needs: 'grpc-probes',
    config: NEW,
    pod: (make) => make(on({ type: 'grpc', 'readiness-grpc-service': 'ready', 'liveness-grpc-service': 'live' })),
    expect: (pod) => (
      setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness', 8080, 'ready'), liveness: grpc('liveness', 8080, 'live') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: '{probe}-probe is used verbatim',
    pod: (make) => make(on({ 'readiness-probe': '{"httpGet":{"path":"/r","port":"http","httpHeaders":[{"name":"X-Probe","value":"1"}]},"periodSeconds":3}' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: { httpGet: { path: '/r', port: 'http', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, periodSeconds: 3 }, liveness: tcp('liveness') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: '{probe}-probe with a gRPC port name: resolved to the number',
    needs: 'grpc-probes',
    config: NEW,
    pod: (make) => make(on({ 'liveness-probe': '{"grpc":{"port":"http"},"terminationGracePeriodSeconds":5}' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: { grpc: { port: 8080 }, terminationGracePeriodSeconds: 5 } }),
      setStatus(pod, all3)
    ),
  },

  // --- never override ------------------------------------------------------------------------
  {
    name: 'existing probes are kept silently when nothing asked for them',
    pod: (make) => make(on(), (pod) => (pod.spec.containers[0].readinessProbe = { exec: { command: ['ready'] }, periodSeconds: 10 })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') }), setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] } })),
    warnings: [],
  },
  {
    name: 'an existing probe that a {probe}-* key asked for is kept, with a warning',
    pod: (make) => make(on({ 'readiness-path': '/ready' }), (pod) => (pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 8080 } })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') }), setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] } })),
    warnings: [/container "app" already has a readinessProbe; kept it and ignored probe-injector\.io\/readiness-path/],
  },
  {
    name: 'a container with all three probes: nothing to add, no patch',
    pod: (make) => make(on(), (pod) => setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: tcp('liveness') })),
  },

  // --- readiness gates ------------------------------------------------------------------------
  {
    name: 'readiness-gates creates spec.readinessGates',
    pod: (make) => make(on({ 'readiness-gates': 'example.com/registered, example.com/warm ,example.com/registered' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.readinessGates = [{ conditionType: 'example.com/registered' }, { conditionType: 'example.com/warm' }];
      setStatus(pod, { ...all3, readinessGates: ['example.com/registered', 'example.com/warm'] });
    },
  },
  {
    name: 'readiness-gates appends to existing gates, as a set',
    pod: (make) => make(on({ 'readiness-gates': 'a.io/one,b', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => (pod.spec.readinessGates = [{ conditionType: 'a.io/one' }])),
    expect: (pod) => {
      pod.spec.readinessGates.push({ conditionType: 'b' });
      setStatus(pod, { containers: {}, readinessGates: ['b'] });
    },
  },
  {
    name: 'readiness-gates on a pod with an existing readiness probe: no warning (not a {probe}-* key)',
    pod: (make) => make(on({ 'readiness-gates': 'nacos.io/registered', readiness: 'true' }), (pod) => {
      pod.metadata.labels = { 'app.kubernetes.io/name': 'orders' };
      pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 8080 } };
    }),
    expect: (pod) => {
      setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') });
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
      pod.metadata.labels[`${P}nacos-gate`] = 'true';
      setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] }, readinessGates: ['nacos.io/registered'], labels: [`${P}nacos-gate`] });
    },
    warnings: [],
  },

  // --- preStop and the grace period ----------------------------------------------------------
  {
    name: 'nacos-deregister: exec hook on the readiness port, grace raised from 30 to 48',
    pod: (make) => make(on({ 'nacos-deregister': 'true' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
    warnings: [/raised terminationGracePeriodSeconds from 30 to 48/],
  },
  {
    name: 'nacos-deregister with every exec-mode key',
    pod: (make) => make(
      on({
        readiness: 'false',
        liveness: 'false',
        startup: 'false',
        'nacos-deregister': 'true',
        'nacos-deregister-mode': 'exec',
        'nacos-deregister-port': '9000',
        'nacos-deregister-path': '/nacos/off?service=a-b_c.d~e%20&x=1',
        'nacos-deregister-method': 'POST',
        'nacos-deregister-timeout-seconds': '60',
        'nacos-deregister-sleep-seconds': '600',
      }),
    ),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(9000, { path: '/nacos/off?service=a-b_c.d~e%20&x=1', method: 'POST', timeout: 60, sleep: 600 }) };
      pod.spec.terminationGracePeriodSeconds = 670;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 670 });
    },
    warnings: [/from 30 to 670/],
  },
  {
    name: 'nacos-deregister-method PUT: curl only, wget branch says so',
    pod: (make) => make(on({ readiness: 'false', liveness: 'false', startup: 'false', 'nacos-deregister': 'true', 'nacos-deregister-method': 'PUT', 'nacos-deregister-sleep-seconds': '0' })),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080, { method: 'PUT', sleep: 0 }) };
      setStatus(pod, { containers: { app: ['preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'nacos-deregister-port by name is resolved to the number',
    pod: (make) => make(on({ readiness: 'false', liveness: 'false', startup: 'false', 'nacos-deregister': 'true', 'nacos-deregister-port': 'http', 'nacos-deregister-method': 'DELETE' })),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080, { method: 'DELETE' }) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'deregister port defaults to the readiness probe port (HTTP, by name)',
    pod: (make) => make(on({ 'nacos-deregister': 'true', 'readiness-port': 'mgmt', 'readiness-path': '/r' }), (pod) => pod.spec.containers[0].ports.push({ name: 'mgmt', containerPort: 8081 })),
    expect: (pod) => {
      setProbes(pod, { startup: tcp('startup'), readiness: http('readiness', '/r', 'mgmt'), liveness: tcp('liveness') });
      pod.spec.containers[0].lifecycle = { preStop: execHook(8081) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'deregister port skips an HTTPS readiness probe and uses the first TCP port',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => {
      pod.spec.containers[0].readinessProbe = { httpGet: { path: '/', port: 8443, scheme: 'HTTPS' } };
    }),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'http mode: an httpGet hook; grace only needs timeout + shutdown, so 30 stays',
    pod: (make) => make(on({ 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http', 'nacos-deregister-method': 'GET', 'nacos-deregister-path': '/off' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.containers[0].lifecycle = { preStop: { httpGet: { path: '/off', port: 8080, scheme: 'HTTP' } } };
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'a grace period already long enough is left alone',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => (pod.spec.terminationGracePeriodSeconds = 120)),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      setStatus(pod, { containers: { app: ['preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'an absent grace period counts as 30 and is added',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => delete pod.spec.terminationGracePeriodSeconds),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'shutdownSeconds from the config counts in the grace period',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' })),
    config: { shutdownSeconds: 30 },
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.terminationGracePeriodSeconds = 68;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 68 });
    },
  },
  {
    name: 'an existing postStart: preStop is added next to it',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => (pod.spec.containers[0].lifecycle = { postStart: { exec: { command: ['warm'] } } })),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle.preStop = execHook(8080);
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'an existing preStop is kept, with a warning, and the grace period is not raised',
    pod: (make) => make(on({ 'nacos-deregister': 'true' }), (pod) => (pod.spec.containers[0].lifecycle = { preStop: { exec: { command: ['sleep', '5'] } } })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/already has a preStop hook; kept it and ignored probe-injector\.io\/nacos-deregister/],
  },

  // --- the config file --------------------------------------------------------------------------
  {
    name: 'config nacos defaults shape the hook and the grace period',
    pod: (make) => make(on({ 'nacos-deregister': 'true', readiness: 'false', liveness: 'false', startup: 'false' })),
    config: { nacos: { deregister: { path: '/off', method: 'POST', timeoutSeconds: 5, sleepSeconds: 20 } } },
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080, { path: '/off', method: 'POST', timeout: 5, sleep: 20 }) };
      pod.spec.terminationGracePeriodSeconds = 35;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 35 });
    },
  },
  {
    name: 'config nacos mode http is the default mode; annotations still win',
    pod: (make) => make(on({ 'nacos-deregister': 'true', 'nacos-deregister-path': '/bye', readiness: 'false', liveness: 'false', startup: 'false' })),
    config: { nacos: { deregister: { mode: 'http' } } },
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: { httpGet: { path: '/bye', port: 8080, scheme: 'HTTP' } } };
      setStatus(pod, { containers: { app: ['preStop'] } });
    },
  },
  {
    name: "a config profile's port and path; changed default timings are inherited",
    pod: (make) => make(on({ profile: 'team' }), (pod) => pod.spec.containers[0].ports.unshift({ name: 'admin', containerPort: 9000 })),
    config: { profiles: { default: { readiness: { periodSeconds: 9 } }, team: { type: 'http', port: 'http', path: '/h' } } },
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/h', 'http'), readiness: http('readiness', '/h', 'http', 'HTTP', { periodSeconds: 9 }), liveness: http('liveness', '/h', 'http') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a config profile overrides a built-in one field by field',
    pod: (make) => make(on({ profile: 'spring-boot' })),
    config: { profiles: { 'spring-boot': { liveness: { path: '/live', failureThreshold: 5 }, startup: { enabled: false } } } },
    expect: (pod) => (
      setProbes(pod, { readiness: http('readiness', '/actuator/health/readiness'), liveness: http('liveness', '/live', 8080, 'HTTP', { failureThreshold: 5 }) }),
      setStatus(pod, { containers: { app: ['readinessProbe', 'livenessProbe'] } })
    ),
  },

  // --- targets --------------------------------------------------------------------------------
  {
    name: 'containers: two named containers, each with its own port',
    pod: (make) => make(on({ containers: 'app, side', 'nacos-deregister': 'true' }), (pod) => {
      pod.spec.containers.push({ name: 'side', image: 'busybox', ports: [{ containerPort: 9100 }] });
      pod.spec.initContainers = [{ name: 'init', image: 'busybox' }];
    }),
    expect: (pod) => {
      tcp3(pod);
      setProbes(pod, { startup: tcp('startup', 9100), readiness: tcp('readiness', 9100), liveness: tcp('liveness', 9100) }, 1);
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.containers[1].lifecycle = { preStop: execHook(9100) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'], side: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'kubectl.kubernetes.io/default-container picks the target',
    pod: (make) => make(on({ 'kubectl.kubernetes.io/default-container': 'web' }), (pod) => {
      pod.spec.containers.unshift({ name: 'istio-proxy', image: 'proxy', ports: [{ containerPort: 15090 }] });
      pod.spec.containers.push({ name: 'web', image: 'web', ports: [{ containerPort: 3000 }] });
    }),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup', 3000), readiness: tcp('readiness', 3000), liveness: tcp('liveness', 3000) }, 2),
      setStatus(pod, { containers: { web: ALL_PROBES } })
    ),
  },
  {
    name: 'default-container naming no container falls back to the first, with a warning',
    pod: (make) => make(on({ 'kubectl.kubernetes.io/default-container': 'gone' })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/default-container "gone" names no container; injecting into "app"/],
  },
  {
    name: 'templated pod: generateName only, no name',
    pod: (make) => make(on(), (pod) => {
      delete pod.metadata.name;
      pod.metadata.generateName = 'app-7d9c-';
    }),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
  },
  // --- injectByDefault: never denied for what the defaults cannot do (issue 9) ------------------
  {
    name: 'injectByDefault: a container with no port gets no port-based probes, and one warning says so',
    pod: (make) => make({}, (pod) => {
      pod.spec.containers[0].name = 'worker';
      delete pod.spec.containers[0].ports;
    }),
    config: { injectByDefault: true },
    warnings: [/injectByDefault: container "worker" declares no port to probe, so no port-based probe was added/],
  },
  {
    name: 'injectByDefault: the containers with a port get probes; the others are named in one warning',
    pod: (make) => make({ [`${P}containers`]: 'app, job, cron' }, (pod) => {
      pod.spec.containers.push({ name: 'job', image: 'busybox' }, { name: 'cron', image: 'busybox', ports: [{ containerPort: 53, protocol: 'UDP' }] });
    }),
    config: { injectByDefault: true },
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/containers "job", "cron" declare no port to probe/],
  },
  {
    // Found by the reinvocation fuzzer: the status then names no container, so the default target is
    // planned again, and its warning must not be said a second time.
    name: 'injectByDefault: a portless container whose pod already has the Nacos gate gets only the label; the no-port warning once',
    pod: (make) => make({}, (pod) => {
      pod.spec.containers[0].name = 'worker';
      delete pod.spec.containers[0].ports;
      pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 8080 } }; // the port it registers in Nacos
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
      pod.metadata.labels = { app: 'orders' };
    }),
    config: { injectByDefault: true },
    expect: (pod) => {
      pod.metadata.labels[`${P}nacos-gate`] = 'true';
      setStatus(pod, { containers: {}, labels: [`${P}nacos-gate`] });
    },
    warnings: [/container "worker" declares no port to probe/],
  },
  {
    name: 'injectByDefault: exec probes from annotations need no port',
    pod: (make) => make({ [`${P}type`]: 'exec', [`${P}startup-command`]: '["true"]', [`${P}readiness-command`]: '["true"]', [`${P}liveness-command`]: '["true"]' }, (pod) => delete pod.spec.containers[0].ports),
    config: { injectByDefault: true },
    expect: (pod) => (setProbes(pod, { startup: exec('startup', ['true']), readiness: exec('readiness', ['true']), liveness: exec('liveness', ['true']) }), setStatus(pod, all3)),
  },

  // --- the deregistration call is plain HTTP: never a gRPC probe's port (issue 9) -------------------
  {
    name: 'grpc profile with nacos-deregister: the hook calls the first other TCP port, not the gRPC one',
    needs: 'grpc-probes',
    config: NEW,
    pod: (make) => make(on({ profile: 'grpc', port: '7000', 'nacos-deregister': 'true' }), (pod) => {
      pod.spec.containers[0].ports = [{ name: 'grpc', containerPort: 7000 }, { name: 'http', containerPort: 8080 }];
    }),
    expect: (pod) => {
      setProbes(pod, { startup: grpc('startup', 7000), readiness: grpc('readiness', 7000), liveness: grpc('liveness', 7000) });
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },

  // --- the Nacos gate: label and identity (issue 12) -------------------------------------------------
  {
    name: 'the gate nacos.io/registered: the pod is labelled for the controller; identity from the app label',
    pod: (make) => make(on({ 'readiness-gates': 'nacos.io/registered' }), (pod) => (pod.metadata.labels = { app: 'orders' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
      pod.metadata.labels[`${P}nacos-gate`] = 'true';
      setStatus(pod, { ...all3, readinessGates: ['nacos.io/registered'], labels: [`${P}nacos-gate`] });
    },
  },
  {
    name: 'the gate already in the spec, nacos-service given, no labels at all: metadata.labels is created',
    pod: (make) => make(on({ 'nacos-service': 'orders', 'nacos-group': 'SHOP', 'nacos-namespace': 'prod-1', 'nacos-cluster': 'HZ', 'nacos-port': 'http', readiness: 'false', liveness: 'false', startup: 'false' }), (pod) => {
      delete pod.metadata.labels;
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
    }),
    expect: (pod) => {
      pod.metadata.labels = { [`${P}nacos-gate`]: 'true' };
      setStatus(pod, { containers: {}, labels: [`${P}nacos-gate`] });
    },
  },
  {
    name: 'a configured gate condition type is the one that gets the label',
    pod: (make) => make(on({ 'readiness-gates': 'nacos.io/registered', readiness: 'false', liveness: 'false', startup: 'false' })),
    config: { nacos: { gate: { conditionType: 'example.com/in-registry' } } },
    expect: (pod) => {
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
      setStatus(pod, { containers: {}, readinessGates: ['nacos.io/registered'] });
    },
  },

  // --- drain without Nacos: prestop-sleep-seconds (issue 14) ----------------------------------------
  {
    name: 'prestop-sleep-seconds below 1.30 (or unknown): a shell sleep, counted in the grace period',
    pod: (make) => make(on({ 'prestop-sleep-seconds': '25', readiness: 'false', liveness: 'false', startup: 'false' })),
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 25'] } } };
      pod.spec.terminationGracePeriodSeconds = 35;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 35 });
    },
    warnings: [/raised terminationGracePeriodSeconds from 30 to 35 \(preStop: 25s wait, then 10s shutdown\)/],
  },
  {
    name: 'prestop-sleep-seconds on 1.30: the sleep lifecycle action',
    needs: 'sleep-action',
    config: NEW,
    pod: (make) => make(on({ 'prestop-sleep-seconds': '15' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.containers[0].lifecycle = { preStop: { sleep: { seconds: 15 } } };
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'prestop-sleep-seconds never overrides an existing preStop (a warning says so)',
    pod: (make) => make(on({ 'prestop-sleep-seconds': '15' }), (pod) => (pod.spec.containers[0].lifecycle = { preStop: { exec: { command: ['drain'] } } })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/already has a preStop hook; kept it and ignored probe-injector\.io\/prestop-sleep-seconds/],
  },

  // --- Spring Cloud's serviceregistry actuator endpoint (issue 14) ------------------------------------
  {
    name: 'nacos-deregister-via actuator under spring-boot: POST {"status":"DOWN"} to the actuator on the readiness port',
    pod: (make) => make(on({ profile: 'spring-boot', 'nacos-deregister': 'true', 'nacos-deregister-via': 'actuator', 'readiness-port': 'mgmt' }), (pod) => pod.spec.containers[0].ports.push({ name: 'mgmt', containerPort: 8081 })),
    expect: (pod) => {
      setProbes(pod, {
        startup: http('startup', '/actuator/health/liveness'),
        readiness: http('readiness', '/actuator/health/readiness', 'mgmt'),
        liveness: http('liveness', '/actuator/health/liveness'),
      });
      pod.spec.containers[0].lifecycle = { preStop: actuatorHook(8081) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'config nacos.deregister.via actuator is the default; its path and timings from the annotations',
    pod: (make) => make(on({ 'nacos-deregister': 'true', 'nacos-deregister-path': '/manage/serviceregistry', 'nacos-deregister-sleep-seconds': '20', readiness: 'false', liveness: 'false', startup: 'false' })),
    config: { nacos: { deregister: { via: 'actuator' } } },
    expect: (pod) => {
      pod.spec.containers[0].lifecycle = { preStop: actuatorHook(8080, { path: '/manage/serviceregistry', sleep: 20 }) };
      pod.spec.terminationGracePeriodSeconds = 33;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 33 });
    },
  },

  // --- native sidecars on >= 1.29 (issue 14) ---------------------------------------------------------
  {
    name: 'a native sidecar named in containers gets probes and the hook, at /spec/initContainers/N',
    needs: 'native-sidecars',
    config: NEW,
    pod: (make) => make(on({ containers: 'app, mesh', 'nacos-deregister': 'true' }), (pod) => {
      pod.spec.initContainers = [
        { name: 'setup', image: 'busybox' },
        { name: 'mesh', image: 'envoy', restartPolicy: 'Always', ports: [{ containerPort: 15021 }] },
      ];
    }),
    expect: (pod) => {
      tcp3(pod);
      setProbes(pod, { startup: tcp('startup', 15021), readiness: tcp('readiness', 15021), liveness: tcp('liveness', 15021) }, 1, 'initContainers');
      pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
      pod.spec.initContainers[1].lifecycle = { preStop: execHook(15021) };
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'], mesh: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
];

