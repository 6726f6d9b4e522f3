/**
 * Invalid annotations: kube-apiserver refuses the pod and the user sees our message — through the
 * API, through kubectl, and on the ReplicaSet of a Deployment whose template is wrong.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { on, podOf } from './support/expect.js';
import {
  createPod,
  env,
  kube,
  ok,
  podsPath,
  waitUntil,
  type Json,
} from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

// failurePolicy Ignore on purpose: a denial is an answer, not a failure, so it must refuse the pod
// whatever the failure policy.
const suite = useRegisteredWebhook('denial', { failurePolicy: 'Ignore' });

const WEBHOOK = 'pods.probe-injector.io';






/** The apiserver's message for a denial by our webhook. */
const denialPrefix = `admission webhook "${WEBHOOK}" denied the request: probe-injector: `;

describe('a pod with invalid annotations is refused and the user sees our message', () => {
  it('two problems: HTTP 400, the message names both keys, the values and a suggestion; nothing stored', async () => {
    const pod = podOf(on({ 'readiness-period-seconds': '0', 'readyness-path': '/ready' }), () => {}, 'bad');
    const res = await createPod(suite.namespace, pod);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', code: 400 });
    const message: string = res.body.message;
    expect(message.startsWith(denialPrefix)).toBe(true);
    expect(message).toContain('2 problems');
    expect(message).toContain('probe-injector.io/readiness-period-seconds="0"');
    expect(message).toContain('probe-injector.io/readyness-path');
    expect(message).toContain('did you mean probe-injector.io/readiness-path?');
    expect(message).not.toMatch(/[\r\n]/);
    expect((await kube('GET', podsPath(suite.namespace, 'bad'))).status).toBe(404);
    await suite.hook.admission({ pod: 'bad', outcome: 'denied' });
  });

  it('a dry-run create is refused the same way', async () => {
    const res = await createPod(suite.namespace, podOf(on({ type: 'udp' })), { dryRun: true });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(`${denialPrefix}1 problem with the pod's annotations: probe-injector.io/type="udp"`);
  });

  const kubectl = path.join(env.binDir, 'kubectl');
  (existsSync(kubectl) ? it : it.skip)(`kubectl create prints our message${existsSync(kubectl) ? '' : ' [skipped: no kubectl in the binaries]'}`, async () => {
    const pod = podOf(on({ 'nacos-deregister-sleep-seconds': '9999', 'nacos-deregister': 'true' }), () => {}, 'bad-kubectl');
    const result = await run(kubectl, ['--kubeconfig', env.kubeconfig, '--request-timeout=20s', '-n', suite.namespace, 'create', '-f', '-'], JSON.stringify(pod));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`Error from server: error when creating "STDIN": ${denialPrefix}1 problem with the pod's annotations: probe-injector.io/nacos-deregister-sleep-seconds="9999"`);
  });

  (env.controllerManager ? it : it.skip)(
    `a Deployment with an invalid template: the ReplicaSet reports our message${env.controllerManager ? '' : ' [skipped: no kube-controller-manager in the binaries (envtest)]'}`,
    async () => {
      const template = podOf(on({ 'liveness-success-threshold': '2' }), (pod) => (pod.metadata.labels = { app: 'broken' }));
      delete template.metadata.generateName;
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'broken' }, spec: { replicas: 1, selector: { matchLabels: { app: 'broken' } }, template } };
      await ok(kube('POST', `/apis/apps/v1/namespaces/${suite.namespace}/deployments`, deployment), 'create deployment');
      const condition: Json = await waitUntil(
        'the ReplicaSet to report ReplicaFailure',
        async () => {
          const list = await ok(kube('GET', `/apis/apps/v1/namespaces/${suite.namespace}/replicasets?labelSelector=app%3Dbroken`));
          return list.items[0]?.status?.conditions?.find((c: Json) => c.type === 'ReplicaFailure');
        },
        60_000,
        200,
      );
      expect(condition.reason).toBe('FailedCreate');
      expect(condition.message).toContain(`${denialPrefix}1 problem with the pod's annotations: probe-injector.io/liveness-success-threshold="2"`);
      const pods = await ok(kube('GET', `${podsPath(suite.namespace)}?labelSelector=app%3Dbroken`));
      expect(pods.items).toEqual([]);
    },
  );
});

describe('the webhook knows which Kubernetes it serves (issue 14)', () => {
  it('a gRPC probe on this v1.20 server is our denial naming the version needed, not an API-server error', async () => {
    const res = await createPod(suite.namespace, podOf(on({ profile: 'grpc' })), { dryRun: true });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(
      `${denialPrefix}1 problem with the pod's annotations: probe-injector.io/profile="grpc": gRPC health checking needs Kubernetes >= 1.24 for gRPC probes (this cluster: 1.20)`,
    );
  });
});

