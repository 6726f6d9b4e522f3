/**
 * Pods through a real kube-apiserver with the built webhook registered: what the API server STORED
 * is what SPEC promises, and every patch we send passes the apiserver's own validation.
 */
import { describe, expect, it } from '@jest/globals';
import { validatePod } from '../support/kube-validation.js';
import { ALL_PROBES, STATUS, exec, execHook, expected, http, on, podOf, setProbes, setStatus, tcp } from './support/expect.js';
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
import { INJECTION_CASES } from '../support/injection-cases.js';
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
  const status =
    '{"containers":{"app":["startupProbe","readinessProbe","livenessProbe","preStop"]},"readinessGates":["nacos.io/registered"],"labels":["probe-injector.io/nacos-gate"],"terminationGracePeriodSeconds":48}';
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
    expect(stored.metadata.labels).toMatchObject({ app: 'orders', 'probe-injector.io/nacos-gate': 'true' });
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
        pod.metadata.labels = { ...pod.metadata.labels, 'probe-injector.io/nacos-gate': 'true' };
      }),
    );
  };

  it('a Pod is stored with the three actuator probes, the exec preStop, the gate, grace 48 and the status; the user sees the grace warning', async () => {
    const pod = podOf(annotations, (p) => (p.metadata.labels = { app: 'orders' }), 'orders');
    const { stored, warnings } = await createAndGetPod(suite.namespace, pod);
    expectIssue2(stored, pod);
    expect(warnings).toEqual([expect.stringMatching(/^probe-injector: raised terminationGracePeriodSeconds from 30 to 48 \(/)]);
    await suite.hook.admission({ namespace: suite.namespace, pod: 'orders', outcome: 'patched' });
  });

  it('a dry-run create (kubectl --dry-run=server) answers the same pod and stores nothing', async () => {
    const pod = podOf(annotations, (p) => (p.metadata.labels = { app: 'orders' }), 'orders-dry-run');
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
          const list = await ok(kube('GET', `${podsPath(suite.namespace)}?labelSelector=app%3Dorders%2Cpod-template-hash`));
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
const off3 = { readiness: 'false', liveness: 'false', startup: 'false' };
const withHook = (pod: Json, hook: object, index = 0) => {
  pod.spec.containers[index].lifecycle = { ...pod.spec.containers[index].lifecycle, preStop: hook };
};

/** The cases only this suite has: what needs the --config file, and combinations worth a real apiserver. */
const ownCases: Case[] = [
  // --- profiles -------------------------------------------------------------------------------
  {
    name: 'profile from the --config file (quarkus): per-probe paths',
    pod: podOf(on({ profile: 'quarkus' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/q/health/started'), readiness: http('readiness', '/q/health/ready'), liveness: http('liveness', '/q/health/live') }),
      setStatus(pod, all3)
    ),
  },

  // --- types, ports, paths, schemes -----------------------------------------------------------
  {
    name: 'named port for httpGet (http profile, port name)',
    pod: podOf(on({ profile: 'http', port: 'http' })),
    expect: (pod) => (
      setProbes(pod, { startup: http('startup', '/', 'http'), readiness: http('readiness', '/', 'http'), liveness: http('liveness', '/', 'http') }),
      setStatus(pod, all3)
    ),
  },

  // --- per-probe keys -------------------------------------------------------------------------
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

  // --- preStop and the grace period -----------------------------------------------------------
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
    name: 'nacos-deregister http mode with a named port and a long timeout: grace raised',
    pod: podOf(on({ ...off3, 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http', 'nacos-deregister-port': 'http', 'nacos-deregister-timeout-seconds': '60' })),
    expect: (pod) => {
      withHook(pod, { httpGet: { path: '/api/nacos/deregister', port: 8080, scheme: 'HTTP' } });
      pod.spec.terminationGracePeriodSeconds = 70;
      setStatus(pod, { containers: { app: ['preStop'] }, terminationGracePeriodSeconds: 70 });
    },
    warnings: [/from 30 to 70/],
  },

  // --- targets --------------------------------------------------------------------------------
  {
    name: 'containers: only the second of two',
    pod: podOf(on({ containers: 'side', profile: 'http' }), (pod) => pod.spec.containers.push({ name: 'side', image: 'registry.example/side:1', ports: [{ name: 'web', containerPort: 3000, protocol: 'TCP' }] })),
    expect: (pod) => {
      setProbes(pod, { startup: http('startup', '/', 3000), readiness: http('readiness', '/', 3000), liveness: http('liveness', '/', 3000) }, 1);
      setStatus(pod, { containers: { side: ALL_PROBES } });
    },
  },
  {
    name: 'everything at once on two containers: spring-boot, gates, http-mode hook, overrides, an existing probe',
    pod: podOf(
      on({
        containers: 'app,worker',
        profile: 'spring-boot',
        'readiness-gates': 'nacos.io/registered,example.com/warm',
        'nacos-service': 'orders',
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
      pod.metadata.labels = { 'probe-injector.io/nacos-gate': 'true' };
      setStatus(pod, {
        containers: { app: [...ALL_PROBES, 'preStop'], worker: ['startupProbe', 'readinessProbe', 'preStop'] },
        readinessGates: ['nacos.io/registered'],
        labels: ['probe-injector.io/nacos-gate'],
      });
    },
  },
];

/** test/injection.test.ts's table (its cases that need no config of their own), from user-written pods. */
const sharedCases: Case[] = INJECTION_CASES.filter((c) => c.config === undefined).map((c) => ({
  name: c.name,
  pod: c.pod((annotations = {}, change = () => {}) => podOf(annotations, change)),
  expect: c.expect,
  warnings: c.warnings,
  requires: c.needs === 'grpc-probes' ? GRPC : undefined,
}));
const cases = [...sharedCases, ...ownCases];

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
