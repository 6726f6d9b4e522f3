/**
 * The Nacos gate controller end to end (SPEC §8): gated pods created through the real webhook,
 * the real `dist/cli.js controller` process(es) against the real kube-apiserver, and the Nacos
 * test server (test/support/nacos-server.ts) as the registry. There is no kubelet on this
 * cluster: the test plays it, writing `status.podIPs` and the `ContainersReady` condition through
 * `pods/status` with a strategic merge patch, as the kubelet does. What is asserted is what the API
 * server stored: the condition, its reason and message, the kubelet's conditions left alone, and
 * the Events; plus the controller's /metrics, /readyz and log lines, and the Lease.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../support/process.js';
import { startNacosServer, type NacosTestServer } from '../support/nacos-server.js';
import { runCli, type Running } from '../support/process.js';
import { createNamespace, env, kube, ok, podsPath, waitUntil, type Json } from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';
import { runDirPath } from './support/webhook-process.js';

const GATE = 'nacos.io/registered';
const suite = useRegisteredWebhook('controller', { failurePolicy: 'Fail' });
/** Labelled gated pods the webhook never sees (it is registered for the suite's namespace only). */
const OTHER_NAMESPACE = 'e2e-controller-raw';

let nacos: NacosTestServer;

// ------------------------------------------------------------------------------ the controller process
interface ControllerProcess {
  readonly identity: string;
  readonly running: Running;
  readonly port: number;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  gateChanges(): Json[];
}

function controllerConfig(pollSeconds = 1): string {
  return [
    'nacos:',
    '  server:',
    `    addresses: ["${nacos.url}"]`,
    '    timeoutSeconds: 1',
    '  gate:',
    `    pollSeconds: ${pollSeconds}`,
    '    warnAfterSeconds: 0',
    '',
  ].join('\n');
}

async function startControllerProcess(identity: string, kubeconfig = env.kubeconfig): Promise<ControllerProcess> {
  const configFile = runDirPath('controllers', identity, 'config.yaml');
  writeFileSync(configFile, controllerConfig());
  const running = runCli(['controller', '--kubeconfig', kubeconfig, '--config', configFile, '--port', '0', '--host', '127.0.0.1', '--identity', identity, '--lease-namespace', suite.namespace]);
  // run.sh stops what the suite leaves behind (every process of the run names the run dir).
  if (running.child.pid) appendFileSync(path.join(env.runDir, 'webhook.pids'), `${running.child.pid}\n`);
  let started: Json;
  try {
    started = await running.waitFor((line) => line.msg === 'probe-injector controller started', 20_000);
  } catch (error) {
    running.child.kill('SIGKILL');
    throw error;
  }
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  return {
    identity,
    running,
    port: started.port,
    gateChanges: () => running.lines.filter((line) => line.msg === 'gate changed'),
    stop: (signal = 'SIGTERM') =>
      (exited ??= (async () => {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
        const result = await running.exited;
        writeFileSync(runDirPath('controllers', identity, 'controller.log'), running.lines.map((line) => JSON.stringify(line)).join('\n') + '\n' + running.stderr.join(''));
        return result;
      })()),
  };
}

function get(port: number, pathName: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathName }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

