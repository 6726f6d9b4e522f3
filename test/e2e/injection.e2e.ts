/**
 * Pods through a real kube-apiserver with the built webhook registered: what the API server STORED
 * is what SPEC promises, and every patch we send passes the apiserver's own validation.
 */
import { describe, expect, it } from '@jest/globals';
import { validatePod } from '../support/kube-validation.js';
import { ALL_PROBES, P, STATUS, exec, execHook, expected, grpc, http, on, podOf, setProbes, setStatus, tcp } from './support/expect.js';
import {
  createAndGetPod,
  createPod,
  env,
  injectedView,
  kube,
  ok,
  podsPath,
  since,
  waitUntil,
  type Json,
} from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

/** A config file as a user would mount it: one custom profile on top of the built-in ones. */
const CONFIG = `
profiles:
  quarkus:
    type: http
    startup: { path: /q/health/started }
    readiness: { path: /q/health/ready }
    liveness: { path: /q/health/live }
`;

const GRPC = since(24, 'gRPC probes', '1.23+');
const PROBE_GRACE = since(25, 'probe-level terminationGracePeriodSeconds', '1.21+, on by default from 1.25');

// failurePolicy Fail: a webhook error shows up as a refused pod, never as a silently unmutated one.
const suite = useRegisteredWebhook('injection', { config: CONFIG, failurePolicy: 'Fail' });

/** Stored pod checks shared by every case: the apiserver's result equals SPEC's, and passes our validation mirror. */
function expectStored(stored: Json, want: Json): void {
  expect(validatePod(stored)).toEqual([]);
  expect(injectedView(stored)).toEqual(injectedView(want, { expected: true }));
}

