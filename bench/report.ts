// The benchmark's report: markdown from the raw measurements of every section that ran (so a
// report can be rendered again without measuring again: `--render`).
import type { ApiServerResult } from './apiserver.js';
import { apiServerTargets, renderApiServer } from './apiserver.js';
import type { NodeStart, ServeProfile } from './coldstart.js';
import { DEPENDENCIES } from './coldstart.js';
import type { CoreRow } from './core.js';
import { fmt, median, times, type Machine, type Memory, type Target } from './lib.js';
import type { LoadProfile } from './profile-load.js';
import { CONNECTIONS, LOW_RATE, RATE, type AblationRow, type LowRateResult, type ColdStarts, type InServerTimings, type OpenLoopSummary, type Rounds, type SaturationResult } from './saturation.js';
import { renderWorstCase, worstCaseTargets, type WorstCaseResult } from './worst-case.js';

/** "No worse than at 3 KB": allowed shortfall of a throughput ratio, the order of its round-to-round spread. */
export const RATIO_TOLERANCE = 0.03;

export interface ControllerSection {
  /** The script that ran, or undefined when there is none yet. */
  readonly script?: string | undefined;
  readonly exitCode?: number | null | undefined;
  readonly stdout: string;
  readonly stderrTail: string;
  readonly seconds: number;
}

export interface BenchData {
  readonly quick: boolean;
  readonly rounds: Rounds;
  readonly sections: readonly string[];
  readonly machine: Machine;
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** Cores busy system-wide over 5 s just before measuring (the benchmark idle). */
  readonly busyBefore: number;
  /** Per section: its duration, the cores busy system-wide (the benchmark included) and the cores the hypervisor took (steal). */
  readonly machineBySection: Record<string, { seconds: number; busyCores: number; stealCores: number }>;
  /** Sections (or parts) that failed: the run goes on with the others, and the report says what is missing. */
  readonly failures?: { readonly section: string; readonly message: string }[];
  readonly checks?: { readonly label: string; readonly operations: number; readonly answerBytes: number }[];
  readonly saturation?: SaturationResult[];
  readonly openLoop?: OpenLoopSummary[];
  readonly memoryOf?: { readonly webhook: Memory; readonly baseline: Memory };
  readonly lowRate?: LowRateResult;
  readonly ablation?: AblationRow[];
  readonly timings?: InServerTimings;
  readonly requestProfile?: LoadProfile;
  readonly cold?: ColdStarts;
  readonly coldWithConfig?: number[];
  readonly nodeTiming?: NodeStart;
  readonly imports?: Record<string, number>;
  readonly startProfile?: ServeProfile;
  readonly core?: { readonly rows: CoreRow[]; readonly markdown: string };
  readonly apiServer?: ApiServerResult | Failure;
  readonly worstCase?: WorstCaseResult | Failure;
  readonly controller?: ControllerSection;
}

/** A section that could not run: why. */
export interface Failure {
  readonly error: string;
}
const isError = <T extends object>(value: T | Failure): value is Failure => 'error' in value;

/** Other processes' CPU during a row's runs, and how many processes were started meanwhile. */
const other = (row: { interference: number; forks: number }) => `${fmt(row.interference, 2)}${row.forks > 0 ? ` (${row.forks} forks)` : ''}`;