/** The value of a sample in the Prometheus text, e.g. `probe_injector_nacos_requests_total{outcome="error"}`. */
async function metric(port: number, sample: string): Promise<number> {
  const { text } = await get(port, '/metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1));
}

// ------------------------------------------------------------------------------ pods and the kubelet
let seq = 0;
/** A pod that opts in and asks for the gate; the webhook adds the gate and the label. */
function appPod(service: string, annotations: Record<string, string> = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${service}-${++seq}`,
      labels: { app: service },
      annotations: { 'probe-injector.io/inject': 'true', 'probe-injector.io/readiness-gates': GATE, ...annotations },
    },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
  };
}

async function createGated(pod: Json, namespace = suite.namespace): Promise<Json> {
  const created = await kube('POST', podsPath(namespace), pod);
  if (created.status !== 201) throw new Error(`pod not created: HTTP ${created.status}: ${created.body?.message}`);
  return created.body;
}

/** What the kubelet writes once the pod runs and its containers pass their readiness probes. */
async function becomeReady(namespace: string, name: string, ip: string, readySince = new Date()): Promise<void> {
  const time = new Date(Math.floor(readySince.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  await ok(
    kube(
      'PATCH',
      `${podsPath(namespace, name)}/status`,
      {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          conditions: [
            { type: 'Initialized', status: 'True', lastTransitionTime: time },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: time },
            { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: `corresponding condition of pod readiness gate "${GATE}" does not exist.`, lastTransitionTime: time },
          ],
        },
      },
      'application/strategic-merge-patch+json',
    ),
    `kubelet status of ${name}`,
  );
}

async function readPod(namespace: string, name: string): Promise<Json> {
  return ok(kube('GET', podsPath(namespace, name)), `get pod ${name}`);
}

function gateOf(pod: Json): Json | undefined {
  return (pod.status?.conditions ?? []).find((c: Json) => c.type === GATE);
}

async function waitForGate(namespace: string, name: string, match: (gate: Json) => boolean, timeoutMs = 15_000): Promise<Json> {
  return waitUntil(
    `the gate of ${name} to match`,
    async () => {
      const gate = gateOf(await readPod(namespace, name));
      return gate && match(gate) ? gate : undefined;
    },
    timeoutMs,
  );
}

async function eventsOf(namespace: string, name: string): Promise<Json[]> {
  const list = await ok(kube('GET', `/api/v1/namespaces/${namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name}`)}`), 'list events');
  return list.items;
}

async function waitForEvent(namespace: string, name: string, reason: string, timeoutMs = 15_000): Promise<Json> {
  return waitUntil(`a ${reason} Event for ${name}`, async () => (await eventsOf(namespace, name)).find((e) => e.reason === reason), timeoutMs);
}

const lease = async () => ok(kube('GET', `/apis/coordination.k8s.io/v1/namespaces/${suite.namespace}/leases/probe-injector-controller`), 'get the Lease');
let ipSeq = 0;
const nextIp = () => `10.244.${++ipSeq >> 8}.${ipSeq & 255}`;
const listRequests = (service: string) => nacos.count('/v1/ns/instance/list', { service });

// ------------------------------------------------------------------------------ the suite
let a: ControllerProcess;

beforeAll(async () => {
  nacos = await startNacosServer();
  await createNamespace(OTHER_NAMESPACE, { 'probe-injector-e2e': 'controller-raw' });
  a = await startControllerProcess('controller-a');
  await waitUntil('controller-a to lead', async () => (await lease()).spec?.holderIdentity === 'controller-a', 20_000);
  await waitUntil('controller-a ready', async () => (await get(a.port, '/readyz')).status === 200, 20_000);
});

afterAll(async () => {
  await a?.stop();
  await nacos?.stop();
});

