/**
 * A small client for the e2e cluster: plain JSON over HTTPS with the kubeconfig's credentials
 * (loaded by @kubernetes/client-node), so the tests see exactly what kube-apiserver stored and
 * answered — status codes, `Status` messages, `Warning` headers — with nothing dropped or
 * reshaped by a typed model.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';

export type Json = Record<string, any>;

export interface E2eEnv {
  readonly kubeconfig: string;
  readonly runDir: string;
  readonly binDir: string;
  readonly apiserverUrl: string;
  readonly kubeVersion: string;
  readonly kubeMinor: number;
  readonly controllerManager: boolean;
}

function loadEnv(): E2eEnv {
  const { KUBECONFIG, E2E_RUN_DIR, E2E_BIN_DIR, E2E_APISERVER_URL, E2E_KUBE_VERSION, E2E_CONTROLLER_MANAGER } = process.env;
  if (!KUBECONFIG || !E2E_RUN_DIR || !E2E_APISERVER_URL || !E2E_KUBE_VERSION) {
    throw new Error('the e2e suite needs a running cluster: run it with test/e2e/run.sh (it sets KUBECONFIG and E2E_*)');
  }
  const minor = /^v?1\.(\d+)/.exec(E2E_KUBE_VERSION);
  return {
    kubeconfig: KUBECONFIG,
    runDir: E2E_RUN_DIR,
    binDir: E2E_BIN_DIR ?? '',
    apiserverUrl: E2E_APISERVER_URL,
    kubeVersion: E2E_KUBE_VERSION,
    kubeMinor: minor ? Number(minor[1]) : 99,
    controllerManager: E2E_CONTROLLER_MANAGER !== 'no',
  };
}

export const env = loadEnv();

/** `it` when the apiserver has a feature, else `it.skip` with the reason in the test's name. */
export function since(minor: number, feature: string, introduced: string) {
  const supported = env.kubeMinor >= minor;
  const reason = `kube-apiserver ${env.kubeVersion.replace(/^(v\d+\.\d+).*/, '$1')} predates ${feature} (${introduced})`;
  return {
    supported,
    reason,
    /** The test name, with the reason appended when skipped. */
    name: (name: string) => (supported ? name : `${name} [skipped: ${reason}]`),
    it: supported ? it : it.skip,
  };
}

// ---------------------------------------------------------------------------------- HTTP
export interface KubeResponse {
  readonly status: number;
  readonly body: any;
  /** The `Warning` headers' texts (admission webhook warnings arrive this way). */
  readonly warnings: string[];
}

let clientOptions: Promise<{ base: URL; agent: https.Agent; headers: Record<string, string> }> | undefined;

function client() {
  clientOptions ??= (async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.kubeconfig);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error(`${env.kubeconfig} names no server`);
    const options: https.RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    const agent = new https.Agent({ ca: options.ca, cert: options.cert, key: options.key, keepAlive: true, maxSockets: 8 });
    return { base: new URL(server), agent, headers: (options.headers ?? {}) as Record<string, string> };
  })();
  return clientOptions;
}

/** Closes the keep-alive connections (afterAll of each file). */
export async function closeClient(): Promise<void> {
  if (!clientOptions) return;
  const { agent } = await clientOptions;
  agent.destroy();
  clientOptions = undefined;
}

export async function kube(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
  const { base, agent, headers } = await client();
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        agent,
        timeout: 30_000,
        headers: { ...headers, Accept: 'application/json', ...(payload !== undefined && { 'Content-Type': contentType }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // keep the text
          }
          const raw = res.headers['warning'];
          const warnings = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap(splitWarnings);
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** RFC 7234 warning values (`299 - "text"`), possibly several in one header, to their texts. */
function splitWarnings(header: string): string[] {
  const texts: string[] = [];
  const re = /\d{3} \S+ "((?:[^"\\]|\\.)*)"(?: "[^"]*")?/g;
  for (let m = re.exec(header); m; m = re.exec(header)) texts.push(m[1]!.replace(/\\(.)/g, '$1'));
  return texts;
}

/** Throws unless the request succeeded; returns the body. */
export async function ok(response: Promise<KubeResponse> | KubeResponse, what = 'request'): Promise<any> {
  const res = await response;
  if (res.status >= 400) throw new Error(`${what}: HTTP ${res.status}: ${typeof res.body === 'object' ? res.body.message ?? JSON.stringify(res.body) : res.body}`);
  return res.body;
}

