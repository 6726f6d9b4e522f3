// The webhook against the bare baseline, same run, same certificate, driven alternately (A B, then
// B A, …): throughput and latency at saturation (autocannon), latency at a fixed rate (open loop),
// the ablation runs (one part of the webhook made free at a time), the in-server timings, and the
// cold start.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { ablationArgs, type AblationPart } from './ablation-hooks.js';
import type { Size } from './fixtures.js';
import { cpuMicros, HOST, log, median, percentile, ratio, sortedCopy, startServer, withInterference, type Certificates, type RunningServer } from './lib.js';
import { openLoop } from './open-loop.js';

export const CONNECTIONS = 16;
export const RATE = 500;
export const MUTATE_PATH = '/mutate?timeout=10s';

export interface Rounds {
  readonly warmupS: number;
  readonly saturationS: number;
  readonly rounds: number;
  readonly openS: number;
  readonly openRounds: number;
  readonly coldRuns: number;
  readonly importRuns: number;
  readonly ablationS: number;
}

export interface SaturationRun {
  readonly rps: number;
  /** ms, µs resolution. */
  readonly latencies: number[];
  readonly cpuPerRequest: number;
  readonly cpuUse: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly interference: number;
  readonly forks: number;
}

/** One autocannon run; latencies from its per-response hook (µs resolution). */
export async function saturate(server: RunningServer, body: string, seconds: number): Promise<SaturationRun> {
  const latencies: number[] = [];
  let ok = 0;
  let bad = 0;
  const cpu0 = cpuMicros(server.pid);
  const t0 = process.hrtime.bigint();
  const instance = autocannon({
    url: `https://${HOST}:${server.port}${MUTATE_PATH}`,
    servername: 'localhost',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
  instance.on('response', (_client, status, _bytes, responseTime) => {
    if (status >= 200 && status < 300) {
      ok++;
      latencies.push(responseTime);
    } else bad++;
  });
  const { result, interference, forks } = await withInterference(server.pid, () => instance);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = cpuMicros(server.pid) - cpu0;
  return { rps: ok / (wallUs / 1e6), latencies, cpuPerRequest: cpu / ok, cpuUse: cpu / wallUs, errors: result.errors + result.timeouts, non2xx: bad, interference, forks };
}

export interface SideSummary {
  readonly rps: number;
  readonly rpsRounds: number[];
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly cpuPerRequest: number;
  readonly cpuUse: number;
  readonly errors: number;
}

export interface SaturationResult {
  readonly label: string;
  readonly bytes: number;
  readonly webhook: SideSummary;
  readonly baseline: SideSummary;
  readonly roundRatios: number[];
  readonly ratio: number;
  readonly interference: number;
  readonly forks: number;
}

type Pair = { readonly webhook: RunningServer; readonly baseline: RunningServer };
const SIDES = ['webhook', 'baseline'] as const;
const orderOf = (round: number) => (round % 2 === 0 ? SIDES : ([...SIDES].reverse() as unknown as typeof SIDES));

export async function saturationBySize(pair: Pair, sizes: readonly Size[], p: Rounds): Promise<SaturationResult[]> {
  const results: SaturationResult[] = [];
  for (const size of sizes) {
    log(`saturation ${size.label}: warm-up`);
    for (const side of SIDES) await saturate(pair[side], size.body, p.warmupS);
    const runs: Record<(typeof SIDES)[number], SaturationRun[]> = { webhook: [], baseline: [] };
    for (let round = 0; round < p.rounds; round++) {
      for (const side of orderOf(round)) {
        log(`saturation ${size.label}: round ${round + 1}/${p.rounds} ${side}`);
        runs[side].push(await saturate(pair[side], size.body, p.saturationS));
      }
    }
    const summary = (list: SaturationRun[]): SideSummary => {
      const lat = sortedCopy(list.flatMap((r) => r.latencies));
      return {
        rps: median(list.map((r) => r.rps)),
        rpsRounds: list.map((r) => r.rps),
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        p999: percentile(lat, 99.9),
        cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
        cpuUse: median(list.map((r) => r.cpuUse)),
        errors: list.reduce((n, r) => n + r.errors + r.non2xx, 0),
      };
    };
    const all = [...runs.webhook, ...runs.baseline];
    const webhook = summary(runs.webhook);
    const baseline = summary(runs.baseline);
    results.push({
      label: size.label,
      bytes: size.bytes,
      webhook,
      baseline,
      roundRatios: runs.webhook.map((r, i) => ratio(r.rps, runs.baseline[i]?.rps ?? NaN)),
      ratio: ratio(webhook.rps, baseline.rps),
      interference: Math.max(...all.map((r) => r.interference)),
      forks: all.reduce((n, r) => n + r.forks, 0),
    });
  }
  return results;
}

export interface OpenSide {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly samples: number;
  readonly sendLagP99Us: number;
  readonly cpuPerRequest: number;
  readonly errors: number;
  readonly roundP99: number[];
}

export interface OpenLoopSummary {
  readonly label: string;
  readonly webhook: OpenSide;
  readonly baseline: OpenSide;
  readonly ratio: number;
  readonly interference: number;
  readonly forks: number;
}

export async function openLoopBySize(pair: Pair, sizes: readonly Size[], ca: string, p: Rounds): Promise<OpenLoopSummary[]> {
  const results: OpenLoopSummary[] = [];
  for (const size of sizes) {
    const runs: Record<(typeof SIDES)[number], { latencies: Float64Array; sendLag: Float64Array; cpuPerRequest: number; errors: number; interference: number; forks: number }[]> = { webhook: [], baseline: [] };
    for (let round = 0; round < p.openRounds; round++) {
      for (const side of orderOf(round)) {
        log(`open loop ${RATE} req/s ${size.label}: round ${round + 1}/${p.openRounds} ${side}`);
        const server = pair[side];
        let cpuStart = 0;
        const { result, interference, forks } = await withInterference(server.pid, () =>
          openLoop({
            host: HOST,
            port: server.port,
            ca,
            body: size.body,
            rate: RATE,
            durationMs: p.openS * 1000,
            warmupMs: 1000,
            connections: CONNECTIONS,
            path: MUTATE_PATH,
            onMeasureStart: () => (cpuStart = cpuMicros(server.pid)),
          }),
        );
        runs[side].push({ latencies: result.latencies, sendLag: result.sendLag, cpuPerRequest: (cpuMicros(server.pid) - cpuStart) / result.requests, errors: result.errors + result.non2xx, interference, forks });
      }
    }
    const summary = (list: (typeof runs)['webhook']): OpenSide => {
      const lat = sortedCopy(list.flatMap((r) => [...r.latencies]));
      const lag = sortedCopy(list.flatMap((r) => [...r.sendLag]));
      return {
        p50: percentile(lat, 50) / 1000,
        p99: percentile(lat, 99) / 1000,
        p999: percentile(lat, 99.9) / 1000,
        samples: lat.length,
        sendLagP99Us: percentile(lag, 99),
        cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
        errors: list.reduce((n, r) => n + r.errors, 0),
        roundP99: list.map((r) => percentile(sortedCopy(r.latencies), 99) / 1000),
      };
    };
    const all = [...runs.webhook, ...runs.baseline];
    const webhook = summary(runs.webhook);
    const baseline = summary(runs.baseline);
    results.push({
      label: size.label,
      webhook,
      baseline,
      ratio: ratio(webhook.p99, baseline.p99),
      interference: Math.max(...all.map((r) => r.interference)),
      forks: all.reduce((n, r) => n + r.forks, 0),
    });
  }
  return results;
}

export const ABLATIONS: readonly { readonly name: string; readonly what: string; readonly parts: readonly AblationPart[] | null }[] = [
  { name: 'full', what: 'the webhook as shipped', parts: null },
  { name: 'no log', what: 'pino replaced by a no-op logger', parts: ['log'] },
  { name: 'no metrics', what: 'dist/metrics.js replaced by no-op metrics', parts: ['metrics'] },
  { name: 'no core', what: 'admit() memoised: schema, annotations, plan, patch, base64 computed once', parts: ['core'] },
  { name: 'shell only', what: 'all three: what the HTTP shell itself costs', parts: ['log', 'metrics', 'core'] },
  { name: 'baseline', what: 'bench/baseline-server.ts', parts: null },
];

export interface AblationRow {
  readonly name: string;
  readonly what: string;
  readonly rps: number;
  readonly cpuPerRequest: number;
  readonly interference: number;
  readonly forks: number;
}

/** Saturation runs, alternating, of the webhook with parts ablated (ablation-hooks.ts). */
export async function ablate(size: Size, pair: Pair, certs: Certificates, p: Rounds, servers: RunningServer[]): Promise<AblationRow[]> {
  const byName = new Map<string, RunningServer>([
    ['full', pair.webhook],
    ['baseline', pair.baseline],
  ]);
  for (const { name, parts } of ABLATIONS) {
    if (!parts) continue;
    const server = await startServer('webhook', certs, { extraNodeArgs: ablationArgs(parts) });
    servers.push(server);
    byName.set(name, server);
  }
  const serverOf = (name: string) => {
    const server = byName.get(name);
    if (!server) throw new Error(`ablation ${name}: no server`);
    return server;
  };
  const runs = new Map<string, SaturationRun[]>(ABLATIONS.map(({ name }) => [name, []]));
  for (const { name } of ABLATIONS) await saturate(serverOf(name), size.body, p.warmupS);
  for (let round = 0; round < p.rounds; round++) {
    const order = ABLATIONS.map(({ name }) => name);
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      log(`ablation ${size.label}: round ${round + 1}/${p.rounds} ${name}`);
      runs.get(name)?.push(await saturate(serverOf(name), size.body, p.ablationS));
    }
  }
  return ABLATIONS.map(({ name, what }) => {
    const list = runs.get(name) ?? [];
    return {
      name,
      what,
      rps: median(list.map((r) => r.rps)),
      cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
      interference: Math.max(...list.map((r) => r.interference)),
      forks: list.reduce((n, r) => n + r.forks, 0),
    };
  });
}

export interface InServerTimings {
  /** Requests answered in the measured run. */
  readonly requests: number;
  readonly cpuPerRequest: number;
  /** µs per call, by timed function (admit, send, logger.info), over the process's whole life. */
  readonly perCall: Record<string, { calls: number; us: number }>;
}

/**
 * The webhook with admit(), send() and the log call timed from inside (ablation-hooks.ts
 * `timing`), under the same saturation load: what each costs per call in the running server.
 */
export async function inServerTimings(size: Size, certs: Certificates, timingFile: string, p: Rounds): Promise<InServerTimings> {
  const server = await startServer('webhook', certs, { extraNodeArgs: ablationArgs(['timing'], timingFile) });
  let run: SaturationRun;
  try {
    await saturate(server, size.body, p.warmupS);
    run = await saturate(server, size.body, p.saturationS);
  } finally {
    await server.stop();
  }
  const totals = JSON.parse(readFileSync(timingFile, 'utf8')) as Record<string, { calls: number; ns: number }>;
  const perCall = Object.fromEntries(Object.entries(totals).map(([name, { calls, ns }]) => [name, { calls, us: ns / calls / 1000 }]));
  return { requests: run.latencies.length, cpuPerRequest: run.cpuPerRequest, perCall };
}

export interface ColdStarts {
  readonly webhook: number[];
  readonly baseline: number[];
  readonly webhookListening: number[];
}

/** spawn → first 200 on /healthz, alternating. */
export async function coldStarts(certs: Certificates, answerFile: string, runs: number): Promise<ColdStarts> {
  const cold: { webhook: number[]; baseline: number[]; webhookListening: number[] } = { webhook: [], baseline: [], webhookListening: [] };
  for (let run = 0; run < runs; run++) {
    for (const side of orderOf(run)) {
      log(`cold start ${run + 1}/${runs} ${side}`);
      const server = await startServer(side, certs, { keepStdout: side === 'webhook', answerFile });
      cold[side].push(server.coldStartMs);
      if (side === 'webhook' && server.listeningMs !== undefined) cold.webhookListening.push(server.listeningMs);
      server.child.kill('SIGKILL');
      await server.stop();
    }
  }
  return cold;
}

export const LOW_RATE = 20;

export interface LowRateSide {
  /** CPU per request at LOW_RATE on one keep-alive connection, µs. */
  readonly cpuPerRequest: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU the idle process uses per second (timers, metrics collection), ms. */
  readonly idleCpuMsPerSecond: number;
}

export interface LowRateResult {
  readonly label: string;
  readonly webhook: LowRateSide;
  readonly baseline: LowRateSide;
}

/**
 * Where a real cluster's webhook spends most of its life: a request now and then. Each server
 * idle for `idleS` (its CPU per second: timers, metrics collection), then LOW_RATE req/s on one
 * keep-alive connection (CPU per request, latency), alternating, `rounds` times.
 */
export async function lowRate(pair: Pair, size: Size, ca: string, p: Rounds): Promise<LowRateResult> {
  const idleS = p.openS;
  const runs: Record<(typeof SIDES)[number], { cpu: number; idle: number; latencies: Float64Array }[]> = { webhook: [], baseline: [] };
  for (let round = 0; round < p.openRounds; round++) {
    for (const side of orderOf(round)) {
      const server = pair[side];
      log(`low rate ${LOW_RATE} req/s ${size.label}: round ${round + 1}/${p.openRounds} ${side}`);
      const idle0 = cpuMicros(server.pid);
      await new Promise((resolve) => setTimeout(resolve, idleS * 1000));
      const idle = (cpuMicros(server.pid) - idle0) / 1000 / idleS;
      let cpuStart = 0;
      const result = await openLoop({ host: HOST, port: server.port, ca, body: size.body, rate: LOW_RATE, durationMs: p.openS * 1000, warmupMs: 1000, connections: 1, path: MUTATE_PATH, onMeasureStart: () => (cpuStart = cpuMicros(server.pid)) });
      runs[side].push({ cpu: (cpuMicros(server.pid) - cpuStart) / result.requests, idle, latencies: result.latencies });
    }
  }
  const summary = (list: (typeof runs)['webhook']): LowRateSide => {
    const lat = sortedCopy(list.flatMap((r) => [...r.latencies]));
    return { cpuPerRequest: median(list.map((r) => r.cpu)), p50: percentile(lat, 50) / 1000, p99: percentile(lat, 99) / 1000, idleCpuMsPerSecond: median(list.map((r) => r.idle)) };
  };
  return { label: size.label, webhook: summary(runs.webhook), baseline: summary(runs.baseline) };
}
