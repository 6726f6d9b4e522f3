// "Through the real client" (issue 15): what a pod CREATE costs as kube-apiserver's client sees
// it. The test/e2e cluster (kube-apiserver v1.20.2) and four namespaces, each served differently:
//
//   no webhook                  the API server alone
//   minimal, allowed            a minimal node:https webhook (minimal-webhook.ts) answering allowed
//   minimal, precomputed patch  the same webhook answering, for every pod, probe-injector's own
//                               answer to that pod (recorded once beforehand: patch, warnings,
//                               audit annotations), so the API server does the same work on it
//   probe-injector              `node dist/cli.js serve` (with --kubeconfig: it reads v1.20)
//
// Dry-run creates (`?dryRun=All`: admission and validation run, nothing is stored) of the opted-in
// 8 KB Nacos pod, interleaved in one run (round i sends one pod to each namespace, the order rotated
// each round), one at a time on one keep-alive connection. Latency: the client's, request to last
// byte of the answer. Every answer must be 201, and the pods from the last two namespaces must be
// identical (proof that the precomputed answer is probe-injector's).
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { podToCreate, sizeOf, type Json } from './fixtures.js';
import { createNamespace, kubeClient, waitUntil, type KubeClient } from './kube-client.js';
import { cpuMicros, fmt, healthz, HOST, log, percentile, ratio, sortedCopy, startServer, times, withInterference, type Certificates, type RunningServer, type Target } from './lib.js';
import type { Cluster } from './cluster.js';

export const VARIANTS = ['no webhook', 'minimal, allowed', 'minimal, precomputed patch', 'probe-injector'] as const;
export type VariantName = (typeof VARIANTS)[number];

const NAMESPACES: Record<VariantName, string> = {
  'no webhook': 'bench-none',
  'minimal, allowed': 'bench-allowed',
  'minimal, precomputed patch': 'bench-patch',
  'probe-injector': 'bench-injector',
};
const LABEL = 'probe-injector-bench';
const CONFIG_NAME = 'probe-injector-bench';
const CONFIGS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

export interface ApiServerParams {
  /** Measured rounds (one create per namespace each). */
  readonly rounds: number;
  /** Rounds sent first and not recorded. */
  readonly warmupRounds: number;
}

export interface VariantResult {
  readonly name: VariantName;
  readonly namespace: string;
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  readonly errors: number;
  /** The webhook process's CPU per admission (µs), when there is one. */
  readonly webhookCpuUs?: number | undefined;
}

export interface ApiServerResult {
  readonly kubeVersion: string;
  readonly clusterStartMs: number;
  readonly rounds: number;
  readonly warmupRounds: number;
  /** The pod as POSTed (bytes of JSON). */
  readonly podBytes: number;
  /** The AdmissionReview kube-apiserver sent the webhook for it. */
  readonly reviewBytes: number;
  /** probe-injector's answer: the whole AdmissionReview, the JSON Patch (decoded) and its operations. */
  readonly answerBytes: number;
  readonly patchBytes: number;
  readonly patchOperations: number;
  readonly warnings: number;
  /** The pods admitted through the precomputed answer and through probe-injector are the same. */
  readonly identical: boolean;
  readonly variants: readonly VariantResult[];
  /** TLS connections the minimal webhooks accepted per admission during the measured rounds (kube-apiserver's connection reuse). */
  readonly connectionsPerAdmission: number;
  readonly interference: number;
  readonly forks: number;
}

function webhookEntry(name: string, variant: VariantName, port: number, caBundle: string): Json {
  return {
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    timeoutSeconds: 10,
    failurePolicy: 'Fail',
    reinvocationPolicy: 'IfNeeded',
    matchPolicy: 'Equivalent',
    clientConfig: { url: `https://${HOST}:${port}/mutate`, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    namespaceSelector: { matchLabels: { [LABEL]: NAMESPACES[variant] } },
  };
}

/** Replaces the benchmark's MutatingWebhookConfiguration with these webhooks. */
async function configure(client: KubeClient, webhooks: Json[]): Promise<void> {
  const existing = await client.request('GET', `${CONFIGS}/${CONFIG_NAME}`);
  const body = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: CONFIG_NAME }, webhooks };
  if (existing.status === 200) {
    await client.ok('PUT', `${CONFIGS}/${CONFIG_NAME}`, { ...body, metadata: { ...body.metadata, resourceVersion: existing.body.metadata.resourceVersion } });
  } else await client.ok('POST', CONFIGS, body);
}