// ---------------------------------------------------------------------------------- waiting
export async function waitUntil<T>(what: string, attempt: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------------------------- objects
export const podsPath = (namespace: string, name?: string) => `/api/v1/namespaces/${namespace}/pods${name ? `/${name}` : ''}`;

/**
 * Creates a namespace with the labels a webhook's namespaceSelector picks, and waits until pods
 * can be created in it (the ServiceAccount admission plugin needs the `default` ServiceAccount and,
 * before 1.24, its token Secret, both made by the controller manager).
 */
export async function createNamespace(name: string, labels: Record<string, string>): Promise<void> {
  await ok(kube('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }), `create namespace ${name}`);
  if (!env.controllerManager) return;
  await waitUntil(`the default ServiceAccount of ${name}`, async () => {
    const res = await kube('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    return res.status === 200 && (env.kubeMinor >= 24 || (res.body.secrets ?? []).length > 0);
  });
}

/** POST a pod; the response, refused or not (dryRun: nothing is stored). */
export function createPod(namespace: string, pod: Json, options: { dryRun?: boolean } = {}): Promise<KubeResponse> {
  return kube('POST', `${podsPath(namespace)}${options.dryRun ? '?dryRun=All' : ''}`, pod);
}

/** Creates the pod and reads back what the API server stored. */
export async function createAndGetPod(namespace: string, pod: Json): Promise<{ stored: Json; warnings: string[] }> {
  const created = await createPod(namespace, pod);
  if (created.status !== 201) throw new Error(`pod not created: HTTP ${created.status}: ${created.body?.message ?? JSON.stringify(created.body)}`);
  const stored = await ok(kube('GET', podsPath(namespace, created.body.metadata.name)), 'get pod');
  return { stored, warnings: created.warnings };
}

export const WEBHOOK_CONFIGS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

export interface HookOptions {
  /** Webhook (not configuration) name; default `pods.probe-injector.io`. */
  readonly webhookName?: string;
  readonly url?: string;
  readonly service?: { readonly namespace: string; readonly name: string; readonly port?: number; readonly path?: string };
  readonly caBundle?: string | undefined;
  readonly failurePolicy?: 'Ignore' | 'Fail';
  readonly reinvocationPolicy?: 'IfNeeded' | 'Never';
  /** Only namespaces with this label (the test's own) are sent to the webhook. */
  readonly namespaceLabels: Record<string, string>;
  readonly timeoutSeconds?: number;
  readonly matchConditions?: Json[];
}

/** A MutatingWebhookConfiguration as SPEC §7 describes it, pointed at a test's webhook. */
export function webhookConfiguration(name: string, options: HookOptions): Json {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name, labels: { 'probe-injector-e2e': 'true' } },
    webhooks: [
      {
        name: options.webhookName ?? 'pods.probe-injector.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        failurePolicy: options.failurePolicy ?? 'Fail',
        reinvocationPolicy: options.reinvocationPolicy ?? 'IfNeeded',
        matchPolicy: 'Equivalent',
        clientConfig: {
          ...(options.url && { url: options.url }),
          ...(options.service && {
            service: { namespace: options.service.namespace, name: options.service.name, port: options.service.port ?? 443, path: options.service.path ?? '/mutate' },
          }),
          ...(options.caBundle && { caBundle: options.caBundle }),
        },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: options.namespaceLabels },
        ...(options.matchConditions && { matchConditions: options.matchConditions }),
      },
    ],
  };
}

export async function registerWebhook(config: Json): Promise<void> {
  await ok(kube('POST', WEBHOOK_CONFIGS, config), `create MutatingWebhookConfiguration ${config.metadata.name}`);
}

export async function deleteWebhook(name: string): Promise<void> {
  const res = await kube('DELETE', `${WEBHOOK_CONFIGS}/${name}`);
  if (res.status >= 400 && res.status !== 404) throw new Error(`delete ${name}: HTTP ${res.status}`);
}

/** A pod that opts in, for polling with dry-run creates until a webhook configuration takes effect. */
export function probePod(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'effect-check-', annotations: { 'probe-injector.io/inject': 'true' } },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }] }] },
  };
}

/**
 * Waits until kube-apiserver sends pods of `namespace` to our webhook (a new or changed
 * configuration takes ~0.2-1 s): dry-run creates of an opted-in pod until one comes back mutated.
 */
