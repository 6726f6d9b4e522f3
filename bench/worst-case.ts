// The "worst case" section (issue 11): each adversarial shape of shapes.ts at kube-apiserver's
// 3 MiB request limit, sent back-to-back by one client ("alone") and by four at once, while small
// admissions (the 8 KB pod) arrive at a fixed 50 req/s (open loop, latency from the intended send
// time) and kubelet's probe is played by a `GET /healthz` on a fresh TLS connection every 250 ms.
// Reports, per shape: the webhook's answer, the heavy requests' latency and server CPU, and what
// the small admissions and /healthz saw meanwhile; then the peak RSS of the process after all of it.
//
//   node .bench/bench/worst-case.js [--quick] [shape name ...]   (also run by run.js)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { sizeOf } from './fixtures.js';
import {
  benchScript,
  cpuMicros,
  fmt,
  healthz,
  HOST,
  log,
  makeCertificates,
  manifestMemoryLimitMiB,
  memory,
  median,
  percentile,
  sleep,
  sortedCopy,
  startServer,
  withInterference,
  type Certificates,
  type RunningServer,
  type Target,
} from './lib.js';
import { openLoop } from './open-loop.js';
import { MiB, SHAPES, type Shape } from './shapes.js';

const MUTATE_PATH = '/mutate?timeout=10s';
export const SMALL_RATE = 50;
/** Like kube-apiserver, which opens another connection when its open ones are busy: a small admission never waits for a connection. */
const SMALL_CONNECTIONS = 16;
const HEALTH_EVERY_MS = 250;

export interface WorstCaseParams {
  /** Seconds each run lasts (alone, then 4 in parallel). */
  readonly seconds: number;
  readonly shapes?: readonly string[];
}

export interface HeavyAnswer {
  readonly status: number;
  /** `patched (12 ops)`, `denied: …`, `skipped`, `429 busy`, … */
  readonly summary: string;
  readonly answerBytes: number;
}

export interface LoadRun {
  readonly parallel: number;
  readonly heavy: { readonly count: number; readonly p50: number; readonly p90: number; readonly max: number; readonly busy: number; readonly errors: number; readonly statuses: Record<string, number> };
  /** Server CPU per heavy request (ms), the small admissions' share taken out. */
  readonly cpuMsPerHeavy: number;
  /** Latencies in ms. */
  readonly small: { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number; readonly sendLagP99: number; readonly errors: number; readonly non2xx: number };
  readonly health: { readonly count: number; readonly p50: number; readonly max: number; readonly failures: number };
  readonly interference: number;
  readonly forks: number;
}

export interface ShapeResult {
  readonly name: string;
  readonly what: string;
  readonly expected: string;
  readonly bytes: number;
  readonly answer: HeavyAnswer;
  readonly alone: LoadRun;
  readonly parallel: LoadRun;
}

export interface WorstCaseResult {
  readonly seconds: number;
  /** Small admissions alone, as the reference. */
  readonly reference: LoadRun;
  readonly shapes: readonly ShapeResult[];
  readonly peakRssMiB: number;
  readonly memoryLimitMiB: number;
  readonly alive: boolean;
  readonly restarts: number;
}

const agentFor = (certs: Certificates) => new https.Agent({ keepAlive: true, maxSockets: 8, ca: certs.ca, servername: 'localhost' });