export function targetsOf(r: BenchData): Target[] {
  const targets: Target[] = [];
  const target = (name: string, measured: string, pass: boolean) => targets.push({ name, measured, pass });
  const by = (label: string) => r.saturation?.find((s) => s.label === label);
  const at8 = by('8 KB');
  if (at8) {
    target('throughput ≥ 0.75× baseline at 8 KB (issue 15)', times(at8.ratio), at8.ratio >= 0.75);
    target('throughput ≥ 0.6× baseline at 8 KB (next step)', times(at8.ratio), at8.ratio >= 0.6);
  }
  if (r.openLoop) {
    target(`p99 at ${RATE} req/s ≤ 1.5× baseline's (every size)`, r.openLoop.map((o) => `${o.label} ${times(o.ratio)}`).join(', '), r.openLoop.every((o) => o.ratio <= 1.5));
  }
  const at3 = by('3 KB');
  for (const label of ['20 KB', '60 KB']) {
    const s = by(label);
    if (s && at3) target(`throughput ratio at ${label} no worse than at 3 KB (tolerance ${RATIO_TOLERANCE})`, `${times(s.ratio)} vs ${times(at3.ratio)}`, s.ratio >= at3.ratio - RATIO_TOLERANCE);
  }
  if (r.memoryOf) {
    const rss = r.memoryOf.webhook.peakRssMiB / r.memoryOf.baseline.peakRssMiB;
    target('peak RSS ≤ 1.3× baseline', times(rss), rss <= 1.3);
  }
  if (r.cold) {
    const w = median(r.cold.webhook);
    const b = median(r.cold.baseline);
    target('cold start ≤ 2× baseline', `${times(w / b)} (${fmt(w)} vs ${fmt(b)} ms)`, w / b <= 2);
  }
  if (r.apiServer && !isError(r.apiServer)) targets.push(...apiServerTargets(r.apiServer));
  else if (r.apiServer) target('through kube-apiserver', `not measured: ${r.apiServer.error}`, false);
  if (r.worstCase && !isError(r.worstCase)) targets.push(...worstCaseTargets(r.worstCase));
  else if (r.worstCase) target('worst case', `not measured: ${r.worstCase.error}`, false);
  return targets;
}

