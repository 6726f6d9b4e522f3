// Benchmark of the Nacos gate controller (SPEC §8) on a real kube-apiserver: 5 000 gated pods
// across 500 Nacos services, created by this script; the built controller (`dist/cli.js
// controller`, as a user runs it) against the Nacos test server. This script plays the kubelet
// (it writes `status.podIPs` and `ContainersReady` through `pods/status`) and the applications
// (each registers its instance in Nacos just before it turns ready, as Spring Cloud does), then
// measures, from its own watch of the pods:
//   - the time from each pod's ContainersReady write to its gate seen True (p50, p90, p99, max);
//   - Nacos instance-list requests per second against the bound "services waiting ÷ pollSeconds";
//   - the controller's CPU time and peak RSS (from /proc) while it works, and idle.
// Prints a markdown table (and writes it as JSON with --json FILE). Not a test: nothing is asserted
// beyond the bound on Nacos calls, which is reported as held or not.
//
//   npm run build && npx tsc -p tsconfig.bench.json && node .bench/bench/controller.js [--pods N] [--services N] [--rate PODS_PER_S] [--json FILE]
//   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" …   profiles the controller
//
// It starts its own throw-away cluster with test/e2e/cluster.sh (binaries from test/e2e/provision.sh)
// and stops it at the end; E2E_BIN_DIR / KUBEBUILDER_ASSETS are honoured as by the e2e suite.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceInput } from '../test/support/nacos-server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = (() => {
  for (let dir = HERE; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'probe-injector') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no probe-injector package.json above ${HERE}`);
  }
})();
const CLI = path.join(ROOT, 'dist', 'cli.js');
const GATE = 'nacos.io/registered';
const LABEL = 'probe-injector.io/nacos-gate';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const PODS = flag('--pods', 5000);
const SERVICES = flag('--services', 500);
const NAMESPACES = Math.max(1, Math.min(10, Math.ceil(PODS / 500)));
const POLL_SECONDS = 2;
/** Pods turned ready per second (0: as fast as 16 status patches at once go). */
const RATE = flag('--rate', 0);
const JSON_FILE = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);

// ------------------------------------------------------------------------------------ the cluster
interface Cluster {
  readonly env: Record<string, string>;
  stop(): void;
}

function startCluster(): Cluster {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-controller-'));
  const env = { ...process.env, E2E_RUN_DIR: runDir } as Record<string, string>;
  if (!env.E2E_BIN_DIR && !env.KUBEBUILDER_ASSETS) {
    const out = execFileSync(path.join(ROOT, 'test/e2e/provision.sh'), { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
    if (!out.startsWith('BIN_DIR=')) throw new Error('provision.sh did not print BIN_DIR=...');
    env.E2E_BIN_DIR = out.slice('BIN_DIR='.length);
  }
  const lines = execFileSync(path.join(ROOT, 'test/e2e/cluster.sh'), ['start'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of lines.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return {
    env,
    stop() {
      try {
        execFileSync(path.join(ROOT, 'test/e2e/cluster.sh'), ['stop'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      } finally {
        rmSync(runDir, { recursive: true, force: true });
      }
    },
  };
}

// ------------------------------------------------------------------------------------ Nacos
/** The Nacos test server, in its own process (bench/controller-nacos.ts). */
interface Nacos {
  readonly url: string;
  register(instance: InstanceInput): void;
  /** Instance-list requests received so far: which service, when (the server's Date.now). */
  listRequests(): Promise<{ service: string; at: number }[]>;
  stop(): Promise<void>;
}

async function startNacos(): Promise<Nacos> {
  const child = fork(path.join(HERE, 'controller-nacos.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { kind: string; url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`the Nacos test server exited (${code})`)));
  });
  let id = 0;
  let batch: InstanceInput[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    child.send({ kind: 'register', instances: batch });
    batch = [];
  };
  return {
    url,
    register(instance) {
      batch.push(instance);
      if (batch.length === 1) queueMicrotask(flush);
    },
    listRequests() {
      flush();
      const wanted = ++id;
      return new Promise((resolve) => {
        const onMessage = (message: { kind: string; id: number; requests: { service: string; at: number }[] }) => {
          if (message.kind !== 'requests' || message.id !== wanted) return;
          child.off('message', onMessage);
          resolve(message.requests);
        };
        child.on('message', onMessage);
        child.send({ kind: 'requests', id: wanted });
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ kind: 'stop' });
      }),
  };
}

// ------------------------------------------------------------------------------------ API client
interface Api {
  call(method: string, pathName: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  watch(pathName: string, onEvent: (type: string, object: any) => void): () => void;
}

function apiClient(env: Record<string, string>): Api {
  const pki = path.join(env.E2E_RUN_DIR!, 'pki');
  const base = new URL(env.E2E_APISERVER_URL!);
  const tlsOptions = { ca: readFileSync(path.join(pki, 'ca.crt')), cert: readFileSync(path.join(pki, 'admin.crt')), key: readFileSync(path.join(pki, 'admin.key')) };
  const agent = new https.Agent({ ...tlsOptions, keepAlive: true, maxSockets: 32 });
  return {
    call: (method, pathName, body, contentType = 'application/json') =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(new URL(pathName, base), { method, agent, headers: { Accept: 'application/json', ...(payload && { 'Content-Type': contentType }) } }, (res) => {
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
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      }),
    watch(pathName, onEvent) {
      const req = https.request(new URL(pathName, base), { ...tlsOptions, method: 'GET', headers: { Accept: 'application/json' } }, (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() === '') continue;
            const event = JSON.parse(line) as { type: string; object: any };
            onEvent(event.type, event.object);
          }
        });
      });
      req.on('error', () => {});
      req.end();
      return () => req.destroy();
    },
  };
}

async function ok<T = any>(answer: Promise<{ status: number; body: any }>, what: string): Promise<T> {
  const { status, body } = await answer;
  if (status >= 300) throw new Error(`${what}: HTTP ${status}: ${typeof body === 'object' ? body.message : body}`);
  return body as T;
}

/** Runs `work` over `items` with `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