/** One POST; resolves with the status, the answer, and the ms from the request to the last byte of the answer. */
function post(agent: https.Agent, port: number, body: Buffer): Promise<{ status: number; text: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = https.request(
      { host: HOST, port, path: MUTATE_PATH, method: 'POST', agent, servername: 'localhost', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - started) / 1e6 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** What an answer says, in a few words. */
export function summarise(status: number, text: string): string {
  if (status !== 200) {
    try {
      const error = JSON.parse(text) as { error?: string };
      return `HTTP ${status}: ${(error.error ?? '').slice(0, 90)}`;
    } catch {
      return `HTTP ${status}`;
    }
  }
  try {
    const response = (JSON.parse(text) as { response?: { allowed?: boolean; patch?: string; status?: { message?: string }; warnings?: string[] } }).response ?? {};
    if (response.allowed === false) return `denied: ${(response.status?.message ?? '').replace(/^probe-injector: /, '').slice(0, 110)}`;
    if (response.patch) {
      const operations = (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as unknown[]).length;
      return `patched (${operations} ops)${response.warnings?.length ? `, ${response.warnings.length} warnings` : ''}`;
    }
    return `allowed, no patch${response.warnings?.length ? `, ${response.warnings.length} warnings` : ''}`;
  } catch {
    return 'unreadable answer';
  }
}

/** The heavy clients (heavy-client.ts) in a child process, stopped with SIGTERM; their results. */
function startHeavy(port: number, certs: Certificates, bodyFile: string, parallel: number): { stop(): Promise<{ latencies: number[]; statuses: Record<string, number>; errors: number; busy: number }> } {
  const child = spawn(process.execPath, [benchScript('heavy-client'), '--port', String(port), '--ca-file', certs.caFile, '--body-file', bodyFile, '--parallel', String(parallel)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await closed;
      return JSON.parse(out) as { latencies: number[]; statuses: Record<string, number>; errors: number; busy: number };
    },
  };
}

/** `parallel` clients sending the body in `bodyFile` back-to-back, small admissions at SMALL_RATE and /healthz polls, for `seconds`. */
async function loadRun(server: RunningServer, certs: Certificates, bodyFile: string | undefined, parallel: number, seconds: number, smallCpuUsPerSecond: number): Promise<LoadRun> {
  const small = sizeOf('8 KB');
  const stop = new AbortController();
  const health: number[] = [];
  let healthFailures = 0;
  const healthPoller = async () => {
    while (!stop.signal.aborted) {
      const next = sleep(HEALTH_EVERY_MS);
      try {
        const answer = await healthz(server.port, certs.ca, '/healthz', 5000);
        if (answer.status === 200) health.push(answer.ms);
        else healthFailures++;
      } catch {
        healthFailures++;
      }
      await next;
    }
  };

  const cpu0 = cpuMicros(server.pid);
  const t0 = process.hrtime.bigint();
  const { result, interference, forks } = await withInterference(server.pid, async () => {
    const heavy = bodyFile && parallel > 0 ? startHeavy(server.port, certs, bodyFile, parallel) : undefined;
    const poller = healthPoller();
    const smallResult = await openLoop({ host: HOST, port: server.port, ca: certs.ca, body: small.body, rate: SMALL_RATE, durationMs: seconds * 1000, warmupMs: 0, connections: SMALL_CONNECTIONS, path: MUTATE_PATH, timeoutMs: 20_000 });
    stop.abort();
    const heavyResult = await heavy?.stop();
    await poller;
    return { small: smallResult, heavy: heavyResult };
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuUs = cpuMicros(server.pid) - cpu0;
  const heavy = result.heavy ?? { latencies: [], statuses: {}, errors: 0, busy: 0 };
  const heavySorted = sortedCopy(heavy.latencies);
  const smallSorted = sortedCopy(result.small.latencies);
  const healthSorted = sortedCopy(health);
  return {
    parallel,
    heavy: { count: heavy.latencies.length, p50: percentile(heavySorted, 50), p90: percentile(heavySorted, 90), max: percentile(heavySorted, 100), busy: heavy.busy, errors: heavy.errors, statuses: heavy.statuses },
    cpuMsPerHeavy: heavy.latencies.length > 0 ? (cpuUs - smallCpuUsPerSecond * wallS) / 1000 / heavy.latencies.length : NaN,
    small: {
      count: result.small.latencies.length,
      p50: percentile(smallSorted, 50) / 1000,
      p99: percentile(smallSorted, 99) / 1000,
      max: percentile(smallSorted, 100) / 1000,
      sendLagP99: percentile(sortedCopy(result.small.sendLag), 99) / 1000,
      errors: result.small.errors,
      non2xx: result.small.non2xx,
    },
    health: { count: health.length, p50: percentile(healthSorted, 50), max: percentile(healthSorted, 100), failures: healthFailures },
    interference,
    forks,
  };
}

export async function worstCase(certs: Certificates, params: WorstCaseParams): Promise<WorstCaseResult> {
  const chosen = params.shapes?.length ? SHAPES.filter((shape) => params.shapes?.includes(shape.name)) : SHAPES;
  let server = await startServer('webhook', certs);
  let restarts = 0;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-worst-'));
  try {
    // Warm the JIT on small admissions, then the reference: small admissions alone.
    log('worst case: reference (small admissions alone)');
    await loadRun(server, certs, undefined, 0, 2, 0);
    const cpu0 = cpuMicros(server.pid);
    const t0 = process.hrtime.bigint();
    const reference = await loadRun(server, certs, undefined, 0, params.seconds, 0);
    const smallCpuUsPerSecond = (cpuMicros(server.pid) - cpu0) / (Number(process.hrtime.bigint() - t0) / 1e9);

    const shapes: ShapeResult[] = [];
    for (const shape of chosen) {
      if (!server.alive()) {
        log(`worst case: the webhook died (${server.stderr().slice(-300)}); starting it again`);
        restarts++;
        server = await startServer('webhook', certs);
      }
      shapes.push(await measureShape(server, certs, shape, params.seconds, smallCpuUsPerSecond, workDir));
    }
    const alive = server.alive() && (await healthz(server.port, certs.ca).then((a) => a.status === 200).catch(() => false));
    const peakRssMiB = alive ? memory(server.pid).peakRssMiB : NaN;
    return { seconds: params.seconds, reference, shapes, peakRssMiB, memoryLimitMiB: manifestMemoryLimitMiB(), alive, restarts };
  } finally {
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function measureShape(server: RunningServer, certs: Certificates, shape: Shape, seconds: number, smallCpuUsPerSecond: number, workDir: string): Promise<ShapeResult> {
  const text = shape.build();
  const body = Buffer.from(text);
  const bodyFile = path.join(workDir, 'shape.json');
  writeFileSync(bodyFile, body);
  log(`worst case: ${shape.name} (${(body.length / MiB).toFixed(2)} MiB)`);
  const agent = agentFor(certs);
  const first = await post(agent, server.port, body);
  agent.destroy();
  const answer: HeavyAnswer = { status: first.status, summary: summarise(first.status, first.text), answerBytes: Buffer.byteLength(first.text) };
  log(`worst case: ${shape.name}: ${answer.summary} (${fmt(first.ms, 1)} ms)`);
  const alone = await loadRun(server, certs, bodyFile, 1, seconds, smallCpuUsPerSecond);
  const parallel = await loadRun(server, certs, bodyFile, 4, seconds, smallCpuUsPerSecond);
  return { name: shape.name, what: shape.what, expected: shape.expected, bytes: body.length, answer, alone, parallel };
}

export function worstCaseTargets(r: WorstCaseResult): Target[] {
  const worstAlone = r.shapes.reduce<ShapeResult | undefined>((worst, s) => (!worst || s.alone.heavy.p50 > worst.alone.heavy.p50 ? s : worst), undefined);
  const worstSmall = r.shapes.reduce<ShapeResult | undefined>((worst, s) => (!worst || s.parallel.small.p99 > worst.parallel.small.p99 ? s : worst), undefined);
  const runs = r.shapes.flatMap((s) => [s.alone, s.parallel]);
  const worstHealth = Math.max(...runs.map((run) => run.health.max));
  const healthFailures = runs.reduce((n, run) => n + run.health.failures, 0);
  return [
    {
      name: 'worst 3 MiB request alone ≤ 100 ms (median latency of the slowest shape)',
      measured: worstAlone ? `${fmt(worstAlone.alone.heavy.p50, 1)} ms (${worstAlone.name}; max ${fmt(worstAlone.alone.heavy.max, 1)} ms)` : 'n/a',
      pass: worstAlone !== undefined && worstAlone.alone.heavy.p50 <= 100,
    },
    {
      name: `4 heavy in parallel: small admissions' p99 < 1 s (every shape, ${SMALL_RATE} req/s)`,
      measured: worstSmall ? `worst ${fmt(worstSmall.parallel.small.p99)} ms (${worstSmall.name})` : 'n/a',
      pass: worstSmall !== undefined && worstSmall.parallel.small.p99 < 1000,
    },
    {
      name: '/healthz answers within 1 s during every run',
      measured: `max ${fmt(worstHealth, 1)} ms, ${healthFailures} failed`,
      pass: worstHealth < 1000 && healthFailures === 0,
    },
    {
      name: "peak RSS under the Deployment's memory limit, the webhook alive at the end",
      measured: `${fmt(r.peakRssMiB, 1)} MiB of ${r.memoryLimitMiB} MiB; ${r.alive ? 'alive' : 'DEAD'}${r.restarts ? `, ${r.restarts} restarts` : ''}`,
      pass: r.alive && r.restarts === 0 && r.peakRssMiB < r.memoryLimitMiB,
    },
  ];
}

export function renderWorstCase(r: WorstCaseResult): string {
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  const ms = (v: number) => fmt(v, v < 10 ? 1 : 0);
  add(
    `Each shape (bench/shapes.ts) at kube-apiserver's 3 MiB request limit, sent back-to-back for ${r.seconds} s by one client ("alone") and then by four at once (bench/heavy-client.ts, in a process of its own), while the 8 KB admission arrives at a fixed ${SMALL_RATE} req/s (open loop on ${SMALL_CONNECTIONS} keep-alive connections, so none waits for a connection, as kube-apiserver opens more when its connections are busy; latency from the intended send time; the generator's own send lag is shown) and \`GET /healthz\` is polled on a fresh TLS connection every ${HEALTH_EVERY_MS} ms (as kubelet's probe connects). One webhook process serves the whole section. Heavy latency: request start → last byte of the answer, client side (the client's own TLS work on 3 MiB is in it). CPU per heavy request: the server's utime+stime over the run, minus what the small admissions cost alone (${fmt(r.reference.small.count / r.seconds)} req/s, measured first), divided by the heavy requests answered. A 429 is the body budget refusing (kube-apiserver retries after \`Retry-After\`).`,
    '',
    `Small admissions alone (reference): p50 ${ms(r.reference.small.p50)} ms, p99 ${ms(r.reference.small.p99)} ms, max ${ms(r.reference.small.max)} ms; /healthz p50 ${ms(r.reference.health.p50)} ms, max ${ms(r.reference.health.max)} ms.`,
    '',
    '| shape | body MiB | the webhook\'s answer | answer bytes | alone: heavy p50 / max ms | alone: server CPU ms per heavy | alone: small p99 ms | 4 parallel: heavy p50 / max ms (429s) | 4 parallel: server CPU ms per heavy | 4 parallel: small p50 / p99 / max ms | 4 parallel: generator send lag p99 ms | /healthz max ms (alone; 4 parallel) | other processes (max, cores) |',
    '|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const s of r.shapes) {
    const a = s.alone;
    const p = s.parallel;
    add(
      `| ${s.name} | ${fmt(s.bytes / MiB, 2)} | ${s.answer.summary.replace(/\|/g, '\\|')} | ${s.answer.answerBytes} | ${ms(a.heavy.p50)} / ${ms(a.heavy.max)} | ${fmt(a.cpuMsPerHeavy, 1)} | ${ms(a.small.p99)} | ${ms(p.heavy.p50)} / ${ms(p.heavy.max)}${p.heavy.busy ? ` (${p.heavy.busy})` : ''} | ${fmt(p.cpuMsPerHeavy, 1)} | ${ms(p.small.p50)} / ${ms(p.small.p99)} / ${ms(p.small.max)} | ${fmt(p.small.sendLagP99, 2)} | ${ms(a.health.max)}; ${ms(p.health.max)}${a.health.failures + p.health.failures ? ` (${a.health.failures + p.health.failures} failed)` : ''} | ${fmt(Math.max(a.interference, p.interference), 2)} |`,
    );
  }
  add('', 'What each shape is, and what the bounds should make of it:', '');
  for (const s of r.shapes) add(`- **${s.name}**: ${s.what}. Expected: ${s.expected}.`);
  const heavyCounts = r.shapes.map((s) => s.alone.heavy.count + s.parallel.heavy.count);
  add(
    '',
    `Peak RSS of the webhook after the whole section (VmHWM): **${fmt(r.peakRssMiB, 1)} MiB** (the Deployment's limit: ${r.memoryLimitMiB} MiB); ${heavyCounts.reduce((a, b) => a + b, 0)} heavy requests in all (median ${fmt(median(heavyCounts))} per shape).${r.restarts ? ` **The webhook died ${r.restarts} time(s) and was restarted.**` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const names = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-worst-'));
  try {
    const certs = await makeCertificates(dir);
    const result = await worstCase(certs, { seconds: quick ? 2 : 5, shapes: names });
    process.stdout.write(renderWorstCase(result));
    for (const t of worstCaseTargets(result)) process.stdout.write(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