const dryRunPath = (namespace: string) => `/api/v1/namespaces/${namespace}/pods?dryRun=All`;

/** What the webhook changed in a pod, to compare two admitted pods (names and uids differ). */
const mutatedView = (pod: Json) => JSON.stringify({ labels: pod.metadata?.labels, annotations: pod.metadata?.annotations, spec: pod.spec });

/** POSTs a body to a webhook directly; the parsed answer. */
function postReview(port: number, ca: string, body: string): Promise<Json> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: HOST, port, ca, servername: 'localhost', method: 'POST', path: '/mutate', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A minimal webhook's counters (`GET /stats`). */
function webhookStats(port: number, ca: string): Promise<{ connections: number; requests: number }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: HOST, port, ca, servername: 'localhost', path: '/stats', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { connections: number; requests: number }));
      })
      .on('error', reject);
  });
}

/** The pids of the cluster's own processes (etcd, kube-apiserver, kube-controller-manager): part of what is measured. */
function clusterPids(cluster: Cluster): number[] {
  try {
    return readFileSync(path.join(cluster.runDir, 'pids'), 'utf8')
      .split('\n')
      .map((line) => Number(line.trim().split(/\s+/)[1]))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

export async function throughApiServer(cluster: Cluster, certs: Certificates, workDir: string, params: ApiServerParams): Promise<ApiServerResult> {
  const client = await kubeClient(cluster.kubeconfig);
  const servers: RunningServer[] = [];
  const caBundle = Buffer.from(certs.ca).toString('base64');
  try {
    for (const variant of VARIANTS) await createNamespace(client, NAMESPACES[variant], { [LABEL]: NAMESPACES[variant] }, cluster.env);
    const pod = podToCreate(sizeOf('8 KB').review);
    const podJson = JSON.stringify(pod);

    // 1. The minimal webhook (recording what the API server sends) and probe-injector.
    const captureFile = path.join(workDir, 'apiserver-review.json');
    const allowed = await startServer('minimal-allowed', certs, { extraArgs: ['--capture-file', captureFile] });
    servers.push(allowed);
    const injector = await startServer('webhook', certs, { extraArgs: ['--kubeconfig', cluster.kubeconfig] });
    servers.push(injector);
    await waitUntil('probe-injector ready (the Kubernetes version read)', async () => (await healthz(injector.port, certs.ca, '/readyz')).status === 200, 20_000);
    await configure(client, [webhookEntry('allowed.bench.probe-injector.io', 'minimal, allowed', allowed.port, caBundle), webhookEntry('injector.bench.probe-injector.io', 'probe-injector', injector.port, caBundle)]);
    await waitUntil('the configuration in effect for probe-injector', async () => {
      const res = await client.request('POST', dryRunPath(NAMESPACES['probe-injector']), podJson);
      return res.status === 201 && res.body.metadata?.annotations?.['probe-injector.io/status'] !== undefined;
    });
    const review = await waitUntil(
      'the AdmissionReview the API server sends the minimal webhook',
      async () => {
        await client.request('POST', dryRunPath(NAMESPACES['minimal, allowed']), podJson);
        try {
          return readFileSync(captureFile, 'utf8');
        } catch {
          return undefined;
        }
      },
      30_000,
      200,
    );

    // 2. probe-injector's answer to exactly that review, served by the minimal webhook as is.
    const answer = await postReview(injector.port, certs.ca, review);
    const { uid: _uid, ...response } = answer['response'] as Json;
    if (!response['patch']) throw new Error(`probe-injector did not patch the pod the API server sent: ${JSON.stringify(answer).slice(0, 400)}`);
    const patch = JSON.parse(Buffer.from(String(response['patch']), 'base64').toString('utf8')) as unknown[];
    const responseFile = path.join(workDir, 'apiserver-response.json');
    writeFileSync(responseFile, JSON.stringify(response));
    const precomputed = await startServer('minimal-patch', certs, { extraArgs: ['--response-file', responseFile] });
    servers.push(precomputed);
    await configure(client, [
      webhookEntry('allowed.bench.probe-injector.io', 'minimal, allowed', allowed.port, caBundle),
      webhookEntry('patch.bench.probe-injector.io', 'minimal, precomputed patch', precomputed.port, caBundle),
      webhookEntry('injector.bench.probe-injector.io', 'probe-injector', injector.port, caBundle),
    ]);
    const patchedByMinimal = await waitUntil('the configuration in effect for the precomputed answer', async () => {
      const res = await client.request('POST', dryRunPath(NAMESPACES['minimal, precomputed patch']), podJson);
      return res.status === 201 && res.body.metadata?.annotations?.['probe-injector.io/status'] !== undefined ? (res.body as Json) : undefined;
    });
    const patchedByInjector = await client.ok('POST', dryRunPath(NAMESPACES['probe-injector']), podJson);
    const identical = mutatedView(patchedByMinimal) === mutatedView(patchedByInjector);

    // 3. Interleaved dry-run creates.
    const latencies = new Map<VariantName, number[]>(VARIANTS.map((v) => [v, []]));
    const errors = new Map<VariantName, number>(VARIANTS.map((v) => [v, 0]));
    const webhookOf: Partial<Record<VariantName, RunningServer>> = { 'minimal, allowed': allowed, 'minimal, precomputed patch': precomputed, 'probe-injector': injector };
    const round = async (i: number, record: boolean) => {
      for (let k = 0; k < VARIANTS.length; k++) {
        const variant = VARIANTS[(i + k) % VARIANTS.length] ?? 'no webhook';
        const res = await client.request('POST', dryRunPath(NAMESPACES[variant]), podJson);
        if (res.status !== 201) {
          errors.set(variant, (errors.get(variant) ?? 0) + 1);
          if ((errors.get(variant) ?? 0) <= 3) log(`through the API server: ${variant}: HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
        } else if (record) latencies.get(variant)?.push(res.ms);
      }
    };
    log(`through the API server: ${params.warmupRounds} warm-up rounds`);
    for (let i = 0; i < params.warmupRounds; i++) await round(i, false);
    log(`through the API server: ${params.rounds} rounds of ${VARIANTS.length} dry-run creates`);
    const stats0 = await Promise.all([allowed, precomputed].map((s) => webhookStats(s.port, certs.ca)));
    const cpu0 = new Map(servers.map((s) => [s, cpuMicros(s.pid)]));
    const { interference, forks } = await withInterference([...servers.map((s) => s.pid), ...clusterPids(cluster)], async () => {
      for (let i = 0; i < params.rounds; i++) await round(i, true);
    });
    const stats1 = await Promise.all([allowed, precomputed].map((s) => webhookStats(s.port, certs.ca)));
    // Our own GET /stats is a connection too: one per call, taken out.
    const connections = stats1.reduce((n, s, i) => n + s.connections - (stats0[i]?.connections ?? 0) - 1, 0);
    const requests = stats1.reduce((n, s, i) => n + s.requests - (stats0[i]?.requests ?? 0), 0);
    const variants = VARIANTS.map((name): VariantResult => {
      const sorted = sortedCopy(latencies.get(name) ?? []);
      const server = webhookOf[name];
      return {
        name,
        namespace: NAMESPACES[name],
        count: sorted.length,
        p50: percentile(sorted, 50),
        p90: percentile(sorted, 90),
        p99: percentile(sorted, 99),
        mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
        max: percentile(sorted, 100),
        errors: errors.get(name) ?? 0,
        webhookCpuUs: server ? (cpuMicros(server.pid) - (cpu0.get(server) ?? 0)) / params.rounds : undefined,
      };
    });
    return {
      kubeVersion: cluster.env['E2E_KUBE_VERSION'] ?? 'unknown',
      clusterStartMs: cluster.startMs,
      rounds: params.rounds,
      warmupRounds: params.warmupRounds,
      podBytes: Buffer.byteLength(podJson),
      reviewBytes: Buffer.byteLength(review),
      answerBytes: Buffer.byteLength(JSON.stringify(answer)),
      patchBytes: Buffer.from(String(response['patch']), 'base64').length,
      patchOperations: patch.length,
      warnings: Array.isArray(response['warnings']) ? response['warnings'].length : 0,
      identical,
      variants,
      connectionsPerAdmission: connections / requests,
      interference,
      forks,
    };
  } finally {
    await client.request('DELETE', `${CONFIGS}/${CONFIG_NAME}`).catch(() => undefined);
    client.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const added = (r: ApiServerResult, name: VariantName, p: 'p50' | 'p90' | 'p99') => {
  const none = r.variants.find((v) => v.name === 'no webhook');
  const variant = r.variants.find((v) => v.name === name);
  return none && variant ? variant[p] - none[p] : NaN;
};

export function apiServerTargets(r: ApiServerResult): Target[] {
  const p50 = ratio(added(r, 'probe-injector', 'p50'), added(r, 'minimal, precomputed patch', 'p50'));
  const p90 = ratio(added(r, 'probe-injector', 'p90'), added(r, 'minimal, precomputed patch', 'p90'));
  const errors = r.variants.reduce((n, v) => n + v.errors, 0);
  return [
    {
      name: "through kube-apiserver: probe-injector's added p50 ≤ 1.1× the precomputed-patch webhook's",
      measured: `${fmt(added(r, 'probe-injector', 'p50'), 2)} vs ${fmt(added(r, 'minimal, precomputed patch', 'p50'), 2)} ms: ${times(p50)}`,
      pass: p50 <= 1.1 && errors === 0 && r.identical,
    },
    {
      name: "through kube-apiserver: probe-injector's added p90 ≤ 1.25× the precomputed-patch webhook's",
      measured: `${fmt(added(r, 'probe-injector', 'p90'), 2)} vs ${fmt(added(r, 'minimal, precomputed patch', 'p90'), 2)} ms: ${times(p90)}`,
      pass: p90 <= 1.25 && errors === 0 && r.identical,
    },
  ];
}

export function renderApiServer(r: ApiServerResult): string {
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  const ms = (v: number | undefined) => fmt(v, 2);
  add(
    `kube-apiserver ${r.kubeVersion} (test/e2e/cluster.sh: etcd, kube-apiserver and kube-controller-manager on this machine; started in ${fmt(r.clusterStartMs / 1000, 1)} s). ${r.rounds} rounds after ${r.warmupRounds} of warm-up; each round one dry-run create (\`POST …/pods?dryRun=All\`) of the opted-in 8 KB Nacos pod in each namespace, the order rotated every round, one request at a time on one keep-alive connection; latency: the client's, request to the last byte of the 201. Webhooks registered by URL with \`failurePolicy: Fail\`, \`timeoutSeconds: 10\`, each selecting its own namespace.`,
    '',
    `The pod: ${r.podBytes} bytes as POSTed; the AdmissionReview kube-apiserver sent the webhook: ${r.reviewBytes} bytes. probe-injector's answer: ${r.answerBytes} bytes; its JSON Patch **${r.patchBytes} bytes, ${r.patchOperations} operations**, ${r.warnings} warning(s). The pods admitted through the precomputed answer and through probe-injector are ${r.identical ? '**identical**' : '**DIFFERENT (the comparison is void)**'}.`,
    '',
    '| namespace served by | p50 ms | p90 ms | p99 ms | mean ms | max ms | added p50 / p90 / p99 ms (vs no webhook) | webhook CPU µs per admission | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const v of r.variants) {
    const extra = v.name === 'no webhook' ? '' : `${ms(added(r, v.name, 'p50'))} / ${ms(added(r, v.name, 'p90'))} / ${ms(added(r, v.name, 'p99'))}`;
    add(`| ${v.name} | ${ms(v.p50)} | ${ms(v.p90)} | ${ms(v.p99)} | ${ms(v.mean)} | ${ms(v.max)} | ${extra} | ${v.webhookCpuUs === undefined ? '' : fmt(v.webhookCpuUs)} | ${v.errors} |`);
  }
  add(
    '',
    `kube-apiserver opened ${fmt(r.connectionsPerAdmission, 3)} TLS connections per admission to the minimal webhooks (keep-alive: ${r.connectionsPerAdmission < 0.05 ? 'connections are reused' : 'connections are NOT reused: every admission pays a handshake'}). Other processes (not the cluster, not the webhooks, not the benchmark) used at most ${fmt(r.interference, 2)} cores meanwhile (${r.forks} processes started).`,
  );
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const { makeCertificates } = await import('./lib.js');
  const { startCluster } = await import('./cluster.js');
  const quick = process.argv.includes('--quick');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-apiserver-'));
  const cluster = await startCluster((line) => log(line));
  try {
    const certs = await makeCertificates(dir);
    const result = await throughApiServer(cluster, certs, dir, { rounds: quick ? 100 : 500, warmupRounds: quick ? 20 : 50 });
    process.stdout.write(renderApiServer(result));
    for (const t of apiServerTargets(result)) process.stdout.write(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured}\n`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