export function render(r: BenchData): string {
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);
  const ms = (v: number) => fmt(v, 2);
  const m = r.machine;
  const p = r.rounds;

  add('# probe-injector benchmark', '');
  add(`- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.kernel}`);
  const rows = [...(r.saturation ?? []), ...(r.openLoop ?? []), ...(r.ablation ?? [])];
  const worst = rows.length ? Math.max(...rows.map((row) => row.interference)) : NaN;
  const forks = rows.reduce((n, row) => n + row.forks, 0);
  add(
    `- **Node** ${m.node}; **date** ${m.date}; load average ${fmt(r.loadBefore, 2)} before, ${fmt(r.loadAfter, 2)} after; ${fmt(r.busyBefore, 2)} cores busy just before measuring${rows.length ? `; other processes used at most **${fmt(worst, 2)} cores** during any run against the baseline (${forks} processes started meanwhile)${worst > 0.05 ? ' — **some rows were disturbed: see their "other processes" column**' : ' — the machine was otherwise idle'}` : ''}.`,
  );
  add(`- **Mode**: ${r.quick ? 'QUICK (smoke run; rough numbers)' : 'full'}; sections: ${r.sections.join(', ')}.`);
  const bySection = Object.entries(r.machineBySection ?? {});
  if (bySection.length) {
    add(`- **Per section** (duration; cores busy system-wide, the benchmark's own load included; cores taken by the hypervisor, "steal"): ${bySection.map(([name, s]) => `${name} ${fmt(s.seconds)} s, ${fmt(s.busyCores, 2)} busy, ${fmt(s.stealCores, 3)} stolen`).join('; ')}.`);
  }
  for (const failure of r.failures ?? []) add(`- **Not measured: ${failure.section}** — it failed: ${failure.message.split('\n')[0]}`);
  if (r.saturation) {
    add(
      `- **Servers**: webhook \`node dist/cli.js serve --tls-cert-file … --tls-key-file … --metrics-port 0\` (defaults otherwise; its JSON log lines go to /dev/null); baseline \`bench/baseline-server.ts\` (node:https, reads the body, JSON.parse, answers a fixed AdmissionReview of the same bytes). Same ECDSA P-256 certificate, TLS 1.3, separate processes, driven alternately.`,
    );
  }
  if (r.checks) {
    add(`- **Requests**: AdmissionReview v1 CREATE of a 2-container opted-in pod (spring-boot profile, Nacos hook, the Nacos gate; its identity from the \`app\` label) built on the kube-apiserver fixture; every one was checked to come back with a JSON Patch (${r.checks.map((c) => `${c.label}: ${c.operations} ops`).join(', ')}).`);
  }
  add('');

  const targets = targetsOf(r);
  if (targets.length) {
    add('## Targets (measured in this run)', '', '| target | measured | result |', '|---|---|---|');
    for (const t of targets) add(`| ${t.name} | ${t.measured} | **${t.pass ? 'PASS' : 'FAIL'}** |`);
    add('');
  }

  if (r.saturation) {
    add('## Throughput and latency at saturation', '');
    add(`autocannon, ${CONNECTIONS} keep-alive HTTPS connections, pipelining 1; ${p.rounds} alternating rounds of ${p.saturationS} s per server and size after a ${p.warmupS} s warm-up. req/s: median of the rounds; latency percentiles over all responses of all rounds (µs resolution); CPU: utime+stime of the server process from /proc/<pid>/stat.`, '');
    add('| pod | body | webhook req/s | baseline req/s | **ratio** | ratio per round | webhook p50 / p99 / p99.9 ms | baseline p50 / p99 / p99.9 ms | webhook CPU µs/req | baseline CPU µs/req | extra CPU µs/req | server CPU use (webhook / baseline) | other processes (max, cores) | errors |');
    add('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const s of r.saturation) {
      const w = s.webhook;
      const b = s.baseline;
      add(
        `| ${s.label} | ${s.bytes} B | ${fmt(w.rps)} | ${fmt(b.rps)} | **${times(s.ratio)}** | ${s.roundRatios.map((v) => fmt(v, 2)).join(', ')} | ${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.p999)} | ${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.p999)} | ${fmt(w.cpuPerRequest)} | ${fmt(b.cpuPerRequest)} | ${fmt(w.cpuPerRequest - b.cpuPerRequest)} | ${fmt(w.cpuUse * 100)}% / ${fmt(b.cpuUse * 100)}% | ${other(s)} | ${w.errors + b.errors} |`,
      );
    }
    add('');
  }

  if (r.openLoop) {
    add(`## Latency at a fixed ${RATE} req/s (open loop)`, '');
    add(`bench/open-loop.ts: constant arrival rate, latency from each request's intended send time (process.hrtime.bigint), ${CONNECTIONS} keep-alive connections, minimal HTTP/1.1 client; ${p.openRounds} alternating rounds of ${p.openS} s (+1 s warm-up) per server and size; percentiles over all rounds.`, '');
    add('| pod | webhook p50 / p99 / p99.9 ms | baseline p50 / p99 / p99.9 ms | **p99 ratio** | p99 per round (webhook; baseline) | webhook CPU µs/req | baseline CPU µs/req | generator send lag p99 (µs) | samples | other processes (max, cores) | errors |');
    add('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const o of r.openLoop) {
      const w = o.webhook;
      const b = o.baseline;
      add(
        `| ${o.label} | ${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.p999)} | ${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.p999)} | **${times(o.ratio)}** | ${w.roundP99.map((v) => fmt(v, 2)).join(', ')}; ${b.roundP99.map((v) => fmt(v, 2)).join(', ')} | ${fmt(w.cpuPerRequest)} | ${fmt(b.cpuPerRequest)} | ${fmt(w.sendLagP99Us)}; ${fmt(b.sendLagP99Us)} | ${w.samples}; ${b.samples} | ${other(o)} | ${w.errors + b.errors} |`,
      );
    }
    add('');
  }

  if (r.lowRate) {
    const l = r.lowRate;
    add(`## A request now and then (${LOW_RATE} req/s, ${l.label})`, '');
    add(
      `Where a cluster's webhook spends most of its life. Each server first idles for ${p.openS} s (its CPU per second then: timers, metrics collection), then gets ${LOW_RATE} req/s on one keep-alive connection for ${p.openS} s (open loop, after 1 s of warm-up); ${p.openRounds} alternating rounds, medians; latency percentiles over all rounds.`,
      '',
      '| | webhook | baseline | ratio |',
      '|---|--:|--:|--:|',
      `| CPU per request, µs | ${fmt(l.webhook.cpuPerRequest)} | ${fmt(l.baseline.cpuPerRequest)} | ${times(l.webhook.cpuPerRequest / l.baseline.cpuPerRequest)} |`,
      `| latency p50 / p99, ms | ${ms(l.webhook.p50)} / ${ms(l.webhook.p99)} | ${ms(l.baseline.p50)} / ${ms(l.baseline.p99)} | ${times(l.webhook.p50 / l.baseline.p50)} / ${times(l.webhook.p99 / l.baseline.p99)} |`,
      `| CPU while idle, ms per second | ${fmt(l.webhook.idleCpuMsPerSecond, 1)} | ${fmt(l.baseline.idleCpuMsPerSecond, 1)} | |`,
      '',
    );
  }

  if (r.memoryOf || r.cold) {
    add('## Process', '', '| | webhook | baseline | ratio |', '|---|--:|--:|--:|');
    if (r.memoryOf) {
      const rss = { w: r.memoryOf.webhook.peakRssMiB, b: r.memoryOf.baseline.peakRssMiB };
      add(`| peak RSS (VmHWM after the saturation and open-loop runs), MiB | ${fmt(rss.w, 1)} | ${fmt(rss.b, 1)} | ${times(rss.w / rss.b)} |`);
    }
    if (r.cold) {
      const w = median(r.cold.webhook);
      const b = median(r.cold.baseline);
      add(`| cold start: spawn → first 200 on /healthz, median of ${r.cold.webhook.length}, ms | ${fmt(w, 1)} | ${fmt(b, 1)} | ${times(w / b)} |`);
      add(`| cold start, every run (ms) | ${r.cold.webhook.map((v) => fmt(v)).join(', ')} | ${r.cold.baseline.map((v) => fmt(v)).join(', ')} | |`);
      add(`| spawn → "listening" log line, median, ms | ${fmt(median(r.cold.webhookListening), 1)} | | |`);
      if (r.coldWithConfig?.length) add(`| cold start with \`kubernetesVersion\` in a config file (no version check in a child process; the YAML parser loaded), median, ms | ${fmt(median(r.coldWithConfig), 1)} | | ${times(median(r.coldWithConfig) / b)} |`);
    }
    add('');
  }

  if (r.apiServer) {
    add('## Through the real client: pod CREATEs via kube-apiserver', '');
    add(isError(r.apiServer) ? `Not measured: ${r.apiServer.error}` : renderApiServer(r.apiServer).trim(), '');
  }

  if (r.worstCase) {
    add('## Worst case: adversarial pods at 3 MiB', '');
    add(isError(r.worstCase) ? `Not measured: ${r.worstCase.error}` : renderWorstCase(r.worstCase).trim(), '');
  }

  if (r.controller) {
    add('## Nacos gate controller', '');
    const c = r.controller;
    if (!c.script) add(c.stdout.trim());
    else {
      add(`\`${c.script}\` (its own script; ${fmt(c.seconds)} s; exit code ${c.exitCode}):`, '');
      add(c.stdout.trim() || '(it printed nothing)');
      if (c.exitCode !== 0) add('', '```', c.stderrTail.trim(), '```');
    }
    add('');
  }

  if (r.ablation) {
    const full = r.ablation.find((a) => a.name === 'full');
    const base = r.ablation.find((a) => a.name === 'baseline');
    add('## What each part of a request costs in the running server (8 KB, ablation)', '');
    add(
      `The real \`dist/cli.js serve\`, started with module-loader hooks (bench/ablation-hooks.ts; nothing on disk changes) that make one part (nearly) free; the CPU it saves is what that part costs in the running server. autocannon, ${CONNECTIONS} connections, ${p.rounds} alternating rounds of ${p.ablationS} s; medians.`,
      '',
      '| variant | what is replaced | req/s | vs baseline | CPU µs/req | saves vs full (µs/req) | other processes (max, cores) |',
      '|---|---|--:|--:|--:|--:|--:|',
    );
    for (const a of r.ablation) {
      add(`| ${a.name} | ${a.what} | ${fmt(a.rps)} | ${times(a.rps / (base?.rps ?? NaN))} | ${fmt(a.cpuPerRequest)} | ${a.name === 'full' || a.name === 'baseline' ? '' : fmt((full?.cpuPerRequest ?? NaN) - a.cpuPerRequest)} | ${other(a)} |`);
    }
    add('');
  }

  if (r.timings) {
    add('### Timed from inside the running server (8 KB)', '');
    add(
      `The same webhook with \`admit()\`, \`send()\` (JSON.stringify of the answer, writeHead, end) and the admission log call timed with process.hrtime.bigint() around every call (ablation-hooks.ts \`timing\`), under the same saturation load (${r.timings.requests} requests, ${fmt(r.timings.cpuPerRequest)} µs of CPU per request with the timers):`,
      '',
      '| function | calls | µs per call, in the server | the same in isolation (core micro-benchmark) |',
      '|---|--:|--:|--:|',
    );
    const core8 = r.core?.rows.find((row) => row.label === '8 KB');
    const isolated: Record<string, string> = core8 ? { admit: `${fmt(core8.admit, 1)} (caches cold: ${fmt(core8.admitCold, 1)})`, send: `${fmt(core8.stringify, 1)} (the stringify only)`, 'logger.info': fmt(core8.log, 1) } : {};
    for (const [name, t] of Object.entries(r.timings.perCall)) add(`| \`${name}\` | ${t.calls} | ${fmt(t.us, 1)} | ${isolated[name] ?? ''} |`);
    add('');
  }

  if (r.requestProfile) {
    const prof = r.requestProfile;
    const at8 = r.saturation?.find((s) => s.label === '8 KB');
    const perRequest = at8?.webhook.cpuPerRequest ?? (prof.busyMs * 1000) / prof.requests;
    add(`## Where a request's time goes (8 KB, webhook under \`--cpu-prof\`)`, '');
    add(
      `Shares of the webhook's busy CPU samples while autocannon drove it (${prof.requests} requests), inclusive (a sample counts for every package or file on its stack), converted to µs with the webhook's ${fmt(perRequest)} µs/request measured without the profiler${at8 ? ` (baseline: ${fmt(at8.baseline.cpuPerRequest)} µs/request, i.e. TLS, HTTP, JSON.parse and the write cost ~that much anyway)` : ''}; under the profiler a request cost ${fmt((prof.busyMs * 1000) / prof.requests)} µs.`,
    );
    add('', '| package / file (inclusive) | share | ≈ µs per request |', '|---|--:|--:|');
    const skip = new Set(['other: (root)', 'Node: process', 'Node: events', 'Node: timers', 'Node: async_hooks']);
    for (const [name, share] of prof.inclusive.filter(([name, share]) => !skip.has(name) && share >= 0.01).slice(0, 22)) add(`| ${name} | ${fmt(share * 100, 1)}% | ${fmt(share * perRequest)} |`);
    add('', "The webhook's own functions, inclusive (everything they call counts for them):", '', '| function | share | ≈ µs per request |', '|---|--:|--:|');
    for (const [name, share] of prof.ownInclusive.filter(([, share]) => share >= 0.005).slice(0, 24)) add(`| \`${name}\` | ${fmt(share * 100, 1)}% | ${fmt(share * perRequest, 1)} |`);
    add('', 'Top functions by self time (natives such as JSON.parse, JSON.stringify and TextDecoder count for their JS caller; `writev` is the TLS write: encryption and the syscall):', '');
    add('| function | self share |', '|---|--:|');
    for (const [name, share] of prof.functions) add(`| \`${name}\` | ${fmt(share * 100, 1)}% |`);
    add('');
  }

  if (r.nodeTiming || r.imports || r.startProfile) {
    add('## Where the cold start goes', '');
    if (r.nodeTiming) {
      add(`- Node's own start (a bare \`node -e\` to its first write): **${fmt(r.nodeTiming.spawnToUserCodeMs, 1)} ms**, of which ${fmt(r.nodeTiming.beforeV8Ms, 1)} ms before V8 starts (process setup and OpenSSL initialisation) and ${fmt(r.nodeTiming.bootstrapMs, 1)} ms of Node's bootstrap.`);
    }
    if (r.imports) {
      const imports = r.imports;
      add(`- Each runtime dependency imported alone in a fresh process (median of ${p.importRuns}; ms): ${DEPENDENCIES.map((d) => `${d} **${fmt(imports[d], 1)}**`).join(', ')}.`);
    }
    if (r.startProfile) {
      const sp = r.startProfile;
      add(
        `- CPU profile of \`serve\` (\`node --cpu-prof\`, 100 µs sampling, which itself slows start-up): cold start ${fmt(sp.coldStartMs)} ms under the profiler; ${fmt(sp.beforeProfileMs)} ms pass before the profiler starts (Node before V8); ${fmt(sp.profiledMs)} ms profiled up to the first 200 on /healthz, by cause (outermost package on the stack):`,
        '',
        '| cause | ms |',
        '|---|--:|',
      );
      for (const [cause, value] of sp.causes.filter(([, v]) => v >= 0.5)) add(`| ${cause} | ${fmt(value, 1)} |`);
    }
    add('');
  }

  if (r.core) add('## Core micro-benchmark (bench/core.ts)', '', r.core.markdown.trim(), '');
  return `${lines.join('\n')}\n`;
}