describe('the webhook and the controller together', () => {
  it('a gated pod whose instance is in Nacos: True, reason NacosRegistered, SPEC\'s message, a Normal Event; the kubelet\'s conditions kept', async () => {
    const created = await createGated(appPod('orders'));
    expect(created.metadata.labels['probe-injector.io/nacos-gate']).toBe('true');
    expect(created.spec.readinessGates).toEqual([{ conditionType: GATE }]);
    const ip = nextIp();
    nacos.register({ service: 'orders', ip, port: 8080, ephemeral: false });
    const before = listRequests('orders');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Not ready yet: Nacos is not asked about it.
    expect(listRequests('orders')).toBe(before);
    await becomeReady(suite.namespace, created.metadata.name, ip);
    const gate = await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'True');
    expect(gate).toEqual({ type: GATE, status: 'True', reason: 'NacosRegistered', message: `orders@DEFAULT_GROUP ${ip}:8080 is healthy and enabled in Nacos`, lastProbeTime: null, lastTransitionTime: expect.any(String) });
    const stored = await readPod(suite.namespace, created.metadata.name);
    expect(stored.status.conditions.map((c: Json) => `${c.type}=${c.status}`).sort()).toEqual(['ContainersReady=True', 'Initialized=True', `${GATE}=True`, 'Ready=False'].sort());
    const event = await waitForEvent(suite.namespace, created.metadata.name, 'NacosRegistered');
    expect(event).toEqual(
      expect.objectContaining({
        type: 'Normal',
        message: expect.stringMatching(new RegExp(`^orders@DEFAULT_GROUP ${ip.replace(/\./g, '\\.')}:8080 is healthy and enabled in Nacos \\(after [0-9.]+ s\\)$`)),
        involvedObject: expect.objectContaining({ kind: 'Pod', name: created.metadata.name, namespace: suite.namespace, uid: created.metadata.uid }),
        source: { component: 'probe-injector-controller' },
        reportingComponent: 'probe-injector-controller',
        reportingInstance: 'controller-a',
      }),
    );
    // One JSON log line per gate change (pino writes them in batches: wait for it).
    const line = await a.running.waitFor((l) => l.msg === 'gate changed' && l.pod === `${suite.namespace}/${created.metadata.name}`, 5000);
    expect(line).toEqual(expect.objectContaining({ level: 30, uid: created.metadata.uid, condition: GATE, status: 'True', reason: 'NacosRegistered', nacos: 'orders@DEFAULT_GROUP', port: 8080 }));
    expect(a.gateChanges().filter((l) => l.pod === line.pod)).toHaveLength(1);
    expect(await metric(a.port, 'probe_injector_gate_wait_seconds_count{reason="NacosRegistered"}')).toBeGreaterThanOrEqual(1);
    // Registered, nothing waits: Nacos is not asked about the service any more.
    const after = listRequests('orders');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(listRequests('orders')).toBe(after);
  });

  it.each([
    { name: 'missing', reason: 'InstanceNotFound', setUp: () => {}, message: (ip: string) => `stock@DEFAULT_GROUP ${ip}:8080 is not listed in Nacos` },
    {
      name: 'unhealthy',
      reason: 'InstanceUnhealthy',
      setUp: (ip: string) => nacos.register({ service: 'stock', ip, port: 8080, ephemeral: false, healthy: false }),
      message: (ip: string) => `stock@DEFAULT_GROUP ${ip}:8080 is in Nacos but not healthy`,
    },
    {
      name: 'with weight 0',
      reason: 'InstanceDisabled',
      setUp: (ip: string) => nacos.register({ service: 'stock', ip, port: 8080, ephemeral: false, weight: 0 }),
      message: (ip: string) => `stock@DEFAULT_GROUP ${ip}:8080 is in Nacos but disabled (enabled: true, weight: 0)`,
    },
    // Nacos leaves disabled instances out of its lists: to the controller they are missing.
    {
      name: 'disabled',
      reason: 'InstanceNotFound',
      setUp: (ip: string) => nacos.register({ service: 'stock', ip, port: 8080, ephemeral: false, enabled: false }),
      message: (ip: string) => `stock@DEFAULT_GROUP ${ip}:8080 is not listed in Nacos`,
    },
    {
      name: 'on another port',
      reason: 'InstanceNotFound',
      setUp: (ip: string) => nacos.register({ service: 'stock', ip, port: 9090, ephemeral: false }),
      message: (ip: string) => `stock@DEFAULT_GROUP ${ip}:8080 is not listed in Nacos; on the pod's IP it lists ${ip}:9090`,
    },
  ])('an instance $name: the pod stays waiting with $reason, then is set True once registered', async ({ setUp, reason, message }) => {
    const created = await createGated(appPod('stock'));
    const ip = nextIp();
    setUp(ip);
    await becomeReady(suite.namespace, created.metadata.name, ip);
    const gate = await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'False');
    expect(gate).toEqual(expect.objectContaining({ status: 'False', reason, message: message(ip) }));
    // Still waiting a few polls later, the condition written once.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(gateOf(await readPod(suite.namespace, created.metadata.name))).toEqual(gate);
    expect(a.gateChanges().filter((line) => line.pod === `${suite.namespace}/${created.metadata.name}`)).toHaveLength(1); // written 2.5 s ago: flushed
    nacos.register({ service: 'stock', ip, port: 8080, ephemeral: false });
    await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'True' && g.reason === 'NacosRegistered');
  });

  it('Nacos answering 503 keeps pods waiting with NacosUnavailable, counts the errors, warns; then sets the gate when Nacos is back', async () => {
    const created = await createGated(appPod('cart'));
    const ip = nextIp();
    nacos.register({ service: 'cart', ip, port: 8080, ephemeral: false });
    const errorsBefore = await metric(a.port, 'probe_injector_nacos_requests_total{outcome="error"}');
    nacos.fail({ mode: { kind: 'status', status: 503 }, route: '/v1/ns/instance/list' });
    try {
      await becomeReady(suite.namespace, created.metadata.name, ip);
      const gate = await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'False');
      expect(gate.reason).toBe('NacosUnavailable');
      expect(gate.message).toMatch(/^cannot ask Nacos about cart@DEFAULT_GROUP [0-9.]+:8080: no Nacos server answered the instance list of DEFAULT_GROUP@@cart .*HTTP 503/);
      const warning = await waitForEvent(suite.namespace, created.metadata.name, 'NacosUnavailable');
      expect(warning.type).toBe('Warning');
      await waitUntil('errors counted', async () => (await metric(a.port, 'probe_injector_nacos_requests_total{outcome="error"}')) >= errorsBefore + 2);
      expect(await metric(a.port, 'probe_injector_gate_pending_pods')).toBeGreaterThanOrEqual(1);
    } finally {
      nacos.clearFailures();
    }
    await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'True');
  });

  it('a labelled pod whose Nacos identity does not resolve gets a Warning and is left alone', async () => {
    // The webhook refuses such a pod; one created without it (another namespace) is what the controller may still meet.
    const name = 'nameless-1';
    await createGated(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { 'probe-injector.io/nacos-gate': 'true' } },
        spec: { readinessGates: [{ conditionType: GATE }], containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
      },
      OTHER_NAMESPACE,
    );
    await becomeReady(OTHER_NAMESPACE, name, nextIp());
    const warning = await waitForEvent(OTHER_NAMESPACE, name, 'NacosIdentityUnresolved');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/^cannot tell which Nacos instance this pod is, so its gate is left alone: nacos-service: /);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(gateOf(await readPod(OTHER_NAMESPACE, name))).toBeUndefined();
  });

  it('many pods of one service: one instance-list call per pollSeconds', async () => {
    const pods: { name: string; ip: string }[] = [];
    for (let i = 0; i < 20; i++) pods.push({ name: (await createGated(appPod('search'))).metadata.name, ip: nextIp() });
    const start = listRequests('search');
    const startedAt = Date.now();
    await Promise.all(pods.map((pod) => becomeReady(suite.namespace, pod.name, pod.ip)));
    await Promise.all(pods.map((pod) => waitForGate(suite.namespace, pod.name, (g) => g.reason === 'InstanceNotFound')));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const seconds = (Date.now() - startedAt) / 1000;
    const calls = listRequests('search') - start;
    // pollSeconds 1: at most one call per second (plus the first one), whatever the number of pods.
    expect(calls).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(calls).toBeGreaterThanOrEqual(2);
    for (const pod of pods) nacos.register({ service: 'search', ip: pod.ip, port: 8080, ephemeral: false });
    await Promise.all(pods.map((pod) => waitForGate(suite.namespace, pod.name, (g) => g.status === 'True')));
  });
});