export async function waitForInjection(namespace: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    `the webhook to mutate pods in ${namespace}`,
    async () => {
      const res = await createPod(namespace, probePod(), { dryRun: true });
      if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${res.body?.message}`);
      return res.body.metadata?.annotations?.['probe-injector.io/status'] !== undefined;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------- stored shape
const clone = <T>(value: T): T => structuredClone(value);

/**
 * A probe or lifecycle handler as kube-apiserver stores it: its defaulting (timeout 1, period 10,
 * success 1, failure 3; httpGet path `/` and scheme HTTP) and Go's `omitempty` on
 * initialDelaySeconds 0. Applied to EXPECTED values only; stored values are compared as stored.
 */
export function asStoredProbe(probe: Json, isProbe = true): Json {
  const p = clone(probe);
  if (p.httpGet) {
    p.httpGet.path ||= '/';
    p.httpGet.scheme ||= 'HTTP';
  }
  if (isProbe) {
    p.timeoutSeconds ||= 1;
    p.periodSeconds ||= 10;
    p.successThreshold ||= 1;
    p.failureThreshold ||= 3;
    if (p.initialDelaySeconds === 0) delete p.initialDelaySeconds;
  }
  return p;
}

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

/** What the webhook touches in a pod, in a shape to compare: annotations, probes, hooks, gates, grace. */
export function injectedView(pod: Json, options: { expected?: boolean } = {}): Json {
  const container = (c: Json) => {
    const view: Json = { name: c.name };
    for (const field of PROBES) {
      if (c[field] === undefined) continue;
      view[field] = options.expected ? asStoredProbe(c[field]) : storedGrpc(c[field]);
    }
    if (c.lifecycle) {
      view.lifecycle = Object.fromEntries(Object.entries(c.lifecycle).map(([hook, handler]) => [hook, options.expected ? asStoredProbe(handler as Json, false) : handler]));
    }
    return view;
  };
  return {
    annotations: pod.metadata?.annotations ?? {},
    // Only ours: the ReplicaSet controller adds pod-template-hash.
    labels: Object.fromEntries(Object.entries(pod.metadata?.labels ?? {}).filter(([key]) => key.startsWith('probe-injector.io/'))),
    containers: (pod.spec.containers ?? []).map(container),
    initContainers: (pod.spec.initContainers ?? []).map(container),
    readinessGates: pod.spec.readinessGates ?? [],
    // kube-apiserver defaults an absent grace period to 30 before admission.
    terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? (options.expected ? 30 : undefined),
  };
}

/** Newer apiservers default grpc.service to "": the same as absent (the server's overall health). */
function storedGrpc(probe: Json): Json {
  if (probe.grpc?.service !== '') return probe;
  const p = clone(probe);
  delete p.grpc.service;
  return p;
}

// ---------------------------------------------------------------------------------- kubectl
export const VALIDATING_WEBHOOK_CONFIGS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

/** The cluster's own kubectl (`$E2E_BIN_DIR/kubectl`), if the binaries include one. */
export function kubectlPath(): string | undefined {
  const file = env.binDir ? path.join(env.binDir, 'kubectl') : '';
  return file && existsSync(file) ? file : undefined;
}

/**
 * Runs the cluster's kubectl with the run's kubeconfig (so its command line names the run dir, as
 * run.sh's leftover check expects), with `input` on stdin.
 */
export function kubectl(args: readonly string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const binary = kubectlPath();
  if (!binary) return Promise.reject(new Error(`no kubectl in ${env.binDir || '$E2E_BIN_DIR (unset)'}`));
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--kubeconfig', env.kubeconfig, '--request-timeout=30s', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

// ---------------------------------------------------------------------------------- workloads, status, validation
/** `/apis/apps/v1/namespaces/NS/deployments[/NAME]` and the like, for any group/version/resource. */
export function objectsPath(apiVersion: string, resource: string, namespace: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}/namespaces/${namespace}/${resource}${name ? `/${name}` : ''}`;
}

/**
 * Plays the kubelet for a pod (there are no nodes here): a JSON merge patch of `pods/status`,
 * e.g. an IP and conditions. `conditions` given here replace the stored list.
 */
export async function patchPodStatus(namespace: string, name: string, status: Json): Promise<Json> {
  return ok(kube('PATCH', `${podsPath(namespace, name)}/status`, { status }, 'application/merge-patch+json'), `patch the status of pod ${namespace}/${name}`);
}

/** The workload resources SPEC §9 validates, as in manifests/base/validatingwebhookconfiguration.yaml. */
export const VALIDATED_RULES: Json[] = [
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], scope: 'Namespaced' },
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
];

/**
 * A ValidatingWebhookConfiguration like manifests/ have it (webhook `workloads.probe-injector.io`,
 * path `/validate`, `matchPolicy: Equivalent`, the rules above), pointed at a test's webhook by
 * URL, for the test's namespaces only; no `matchConditions` (kube-apiserver < 1.27 lacks them).
 */
export function validatingWebhookConfiguration(name: string, options: Omit<HookOptions, 'reinvocationPolicy'>): Json {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels: { 'probe-injector-e2e': 'true' } },
    webhooks: [
      {
        name: options.webhookName ?? 'workloads.probe-injector.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: options.timeoutSeconds ?? 5,
        failurePolicy: options.failurePolicy ?? 'Fail',
        matchPolicy: 'Equivalent',
        clientConfig: { ...(options.url && { url: options.url }), ...(options.caBundle && { caBundle: options.caBundle }) },
        rules: VALIDATED_RULES,
        namespaceSelector: { matchLabels: options.namespaceLabels },
        ...(options.matchConditions && { matchConditions: options.matchConditions }),
      },
    ],
  };
}

export async function registerValidatingWebhook(config: Json): Promise<void> {
  await ok(kube('POST', VALIDATING_WEBHOOK_CONFIGS, config), `create ValidatingWebhookConfiguration ${config.metadata.name}`);
}

export async function deleteValidatingWebhook(name: string): Promise<void> {
  const res = await kube('DELETE', `${VALIDATING_WEBHOOK_CONFIGS}/${name}`);
  if (res.status >= 400 && res.status !== 404) throw new Error(`delete ${name}: HTTP ${res.status}`);
}

/** The API server's audit events so far (`cluster.sh` writes them to `$E2E_RUN_DIR/audit.log`). */
export function auditEvents(): Json[] {
  const file = path.join(env.runDir, 'audit.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}