interface Invalid {
  readonly name: string;
  readonly annotations: Record<string, string>;
  /** Every key the message must name (with the prefix added when there is no `/`). */
  readonly keys: readonly string[];
  readonly changes?: (pod: Json) => void;
}

const invalid: Invalid[] = [
  { name: 'inject neither true nor false', annotations: { 'probe-injector.io/inject': 'yes' }, keys: ['inject'] },
  { name: 'unknown type', annotations: on({ type: 'udp' }), keys: ['type'] },
  { name: 'port 0', annotations: on({ port: '0' }), keys: ['port'] },
  { name: 'port name the container does not declare', annotations: on({ port: 'admin' }), keys: ['port'] },
  { name: 'a container with no port to use', annotations: on(), keys: ['port'], changes: (pod) => delete pod.spec.containers[0].ports },
  { name: 'relative path', annotations: on({ path: 'health' }), keys: ['path'] },
  { name: 'path with shell syntax', annotations: on({ 'readiness-path': "/x';reboot;'" }), keys: ['readiness-path'] },
  { name: 'exec without a command', annotations: on({ type: 'exec' }), keys: ['startup-command', 'readiness-command', 'liveness-command'] },
  { name: 'command that is not a JSON array of strings', annotations: on({ 'liveness-command': 'cat /tmp/ok' }), keys: ['liveness-command'] },
  { name: 'path with type tcp', annotations: on({ type: 'tcp', path: '/x' }), keys: ['path'] },
  { name: 'successThreshold 2 on liveness', annotations: on({ 'liveness-success-threshold': '2' }), keys: ['liveness-success-threshold'] },
  { name: 'integer above int32', annotations: on({ 'readiness-period-seconds': '2147483648' }), keys: ['readiness-period-seconds'] },
  { name: 'verbatim probe that is not JSON', annotations: on({ 'readiness-probe': '{httpGet:' }), keys: ['readiness-probe'] },
  { name: 'verbatim probe with two handlers', annotations: on({ 'readiness-probe': '{"tcpSocket":{"port":8080},"exec":{"command":["x"]}}' }), keys: ['readiness-probe'] },
  { name: 'verbatim readiness probe with terminationGracePeriodSeconds', annotations: on({ 'readiness-probe': '{"tcpSocket":{"port":8080},"terminationGracePeriodSeconds":5}' }), keys: ['readiness-probe'] },
  { name: 'unknown container', annotations: on({ containers: 'app,nope' }), keys: ['containers'] },
  { name: 'empty item in a list', annotations: on({ 'readiness-gates': 'a.io/x,,b' }), keys: ['readiness-gates'] },
  { name: 'readiness gate that is not a qualified name', annotations: on({ 'readiness-gates': 'not a gate' }), keys: ['readiness-gates'] },
  { name: 'http-mode hook with POST and a sleep', annotations: on({ 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http', 'nacos-deregister-method': 'POST', 'nacos-deregister-sleep-seconds': '5' }), keys: ['nacos-deregister-method', 'nacos-deregister-sleep-seconds'] },
  { name: 'deregister timeout above 60', annotations: on({ 'nacos-deregister': 'true', 'nacos-deregister-timeout-seconds': '61' }), keys: ['nacos-deregister-timeout-seconds'] },
  { name: 'unknown profile', annotations: on({ profile: 'spring' }), keys: ['profile'] },
  { name: 'typo of a per-probe key', annotations: on({ 'liveness-period': '5' }), keys: ['liveness-period'] },
  // Issues 9, 11, 12, 14
  { name: 'the Nacos gate without a Nacos identity', annotations: on({ 'readiness-gates': 'nacos.io/registered' }), keys: ['nacos-service'] },
  { name: 'prestop-sleep-seconds with nacos-deregister', annotations: on({ 'prestop-sleep-seconds': '10', 'nacos-deregister': 'true' }), keys: ['prestop-sleep-seconds'] },
  { name: 'actuator in http mode', annotations: on({ 'nacos-deregister': 'true', 'nacos-deregister-via': 'actuator', 'nacos-deregister-mode': 'http' }), keys: ['nacos-deregister-via'] },
  { name: 'more than 64 readiness gates', annotations: on({ 'readiness-gates': Array.from({ length: 65 }, (_, i) => `example.com/g${i}`).join(',') }), keys: ['readiness-gates'] },
  { name: 'an unknown profile and an undeclared port, both at once', annotations: on({ profile: 'grcp', port: 'grpc' }), keys: ['profile', 'port'] },
];

describe('invalid annotations, one by one: refused with HTTP 400 and every key named', () => {
  it.each(invalid.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await createPod(suite.namespace, podOf(c.annotations, c.changes));
    expect(res.status).toBe(400);
    const message: string = res.body.message ?? '';
    expect(message.startsWith(denialPrefix)).toBe(true);
    for (const key of c.keys) expect(message).toContain(key.includes('/') ? key : `probe-injector.io/${key}`);
  });
});

function run(command: string, args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