describe('high availability', () => {
  it('two controllers: only the leader writes; killing it hands over within the lease duration; SIGTERM hands the Lease back', async () => {
    const b = await startControllerProcess('controller-b');
    try {
      await waitUntil('controller-b synced', async () => (await get(b.port, '/readyz')).status === 200, 20_000);
      expect((await lease()).spec.holderIdentity).toBe('controller-a');
      expect(await metric(b.port, 'probe_injector_leader')).toBe(0);
      expect(await metric(a.port, 'probe_injector_leader')).toBe(1);

      const first = await createGated(appPod('billing'));
      const ip1 = nextIp();
      nacos.register({ service: 'billing', ip: ip1, port: 8080, ephemeral: false });
      await becomeReady(suite.namespace, first.metadata.name, ip1);
      await waitForGate(suite.namespace, first.metadata.name, (g) => g.status === 'True');
      const key1 = `${suite.namespace}/${first.metadata.name}`;
      await waitUntil('controller-a logs the change', async () => a.gateChanges().some((line) => line.pod === key1));
      expect(b.gateChanges()).toEqual([]);
      // The follower knows the pod (its watch is warm) but writes nothing.
      expect(await metric(b.port, 'probe_injector_gate_status_writes_total{result="success"}')).toBe(0);

      // The leader dies without handing the Lease back.
      const killedAt = Date.now();
      await a.stop('SIGKILL');
      await waitUntil('controller-b to lead', async () => (await lease()).spec?.holderIdentity === 'controller-b', 25_000, 200);
      const handover = (Date.now() - killedAt) / 1000;
      // leaseDurationSeconds 15, plus one retry period (2 s × jitter 1.2) for the follower to notice.
      expect(handover).toBeLessThanOrEqual(15 + 2.4 + 1);
      expect(await metric(b.port, 'probe_injector_leader')).toBe(1);

      const second = await createGated(appPod('billing'));
      const ip2 = nextIp();
      nacos.register({ service: 'billing', ip: ip2, port: 8080, ephemeral: false });
      await becomeReady(suite.namespace, second.metadata.name, ip2);
      await waitForGate(suite.namespace, second.metadata.name, (g) => g.status === 'True');
      await waitUntil('controller-b logs the change', async () => b.gateChanges().some((line) => line.pod === `${suite.namespace}/${second.metadata.name}`));
      const event = await waitForEvent(suite.namespace, second.metadata.name, 'NacosRegistered');
      expect(event.reportingInstance).toBe('controller-b');

      // SIGTERM: exit 0, and the Lease is handed back at once (no 15 s wait for the next leader).
      const exit = await b.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      const released = await lease();
      expect(released.spec.holderIdentity ?? '').toBe('');
      expect(b.running.lines.some((line) => line.msg === 'stopped')).toBe(true);
    } finally {
      await b.stop();
    }
  });
});