// ------------------------------------------------------------------------------------------------
describe('the pod of issue 2: spring-boot + nacos-deregister + readiness gate', () => {
  const annotations = on({ profile: 'spring-boot', 'nacos-deregister': 'true', 'readiness-gates': 'nacos.io/registered' });
  const status = '{"containers":{"app":["startupProbe","readinessProbe","livenessProbe","preStop"]},"readinessGates":["nacos.io/registered"],"terminationGracePeriodSeconds":48}';
  const expectIssue2 = (stored: Json, submitted: Json) => {
    const app = stored.spec.containers.find((c: Json) => c.name === 'app');
    // Literal values, as kube-apiserver stores them (defaults applied, initialDelaySeconds 0 omitted).
    expect(app.startupProbe).toEqual({ httpGet: { path: '/actuator/health/liveness', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 60 });
    expect(app.readinessProbe).toEqual({ httpGet: { path: '/actuator/health/readiness', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 });
    expect(app.livenessProbe).toEqual({ httpGet: { path: '/actuator/health/liveness', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 3, successThreshold: 1, failureThreshold: 3 });
    expect(app.lifecycle).toEqual({ preStop: execHook(8080) });
    expect(stored.spec.readinessGates).toEqual([{ conditionType: 'nacos.io/registered' }]);
    expect(stored.spec.terminationGracePeriodSeconds).toBe(48);
    expect(stored.metadata.annotations[STATUS]).toBe(status);
    expect(validatePod(stored)).toEqual([]);
    // And exactly that, nothing else: the same through the generic comparison.
    expectStored(
      stored,
      expected(submitted, (pod) => {
        setProbes(pod, {
          startup: http('startup', '/actuator/health/liveness'),
          readiness: http('readiness', '/actuator/health/readiness'),
          liveness: http('liveness', '/actuator/health/liveness'),
        });
        pod.spec.containers[0].lifecycle = { preStop: execHook(8080) };
        pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
        pod.spec.terminationGracePeriodSeconds = 48;
        pod.metadata.annotations[STATUS] = status;
      }),
    );
  };

  it('a Pod is stored with the three actuator probes, the exec preStop, the gate, grace 48 and the status; the user sees the grace warning', async () => {
    const pod = podOf(annotations, () => {}, 'orders');
    const { stored, warnings } = await createAndGetPod(suite.namespace, pod);
    expectIssue2(stored, pod);
    expect(warnings).toEqual([expect.stringMatching(/^probe-injector: raised terminationGracePeriodSeconds from 30 to 48 \(/)]);
    await suite.hook.admission({ namespace: suite.namespace, pod: 'orders', outcome: 'patched' });
  });

  it('a dry-run create (kubectl --dry-run=server) answers the same pod and stores nothing', async () => {
    const pod = podOf(annotations, () => {}, 'orders-dry-run');
    const res = await createPod(suite.namespace, pod, { dryRun: true });
    expect(res.status).toBe(201);
    expectIssue2(res.body, pod);
    expect((await kube('GET', podsPath(suite.namespace, 'orders-dry-run'))).status).toBe(404);
  });

  (env.controllerManager ? it : it.skip)(
    `Deployment → ReplicaSet controller → Pods: each is stored the same way${env.controllerManager ? '' : ' [skipped: no kube-controller-manager in the binaries (envtest): no ReplicaSet controller]'}`,
    async () => {
      const template = podOf(annotations, (pod) => (pod.metadata.labels = { app: 'orders' }));
      delete template.metadata.generateName;
      delete template.apiVersion;
      delete template.kind;
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'orders' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'orders' } }, template },
      };
      await ok(kube('POST', `/apis/apps/v1/namespaces/${suite.namespace}/deployments`, deployment), 'create deployment');
      const pods: Json[] = await waitUntil(
        'the ReplicaSet controller to create 2 pods',
        async () => {
          const list = await ok(kube('GET', `${podsPath(suite.namespace)}?labelSelector=app%3Dorders`));
          return list.items.length >= 2 ? list.items : undefined;
        },
        60_000,
        200,
      );
      expect(pods).toHaveLength(2);
      for (const stored of pods) {
        expect(stored.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', controller: true })]);
        expect(stored.metadata.generateName).toMatch(/^orders-[a-z0-9]+-$/);
        expectIssue2(stored, { ...template, metadata: { ...template.metadata, annotations } });
      }
      // The webhook saw templated pods: no name yet, only generateName.
      const seen = await waitUntil('2 admission log lines', async () => {
        const lines = suite.hook.admissions().filter((line) => /^orders-[a-z0-9]+-\*$/.test(line.pod ?? ''));
        return lines.length >= 2 ? lines : undefined;
      }, 5_000);
      expect(seen.every((line) => line.outcome === 'patched')).toBe(true);
    },
  );
});

// ------------------------------------------------------------------------------------------------
interface Case {
  readonly name: string;
  readonly pod: Json;
  /** Turns the submitted pod into the one the API server should store; none: stored unchanged. */
  readonly expect?: (pod: Json) => void;
  /** Warnings the user must see (through the apiserver's Warning headers); [] = none at all. */
  readonly warnings?: readonly RegExp[];
  /** A feature the apiserver must have for this case. */
  readonly requires?: ReturnType<typeof since>;
}

const all3 = { containers: { app: ALL_PROBES } };
const tcp3 = (pod: Json, port: number | string = 8080, index = 0) =>
  setProbes(pod, { startup: tcp('startup', port), readiness: tcp('readiness', port), liveness: tcp('liveness', port) }, index);
const off3 = { readiness: 'false', liveness: 'false', startup: 'false' };
const withHook = (pod: Json, hook: object, index = 0) => {
  pod.spec.containers[index].lifecycle = { ...pod.spec.containers[index].lifecycle, preStop: hook };
};

const cases: Case[] = [
  // --- profiles -------------------------------------------------------------------------------
  { name: 'profile default (implicit): tcpSocket on the first TCP port, SPEC timings', pod: podOf(on()), expect: (pod) => (tcp3(pod), setStatus(pod, all3)), warnings: [] },
  { name: 'profile default (explicit)', pod: podOf(on({ profile: 'default' })), expect: (pod) => (tcp3(pod), setStatus(pod, all3)) },
  {
    name: 'profile http: httpGet / on the port',
    pod: podOf(on({ profile: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: http('startup'), readiness: http('readiness'), liveness: http('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'profile spring-boot: actuator readiness and liveness groups',
    pod: podOf(on({ profile: 'spring-boot' })),
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
    pod: podOf(on({ profile: 'grpc' })),
    expect: (pod) => (setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness'), liveness: grpc('liveness') }), setStatus(pod, all3)),
    requires: GRPC,
  },
  {
    name: 'profile from the --config file (quarkus): per-probe paths',
    pod: podOf(on({ profile: 'quarkus' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/q/health/started'), readiness: http('readiness', '/q/health/ready'), liveness: http('liveness', '/q/health/live') }),
      setStatus(pod, all3)
    ),
  },

  // --- types, ports, paths, schemes -----------------------------------------------------------
  { name: 'type tcp', pod: podOf(on({ type: 'tcp' })), expect: (pod) => (tcp3(pod), setStatus(pod, all3)) },
  {
    name: 'type http uses path "/"',
    pod: podOf(on({ type: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: http('startup'), readiness: http('readiness'), liveness: http('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'type exec with a command per probe',
    pod: podOf(on({ type: 'exec', 'startup-command': '["true"]', 'readiness-command': '["cat","/tmp/ready"]', 'liveness-command': '["/bin/ok"]' })),
    expect: (pod) => (
      setProbes(pod, { startup: exec('startup', ['true']), readiness: exec('readiness', ['cat', '/tmp/ready']), liveness: exec('liveness', ['/bin/ok']) }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'type grpc with a port name: resolved to the container port number',
    pod: podOf(on({ type: 'grpc', port: 'http' })),
    expect: (pod) => (setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness'), liveness: grpc('liveness') }), setStatus(pod, all3)),
    requires: GRPC,
  },
  {
    name: 'grpc-service per probe',
    pod: podOf(on({ type: 'grpc', 'readiness-grpc-service': 'ready', 'liveness-grpc-service': 'live' })),
    expect: (pod) => (
      setProbes(pod, { startup: grpc('startup'), readiness: grpc('readiness', 8080, 'ready'), liveness: grpc('liveness', 8080, 'live') }),
      setStatus(pod, all3)
    ),
    requires: GRPC,
  },
  {
    name: 'path without a type means http (with a query)',
    pod: podOf(on({ path: '/health?full=1' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/health?full=1'), readiness: http('readiness', '/health?full=1'), liveness: http('liveness', '/health?full=1') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a command without a type means exec',
    pod: podOf(on({ 'liveness-command': '["sh","-c","test -f /tmp/alive"]' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: exec('liveness', ['sh', '-c', 'test -f /tmp/alive']) }),
      setStatus(pod, all3)
    ),
  },
  { name: 'port as a number', pod: podOf(on({ port: '9090' })), expect: (pod) => (tcp3(pod, 9090), setStatus(pod, all3)) },
  { name: 'port as a declared name stays a name for tcpSocket', pod: podOf(on({ port: 'http' })), expect: (pod) => (tcp3(pod, 'http'), setStatus(pod, all3)) },
  {
    name: 'named port for httpGet (http profile, port name)',
    pod: podOf(on({ profile: 'http', port: 'http' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/', 'http'), readiness: http('readiness', '/', 'http'), liveness: http('liveness', '/', 'http') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'a container with no ports and a numeric port annotation',
    pod: podOf(on({ port: '7000' }), (pod) => delete pod.spec.containers[0].ports),
    expect: (pod) => (tcp3(pod, 7000), setStatus(pod, all3)),
  },
  {
    name: 'first TCP containerPort: a UDP port is skipped',
    pod: podOf(on(), (pod) => (pod.spec.containers[0].ports = [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 9000, protocol: 'TCP' }])),
    expect: (pod) => (tcp3(pod, 9000), setStatus(pod, all3)),
  },
  {
    name: 'scheme HTTPS',
    pod: podOf(on({ type: 'http', scheme: 'HTTPS', port: '8443' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/', 8443, 'HTTPS'), readiness: http('readiness', '/', 8443, 'HTTPS'), liveness: http('liveness', '/', 8443, 'HTTPS') }),
      setStatus(pod, all3)
    ),
  },

  // --- per-probe keys -------------------------------------------------------------------------
  {
    name: 'readiness "false" and liveness "false": only the startup probe',
    pod: podOf(on({ readiness: 'false', liveness: 'false', startup: 'true' })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup') }), setStatus(pod, { containers: { app: ['startupProbe'] } })),
  },
  {
    name: 'every readiness key at once (successThreshold 2 is allowed on readiness)',
    pod: podOf(
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
    name: 'liveness and startup timings, up to int32 max',
    pod: podOf(
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
    pod: podOf(on({ path: '/h', 'liveness-type': 'tcp', 'startup-path': '/started' })),
    expect: (pod) => (setProbes(pod, { startup: http('startup', '/started'), readiness: http('readiness', '/h'), liveness: tcp('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'a per-probe path beats a shared type',
    pod: podOf(on({ type: 'tcp', 'readiness-path': '/ready' })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), readiness: http('readiness', '/ready'), liveness: tcp('liveness') }), setStatus(pod, all3)),
  },
  {
    name: 'per-probe port (named) and scheme on the spring-boot profile',
    pod: podOf(on({ profile: 'spring-boot', port: '8081', 'liveness-port': 'http', 'startup-scheme': 'HTTPS' })),
    expect: (pod) => (
      setProbes(pod, {
        startup: http('startup', '/actuator/health/liveness', 8081, 'HTTPS'),
        readiness: http('readiness', '/actuator/health/readiness', 8081),
        liveness: http('liveness', '/actuator/health/liveness', 'http'),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: 'per-probe types mixed: exec startup, http readiness, tcp liveness',
    pod: podOf(on({ 'startup-type': 'exec', 'startup-command': '["/bin/started"]', 'readiness-type': 'http', 'liveness-type': 'tcp', 'liveness-port': 'http' })),
    expect: (pod) => (
      setProbes(pod, { startup: exec('startup', ['/bin/started']), readiness: http('readiness'), liveness: tcp('liveness', 'http') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: '{probe}-probe verbatim: httpGet with headers on a named port (missing timings get the Kubernetes defaults)',
    pod: podOf(on({ 'readiness-probe': '{"httpGet":{"path":"/r","port":"http","httpHeaders":[{"name":"X-Probe","value":"1"}]},"periodSeconds":3}' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: { httpGet: { path: '/r', port: 'http', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, periodSeconds: 3 }, liveness: tcp('liveness') }),
      setStatus(pod, all3)
    ),
  },
  {
    name: '{probe}-probe verbatim: exec startup with every timing',
    pod: podOf(on({ 'startup-probe': '{"exec":{"command":["cat","/tmp/started"]},"initialDelaySeconds":2,"periodSeconds":4,"timeoutSeconds":3,"successThreshold":1,"failureThreshold":90}' })),
    expect: (pod) => (
      setProbes(pod, {
        startup: { exec: { command: ['cat', '/tmp/started'] }, initialDelaySeconds: 2, periodSeconds: 4, timeoutSeconds: 3, successThreshold: 1, failureThreshold: 90 },
        readiness: tcp('readiness'),
        liveness: tcp('liveness'),
      }),
      setStatus(pod, all3)
    ),
  },
  {
    name: '{probe}-probe verbatim: tcpSocket liveness with a terminationGracePeriodSeconds',
    pod: podOf(on({ 'liveness-probe': '{"tcpSocket":{"port":8080},"terminationGracePeriodSeconds":5}' })),
    expect: (pod) => (
      setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: { tcpSocket: { port: 8080 }, terminationGracePeriodSeconds: 5 } }),
      setStatus(pod, all3)
    ),
    requires: PROBE_GRACE,
  },
  {
    name: '{probe}-probe verbatim: gRPC with a port name, resolved to the number',
    pod: podOf(on({ 'liveness-probe': '{"grpc":{"port":"http"}}' })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), readiness: tcp('readiness'), liveness: { grpc: { port: 8080 } } }), setStatus(pod, all3)),
    requires: GRPC,
  },

  // --- never override -------------------------------------------------------------------------
  {
    name: 'an existing probe is kept silently when nothing asked for it',
    pod: podOf(on(), (pod) => (pod.spec.containers[0].readinessProbe = { exec: { command: ['ready'] }, periodSeconds: 10 })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') }), setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] } })),
    warnings: [],
  },
  {
    name: 'an existing probe that a {probe}-* key asked for is kept, and the user is warned',
    pod: podOf(on({ 'readiness-path': '/ready' }), (pod) => (pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 8080 } })),
    expect: (pod) => (setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') }), setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] } })),
    warnings: [/container "app" already has a readinessProbe; kept it and ignored probe-injector\.io\/readiness-path/],
  },
  {
    name: 'a container with all three probes: nothing added, no status annotation',
    pod: podOf(on(), (pod) => setProbes(pod, { startup: tcp('startup'), readiness: http('readiness'), liveness: exec('liveness', ['ok']) })),
  },

  // --- readiness gates ------------------------------------------------------------------------
  {
    name: 'readiness-gates creates spec.readinessGates (trimmed, each once)',
    pod: podOf(on({ 'readiness-gates': 'nacos.io/registered, example.com/warm ,nacos.io/registered' })),
    expect: (pod) => {
      tcp3(pod);
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }, { conditionType: 'example.com/warm' }];
      setStatus(pod, { ...all3, readinessGates: ['nacos.io/registered', 'example.com/warm'] });
    },
  },
  {
    name: 'readiness-gates appended to existing gates, as a set',
    pod: podOf(on({ 'readiness-gates': 'a.io/one,b', ...off3 }), (pod) => (pod.spec.readinessGates = [{ conditionType: 'a.io/one' }])),
    expect: (pod) => {
      pod.spec.readinessGates.push({ conditionType: 'b' });
      setStatus(pod, { containers: {}, readinessGates: ['b'] });
    },
  },
  {
    name: 'readiness-gates with an existing readiness probe: gate added, no warning',
    pod: podOf(on({ 'readiness-gates': 'nacos.io/registered', readiness: 'true' }), (pod) => (pod.spec.containers[0].readinessProbe = { tcpSocket: { port: 8080 } })),
    expect: (pod) => {
      setProbes(pod, { startup: tcp('startup'), liveness: tcp('liveness') });
      pod.spec.readinessGates = [{ conditionType: 'nacos.io/registered' }];
      setStatus(pod, { containers: { app: ['startupProbe', 'livenessProbe'] }, readinessGates: ['nacos.io/registered'] });
    },
    warnings: [],
  },

  // --- preStop and the grace period -----------------------------------------------------------
  {
    name: 'nacos-deregister (exec mode, GET): hook on the readiness port, grace raised 30 → 48',
    pod: podOf(on({ 'nacos-deregister': 'true' })),
    expect: (pod) => {
      tcp3(pod);
      withHook(pod, execHook(8080));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
    warnings: [/raised terminationGracePeriodSeconds from 30 to 48/],
  },
  {
    name: 'nacos-deregister exec mode with every key: POST, path with a query, timeout 60, sleep 600 → grace 670',
    pod: podOf(
      on({
        ...off3,
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
      withHook(pod, execHook(9000, { path: '/nacos/off?service=a-b_c.d~e%20&x=1', method: 'POST', timeout: 60, sleep: 600 }));
      pod.spec.terminationGracePeriodSeconds = 670;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 670 });
    },
    warnings: [/from 30 to 670/],
  },
  {
    name: 'nacos-deregister-method PUT, sleep 0: grace 30 is enough',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true', 'nacos-deregister-method': 'PUT', 'nacos-deregister-sleep-seconds': '0' })),
    expect: (pod) => {
      withHook(pod, execHook(8080, { method: 'PUT', sleep: 0 }));
      setStatus(pod, { containers: { app: ['preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'nacos-deregister-method DELETE with the port by name (resolved to the number)',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true', 'nacos-deregister-port': 'http', 'nacos-deregister-method': 'DELETE' })),
    expect: (pod) => {
      withHook(pod, execHook(8080, { method: 'DELETE' }));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'deregister port defaults to the readiness probe port (HTTP, by name → number)',
    pod: podOf(on({ 'nacos-deregister': 'true', 'readiness-port': 'mgmt', 'readiness-path': '/r' }), (pod) => pod.spec.containers[0].ports.push({ name: 'mgmt', containerPort: 8081, protocol: 'TCP' })),
    expect: (pod) => {
      setProbes(pod, { startup: tcp('startup'), readiness: http('readiness', '/r', 'mgmt'), liveness: tcp('liveness') });
      withHook(pod, execHook(8081));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'deregister port skips an existing HTTPS readiness probe: first TCP port',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true' }), (pod) => (pod.spec.containers[0].readinessProbe = { httpGet: { path: '/', port: 8443, scheme: 'HTTPS' } })),
    expect: (pod) => {
      withHook(pod, execHook(8080));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'deregister port from an existing gRPC readiness probe on a container with no ports',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true' }), (pod) => {
      delete pod.spec.containers[0].ports;
      pod.spec.containers[0].readinessProbe = { grpc: { port: 9555 } };
    }),
    expect: (pod) => {
      withHook(pod, execHook(9555));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
    requires: GRPC,
  },
  {
    name: 'nacos-deregister http mode: an httpGet hook; grace needs only timeout + shutdown, so 30 stays',
    pod: podOf(on({ 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http', 'nacos-deregister-method': 'GET', 'nacos-deregister-path': '/off' })),
    expect: (pod) => {
      tcp3(pod);
      withHook(pod, { httpGet: { path: '/off', port: 8080, scheme: 'HTTP' } });
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'nacos-deregister http mode with a named port and a long timeout: grace raised',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http', 'nacos-deregister-port': 'http', 'nacos-deregister-timeout-seconds': '60' })),
    expect: (pod) => {
      withHook(pod, { httpGet: { path: '/api/nacos/deregister', port: 8080, scheme: 'HTTP' } });
      pod.spec.terminationGracePeriodSeconds = 70;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 70 });
    },
    warnings: [/from 30 to 70/],
  },
  {
    name: 'a grace period already long enough is left alone',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true' }), (pod) => (pod.spec.terminationGracePeriodSeconds = 120)),
    expect: (pod) => {
      withHook(pod, execHook(8080));
      setStatus(pod, { containers: { app: ['preStop'] } });
    },
    warnings: [],
  },
  {
    name: 'an existing postStart: preStop added next to it',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true' }), (pod) => (pod.spec.containers[0].lifecycle = { postStart: { exec: { command: ['warm'] } } })),
    expect: (pod) => {
      withHook(pod, execHook(8080));
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'an existing preStop is kept, with a warning, and the grace period is not raised',
    pod: podOf(on({ 'nacos-deregister': 'true' }), (pod) => (pod.spec.containers[0].lifecycle = { preStop: { exec: { command: ['sleep', '5'] } } })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/already has a preStop hook; kept it and ignored probe-injector\.io\/nacos-deregister/],
  },

  // --- targets --------------------------------------------------------------------------------
  {
    name: 'containers: two named containers, each with its own port; the init container is never a target',
    pod: podOf(on({ containers: 'app, side', 'nacos-deregister': 'true' }), (pod) => {
      pod.spec.containers.push({ name: 'side', image: 'registry.example/side:1', ports: [{ containerPort: 9100, protocol: 'TCP' }] });
      pod.spec.initContainers = [{ name: 'init', image: 'registry.example/init:1', ports: [{ containerPort: 9200, protocol: 'TCP' }] }];
    }),
    expect: (pod) => {
      tcp3(pod);
      tcp3(pod, 9100, 1);
      withHook(pod, execHook(8080));
      withHook(pod, execHook(9100), 1);
      pod.spec.terminationGracePeriodSeconds = 48;
      setStatus(pod, { containers: { app: [...ALL_PROBES, 'preStop'], side: [...ALL_PROBES, 'preStop'] }, terminationGracePeriodSeconds: 48 });
    },
  },
  {
    name: 'containers: only the second of two',
    pod: podOf(on({ containers: 'side', profile: 'http' }), (pod) => pod.spec.containers.push({ name: 'side', image: 'registry.example/side:1', ports: [{ name: 'web', containerPort: 3000, protocol: 'TCP' }] })),
    expect: (pod) => {
      setProbes(pod, { startup: http('startup', '/', 3000), readiness: http('readiness', '/', 3000), liveness: http('liveness', '/', 3000) }, 1);
      setStatus(pod, { containers: { side: ALL_PROBES } });
    },
  },
  {
    name: 'kubectl.kubernetes.io/default-container picks the target',
    pod: podOf(on({ 'kubectl.kubernetes.io/default-container': 'web' }), (pod) => {
      pod.spec.containers.unshift({ name: 'istio-proxy', image: 'registry.example/proxy:1', ports: [{ containerPort: 15090, protocol: 'TCP' }] });
      pod.spec.containers.push({ name: 'web', image: 'registry.example/web:1', ports: [{ containerPort: 3000, protocol: 'TCP' }] });
    }),
    expect: (pod) => (tcp3(pod, 3000, 2), setStatus(pod, { containers: { web: ALL_PROBES } })),
  },
  {
    name: 'default-container naming no container: the first container, with a warning',
    pod: podOf(on({ 'kubectl.kubernetes.io/default-container': 'gone' })),
    expect: (pod) => (tcp3(pod), setStatus(pod, all3)),
    warnings: [/default-container "gone" names no container; injecting into "app"/],
  },
  {
    name: 'everything at once on two containers: spring-boot, gates, http-mode hook, overrides, an existing probe',
    pod: podOf(
      on({
        containers: 'app,worker',
        profile: 'spring-boot',
        'readiness-gates': 'nacos.io/registered,example.com/warm',
        'nacos-deregister': 'true',
        'nacos-deregister-mode': 'http',
        'liveness-period-seconds': '20',
        'startup-failure-threshold': '30',
      }),
      (pod) => {
        pod.spec.containers.push({ name: 'worker', image: 'registry.example/worker:1', ports: [{ name: 'mgmt', containerPort: 9090, protocol: 'TCP' }] });
        pod.spec.containers[1].livenessProbe = { exec: { command: ['alive'] } };
        pod.spec.readinessGates = [{ conditionType: 'example.com/warm' }];
      },
    ),
    expect: (pod) => {
      setProbes(pod, {
        startup: http('startup', '/actuator/health/liveness', 8080, 'HTTP', { failureThreshold: 30 }),
        readiness: http('readiness', '/actuator/health/readiness'),
        liveness: http('liveness', '/actuator/health/liveness', 8080, 'HTTP', { periodSeconds: 20 }),
      });
      setProbes(pod, { startup: http('startup', '/actuator/health/liveness', 9090, 'HTTP', { failureThreshold: 30 }), readiness: http('readiness', '/actuator/health/readiness', 9090) }, 1);
      withHook(pod, { httpGet: { path: '/api/nacos/deregister', port: 8080, scheme: 'HTTP' } });
      withHook(pod, { httpGet: { path: '/api/nacos/deregister', port: 9090, scheme: 'HTTP' } }, 1);
      pod.spec.readinessGates.push({ conditionType: 'nacos.io/registered' });
      setStatus(pod, {
        containers: { app: [...ALL_PROBES, 'preStop'], worker: ['startupProbe', 'readinessProbe', 'preStop'] },
        readinessGates: ['nacos.io/registered'],
      });
    },
  },
  // --- not opted in ---------------------------------------------------------------------------
  { name: 'no annotations: stored untouched', pod: podOf({}), warnings: [] },
  { name: 'inject "false": stored untouched (other keys not even validated)', pod: podOf({ [`${P}inject`]: 'false', [`${P}readiness-path`]: 'not-a-path' }), warnings: [] },
];

describe('a wide matrix of valid annotations: every patch is admitted by kube-apiserver and stored as SPEC says', () => {
  const runnable = cases.filter((c) => c.requires?.supported !== false);
  it.each(runnable.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { stored, warnings } = await createAndGetPod(suite.namespace, c.pod);
    expectStored(stored, expected(c.pod, c.expect ?? (() => {})));
    if (c.warnings) {
      if (c.warnings.length === 0) expect(warnings).toEqual([]);
      for (const warning of c.warnings) expect(warnings).toContainEqual(expect.stringMatching(warning));
    }
  });
  for (const c of cases.filter((c) => c.requires?.supported === false)) it.skip(c.requires!.name(c.name), () => {});
});