// ------------------------------------------------------------------------------------ /proc
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime
}
function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

// ------------------------------------------------------------------------------------ the run
const nsName = (i: number) => `bench-${i}`;
const serviceOf = (i: number) => `svc-${String(i % SERVICES).padStart(3, '0')}`;
const ipOf = (i: number) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const podName = (i: number) => `pod-${String(i).padStart(5, '0')}`;
const podNamespace = (i: number) => nsName(i % NAMESPACES);

function gatedPod(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(i),
      labels: { app: serviceOf(i), [LABEL]: 'true' },
      annotations: { 'probe-injector.io/inject': 'true' },
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 } } }],
      readinessGates: [{ conditionType: GATE }],
    },
  };
}

function startController(env: Record<string, string>, nacos: Nacos, dir: string): { child: ChildProcess; lines: any[]; ready: Promise<number> } {
  const config = path.join(dir, 'controller.yaml');
  writeFileSync(config, `nacos:\n  server:\n    addresses: ["${nacos.url}"]\n    timeoutSeconds: 3\n  gate:\n    pollSeconds: ${POLL_SECONDS}\n`);
  // BENCH_NODE_ARGS: Node flags for the controller, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'controller', '--kubeconfig', env.KUBECONFIG!, '--config', config, '--port', '0', '--host', '127.0.0.1', '--identity', 'bench', '--lease-namespace', nsName(0)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: any[] = [];
  let buffer = '';
  let resolvePort!: (port: number) => void;
  const ready = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        const line = JSON.parse(text);
        lines.push(line);
        if (line.msg === 'probe-injector controller started') resolvePort(line.port);
      } catch {
        // not a log line
      }
    }
  });
  return { child, lines, ready };
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-'));
  const t0 = Date.now();
  say(`starting a cluster (${PODS} pods, ${SERVICES} services, ${NAMESPACES} namespaces, pollSeconds ${POLL_SECONDS})`);
  const cluster = startCluster();
  const nacos = await startNacos();
  let controller: ReturnType<typeof startController> | undefined;
  let stopWatch: (() => void) | undefined;
  try {
    const api = apiClient(cluster.env);
    for (let n = 0; n < NAMESPACES; n++) await ok(api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName(n) } }), 'create namespace');
    for (let n = 0; n < NAMESPACES && cluster.env.E2E_CONTROLLER_MANAGER !== 'no'; n++) {
      for (let tries = 0; ; tries++) {
        const sa = await api.call('GET', `/api/v1/namespaces/${nsName(n)}/serviceaccounts/default`);
        if (sa.status === 200 && (sa.body.secrets ?? []).length > 0) break;
        if (tries > 300) throw new Error(`no default ServiceAccount token in ${nsName(n)}`);
        await sleep(100);
      }
    }
    const creating = Date.now();
    const uids: string[] = [];
    const rvs: string[] = [];
    await pool(
      Array.from({ length: PODS }, (_, i) => i),
      16,
      async (i) => {
        const created = await ok(api.call('POST', `/api/v1/namespaces/${podNamespace(i)}/pods`, gatedPod(i)), `create ${podName(i)}`);
        uids[i] = created.metadata.uid;
        rvs[i] = created.metadata.resourceVersion;
      },
    );
    const createSeconds = (Date.now() - creating) / 1000;
    say(`created ${PODS} pods in ${fmt(createSeconds, 1)} s`);

    // The bench's own watch: when each pod's gate is seen True.
    const gateSeenAt = new Map<string, number>();
    const list = await ok(api.call('GET', `/api/v1/pods?labelSelector=${encodeURIComponent(`${LABEL}=true`)}&limit=1`), 'list pods');
    stopWatch = api.watch(`/api/v1/pods?watch=true&labelSelector=${encodeURIComponent(`${LABEL}=true`)}&resourceVersion=${list.metadata.resourceVersion}`, (type, pod) => {
      if (type !== 'MODIFIED' && type !== 'ADDED') return;
      const gate = (pod.status?.conditions ?? []).find((c: any) => c.type === GATE);
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (gate?.status === 'True' && !gateSeenAt.has(key)) gateSeenAt.set(key, Date.now());
    });

    controller = startController(cluster.env, nacos, dir);
    const port = await Promise.race([controller.ready, sleep(30_000).then(() => Promise.reject(new Error('the controller did not start')))]);
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (let tries = 0; (await fetch(`http://127.0.0.1:${port}/readyz`)).status !== 200; tries++) {
      if (tries > 300) throw new Error('the controller did not sync');
      await sleep(100);
    }
    while (!/^probe_injector_leader 1$/m.test(await metrics())) await sleep(100);
    const pid = controller.child.pid!;
    await sleep(3000);
    const idleCpu0 = cpuSeconds(pid);
    await sleep(5000);
    const idleCpuPerSecond = (cpuSeconds(pid) - idleCpu0) / 5;
    const memoryBefore = memoryMiB(pid);
    say(`controller synced with ${PODS} pods waiting for ContainersReady; idle CPU ${fmt(idleCpuPerSecond * 100, 1)} %, RSS ${fmt(memoryBefore.rss, 0)} MiB`);

    const readyAt = new Map<string, number>();
    const patchLatencies: number[] = [];
    const callsBefore = (await nacos.listRequests()).length;

    // The kubelet and the apps: each pod's instance registers, then the pod turns ready.
    const cpu0 = cpuSeconds(pid);
    const wave = Date.now();
    await pool(
      Array.from({ length: PODS }, (_, i) => i),
      16,
      async (i) => {
        if (RATE > 0) await sleep(wave + (i / RATE) * 1000 - Date.now());
        nacos.register({ service: serviceOf(i), ip: ipOf(i), port: 8080, ephemeral: false });
        const sent = Date.now();
        const time = new Date(Math.floor(sent / 1000) * 1000).toISOString().replace('.000Z', 'Z');
        await ok(
          api.call(
            'PATCH',
            `/api/v1/namespaces/${podNamespace(i)}/pods/${podName(i)}/status`,
            {
              status: {
                phase: 'Running',
                podIP: ipOf(i),
                podIPs: [{ ip: ipOf(i) }],
                conditions: [
                  { type: 'Initialized', status: 'True', lastTransitionTime: time },
                  { type: 'ContainersReady', status: 'True', lastTransitionTime: time },
                  { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', lastTransitionTime: time },
                ],
              },
            },
            'application/strategic-merge-patch+json',
          ),
          `ready ${podName(i)}`,
        );
        readyAt.set(`${podNamespace(i)}/${podName(i)}`, sent);
        patchLatencies.push((Date.now() - sent) / 1000);
      },
    );
    const waveSeconds = (Date.now() - wave) / 1000;
    say(`${PODS} pods turned ready in ${fmt(waveSeconds, 1)} s; waiting for their gates`);
    for (let tries = 0; gateSeenAt.size < PODS; tries++) {
      if (tries > 1200) throw new Error(`only ${gateSeenAt.size} of ${PODS} gates set after 2 minutes`);
      await sleep(100);
    }
    const doneAt = Math.max(...gateSeenAt.values());
    const workSeconds = (doneAt - wave) / 1000;
    const workCpu = cpuSeconds(pid) - cpu0;
    await sleep(1500);
    const memoryAfter = memoryMiB(pid);
    const text = await metrics();
    const sample = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

    const changes = controller.lines.filter((line) => line.msg === 'gate changed' && line.status === 'True');
    const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
    const latencies = [...readyAt].map(([key, at]) => (gateSeenAt.get(key)! - at) / 1000).sort((a, b) => a - b);
    // The bound of SPEC §8 — at most one instance-list call per service per pollSeconds, only while
    // it has pods waiting — checked on what the Nacos server received: the shortest gap between two
    // calls for one service, and all calls against Σ over services (time it had pods waiting ÷
    // pollSeconds + 1, for the call that opens its first period).
    const callTimes = new Map<string, number[]>();
    for (const request of (await nacos.listRequests()).slice(callsBefore)) callTimes.set(request.service, [...(callTimes.get(request.service) ?? []), request.at]);
    const calls = [...callTimes.values()].reduce((sum, times) => sum + times.length, 0);
    let minGap = Number.POSITIVE_INFINITY;
    let gaps = 0;
    let shortGaps = 0;
    for (const times of callTimes.values()) {
      for (let k = 1; k < times.length; k++) {
        const gap = (times[k]! - times[k - 1]!) / 1000;
        minGap = Math.min(minGap, gap);
        gaps++;
        if (gap < 0.9 * POLL_SECONDS) shortGaps++;
      }
    }
    const spans = new Map<string, { from: number; to: number }>();
    for (const [key, at] of readyAt) {
      const service = serviceOf(Number(key.slice(key.lastIndexOf('-') + 1)));
      const span = spans.get(service) ?? { from: at, to: at };
      span.from = Math.min(span.from, at);
      span.to = Math.max(span.to, gateSeenAt.get(key) ?? at);
      spans.set(service, span);
    }
    const bound = [...spans.values()].reduce((sum, span) => sum + (span.to - span.from) / 1000 / POLL_SECONDS + 1, 0);
    const waitSum = sample('probe_injector_gate_wait_seconds_sum{reason="NacosRegistered"}');
    const waitCount = sample('probe_injector_gate_wait_seconds_count{reason="NacosRegistered"}');

    const rows: [string, string][] = [
      ['pods / Nacos services / namespaces', `${PODS} / ${SERVICES} / ${NAMESPACES}`],
      ['pollSeconds', String(POLL_SECONDS)],
      ['pods created (16 at once)', `${fmt(createSeconds, 1)} s (${fmt(PODS / createSeconds, 0)} pods/s)`],
      [`pods turned ready by the bench (16 status patches at once${RATE > 0 ? `, paced at ${RATE}/s` : ''})`, `${fmt(waveSeconds, 1)} s (${fmt(PODS / waveSeconds, 0)} pods/s)`],
      ['ContainersReady → gate True, p50', `${fmt(percentile(latencies, 50))} s`],
      ['p90', `${fmt(percentile(latencies, 90))} s`],
      ['p99', `${fmt(percentile(latencies, 99))} s`],
      ['max', `${fmt(latencies[latencies.length - 1] ?? Number.NaN)} s`],
      ['controller histogram (ContainersReady time, whole seconds) mean', `${fmt(waitSum / waitCount)} s over ${waitCount} pods`],
      ['of which, median: age of the Nacos answer decided on / the status write', `${fmt(median(changes.map((l) => l.answerAgeSeconds)))} s / ${fmt(median(changes.map((l) => l.writeSeconds)))} s`],
      ["the bench's own status patch (the API server's latency), p50 / p99", `${fmt(percentile(patchLatencies.sort((a, b) => a - b), 50))} s / ${fmt(percentile(patchLatencies, 99))} s`],
      ['first ready → last gate', `${fmt(workSeconds, 1)} s`],
      ['Nacos instance-list requests', `${calls} in ${fmt(workSeconds, 1)} s = ${fmt(calls / workSeconds, 1)}/s (${SERVICES} services ÷ ${POLL_SECONDS} s = ${fmt(SERVICES / POLL_SECONDS, 0)}/s with all waiting)`],
      ['bound: Σ per service (time with pods waiting ÷ pollSeconds + 1)', `${fmt(bound, 0)} → ${calls <= bound ? 'held' : 'EXCEEDED'}`],
      ['list calls (controller) / HTTP requests by outcome (client)', `${sample('probe_injector_gate_nacos_lists_total{outcome="success"}') + sample('probe_injector_gate_nacos_lists_total{outcome="error"}')} / ${['success', 'error', 'timeout', 'unauthorized', 'malformed'].map((o) => `${o} ${sample(`probe_injector_nacos_requests_total{outcome="${o}"}`)}`).join(', ')}`],
      ['gaps between two calls for one service, as the server received them: shortest / under 0.9 × pollSeconds', `${fmt(minGap, 3)} s / ${shortGaps} of ${gaps} (the controller spaces the starts ≥ pollSeconds by its own clock; arrival times add transport jitter)`],
      ['status writes (success / conflict / error)', `${sample('probe_injector_gate_status_writes_total{result="success"}')} / ${sample('probe_injector_gate_status_writes_total{result="conflict"}')} / ${sample('probe_injector_gate_status_writes_total{result="error"}')}`],
      ['controller CPU while working', `${fmt(workCpu, 2)} s CPU in ${fmt(workSeconds, 1)} s (${fmt((workCpu / workSeconds) * 100, 0)} % of a core; ${fmt((workCpu / PODS) * 1000, 2)} ms per pod)`],
      ['controller CPU idle (5 000 pods cached, none waiting)', `${fmt(idleCpuPerSecond * 100, 1)} % of a core`],
      ['controller RSS after sync / peak', `${fmt(memoryBefore.rss, 0)} MiB / ${fmt(memoryAfter.peak, 0)} MiB`],
      ['machine', `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`],
    ];
    const table = ['| Nacos gate controller | measured |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${value} |`)].join('\n');
    process.stdout.write(`\n${table}\n\n`);
    if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify({ rows: Object.fromEntries(rows), latencies: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99) } }, null, 2));
    say(`done in ${fmt((Date.now() - t0) / 1000, 0)} s`);
  } finally {
    stopWatch?.();
    if (controller && controller.child.exitCode === null) {
      controller.child.kill('SIGTERM');
      await new Promise((resolve) => controller!.child.once('exit', resolve));
    }
    await nacos.stop();
    cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