/**
 * A TCP proxy in front of kube-apiserver (TLS passes through: the certificate is for 127.0.0.1):
 * `cut()` drops every connection and refuses new ones, as a network partition would.
 */
async function startApiProxy(): Promise<{ port: number; cut(): void; heal(): void; close(): Promise<void> }> {
  const target = new URL(env.apiserverUrl);
  const sockets = new Set<net.Socket>();
  let partitioned = false;
  const server = net.createServer((client) => {
    if (partitioned) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      partitioned = true;
      for (const socket of sockets) socket.destroy();
    },
    heal() {
      partitioned = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a lost watch', () => {
  it('is restarted with backoff and resumed: a pod made ready while the controller was cut off gets its gate', async () => {
    const proxy = await startApiProxy();
    const kubeconfig = runDirPath('controllers', 'controller-c', 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(env.kubeconfig, 'utf8').replace(env.apiserverUrl, `https://127.0.0.1:${proxy.port}`));
    const c = await startControllerProcess('controller-c', kubeconfig);
    try {
      await waitUntil('controller-c to lead', async () => (await lease()).spec?.holderIdentity === 'controller-c', 25_000, 200);
      await waitUntil('controller-c synced', async () => (await get(c.port, '/readyz')).status === 200, 20_000);
      proxy.cut();
      const created = await createGated(appPod('reviews'));
      const ip = nextIp();
      nacos.register({ service: 'reviews', ip, port: 8080, ephemeral: false });
      await becomeReady(suite.namespace, created.metadata.name, ip);
      await waitUntil('the watch to fail', async () => (await metric(c.port, 'probe_injector_watch_errors_total')) >= 1, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(gateOf(await readPod(suite.namespace, created.metadata.name))).toBeUndefined();
      proxy.heal();
      await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'True', 40_000);
      expect(await metric(c.port, 'probe_injector_watch_restarts_total')).toBeGreaterThanOrEqual(1);
      // It stayed the leader: a 2-3 s partition is within the renew deadline.
      expect((await lease()).spec.holderIdentity).toBe('controller-c');
    } finally {
      expect(await c.stop()).toEqual({ code: 0, signal: null });
      await proxy.close();
    }
  });
});

describe('least privilege', () => {
  it("with only the RBAC of manifests/components/nacos-gate (its ServiceAccount's token), it leads, sets gates and records Events", async () => {
    // The manifest's ClusterRole and leader-election Role, bound to a ServiceAccount of this suite.
    const sa = 'gate-controller';
    await ok(kube('POST', `/api/v1/namespaces/${suite.namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } }), 'create ServiceAccount');
    const documents = parseAllDocuments(readFileSync(path.join(ROOT, 'manifests/components/nacos-gate/rbac.yaml'), 'utf8')).map((d) => d.toJSON() as Json);
    const clusterRole = documents.find((d) => d.kind === 'ClusterRole')!;
    const role = documents.find((d) => d.kind === 'Role')!;
    const roleName = 'e2e-controller-gate';
    await ok(kube('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { ...clusterRole, metadata: { name: roleName } }), 'create ClusterRole');
    await ok(
      kube('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: roleName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: suite.namespace }],
      }),
      'bind ClusterRole',
    );
    await ok(kube('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${suite.namespace}/roles`, { ...role, metadata: { name: roleName, namespace: suite.namespace } }), 'create Role');
    await ok(
      kube('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${suite.namespace}/rolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: roleName, namespace: suite.namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: suite.namespace }],
      }),
      'bind Role',
    );
    try {
      // v1.20's token controller writes the ServiceAccount's token into a Secret.
      const token = await waitUntil('the ServiceAccount token', async () => {
        const account = await ok(kube('GET', `/api/v1/namespaces/${suite.namespace}/serviceaccounts/${sa}`), 'get ServiceAccount');
        const secret = account.secrets?.[0]?.name;
        if (!secret) return undefined;
        const data = (await ok(kube('GET', `/api/v1/namespaces/${suite.namespace}/secrets/${secret}`), 'get token')).data?.token;
        return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
      });
      const kubeconfig = runDirPath('controllers', 'controller-d', 'kubeconfig');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: e2e, cluster: {server: "${env.apiserverUrl}", certificate-authority: "${path.join(env.runDir, 'pki', 'ca.crt')}"}}]`,
          `users: [{name: ${sa}, user: {token: "${token}"}}]`,
          `contexts: [{name: ${sa}, context: {cluster: e2e, user: ${sa}}}]`,
          `current-context: ${sa}`,
          '',
        ].join('\n'),
      );
      const d = await startControllerProcess('controller-d', kubeconfig);
      try {
        await waitUntil('controller-d to lead', async () => (await lease()).spec?.holderIdentity === 'controller-d', 25_000, 200);
        await waitUntil('controller-d synced', async () => (await get(d.port, '/readyz')).status === 200, 20_000);
        const created = await createGated(appPod('ratings'));
        const ip = nextIp();
        nacos.register({ service: 'ratings', ip, port: 8080, ephemeral: false });
        await becomeReady(suite.namespace, created.metadata.name, ip);
        await waitForGate(suite.namespace, created.metadata.name, (g) => g.status === 'True' && g.reason === 'NacosRegistered');
        expect((await waitForEvent(suite.namespace, created.metadata.name, 'NacosRegistered')).reportingInstance).toBe('controller-d');
        expect(d.running.lines.filter((line) => line.level >= 40 && /forbidden|403/i.test(JSON.stringify(line)))).toEqual([]);
      } finally {
        expect(await d.stop()).toEqual({ code: 0, signal: null });
      }
    } finally {
      await kube('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${roleName}`);
      await kube('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}`);
    }
  });
});
