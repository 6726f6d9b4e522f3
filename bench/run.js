// `npm run bench`: the webhook (`dist/cli.js serve`, started like a user would) against a bare
// node:https baseline, in the same run, alternately, over HTTPS keep-alive. Then cold start, the
// cold-start breakdown and the core micro-benchmark. Prints a markdown report and writes it to
// bench/results.md.
//
//   npm run bench                    full run (~6 minutes)
//   BENCH_QUICK=1 npm run bench      a short smoke run of the same steps (numbers are rough)
//
// Run it on an otherwise idle machine: it warns when the load average is above 0.5.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { ablationArgs } from './ablation-hooks.js';
import { importCosts, nodeStart, profileServe, DEPENDENCIES } from './coldstart.js';
import { allSizes } from './fixtures.js';
import {
  CLI,
  cpuMicros,
  fmt,
  HOST,
  loadAverage,
  machine,
  makeCertificates,
  median,
  memory,
  percentile,
  ratio,
  ROOT,
  sortedCopy,
  startServer,
  waitForIdle,
  withInterference,
} from './lib.js';
import { openLoop } from './open-loop.js';
import { profileUnderLoad } from './profile-load.js';

const QUICK = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick');
const P_QUICK = { warmupS: 1, saturationS: 2, rounds: 1, openS: 3, openRounds: 1, coldRuns: 3, importRuns: 2 };
const P_FULL = { warmupS: 2, saturationS: 5, rounds: 3, openS: 10, openRounds: 2, coldRuns: 9, importRuns: 5 };
const P = QUICK ? P_QUICK : P_FULL;
const CONNECTIONS = 16;
const RATE = 500;
const MUTATE_PATH = '/mutate?timeout=10s';
/** "No worse than at 3 KB": allowed shortfall of a throughput ratio, the order of its round-to-round spread. */
const RATIO_TOLERANCE = 0.03;

const ABLATIONS = [
  ['full', 'the webhook as shipped', null],
  ['no log', 'pino replaced by a no-op logger', ['log']],
  ['no metrics', 'dist/metrics.js replaced by no-op metrics', ['metrics']],
  ['no core', 'admit() memoised: schema, annotations, plan, patch, base64 computed once', ['core']],
  ['shell only', 'all three: what the HTTP shell itself costs', ['log', 'metrics', 'core']],
  ['baseline', 'bench/baseline-server.js', null],
];

const log = (message) => process.stderr.write(`[bench] ${message}\n`);

const RAW_FILE = path.join(os.tmpdir(), 'probe-injector-bench-last.json');
if (process.argv.includes('--render')) {
  // Renders the last run's raw measurements again (after a change to the report only).
  const { data } = JSON.parse(readFileSync(RAW_FILE, 'utf8'));
  const report = render(data);
  process.stdout.write(report);
  writeFileSync(path.join(ROOT, 'bench', 'results.md'), report);
  process.exit(0);
}

if (!existsSync(CLI)) {
  log(`${CLI} not found: run \`npm run build\` first (npm run bench does).`);
  process.exit(1);
}

// BENCH_WAIT_IDLE=<minutes>: first wait (at most that long) until nothing else uses the CPU.
if (process.env.BENCH_WAIT_IDLE) {
  const idle = await waitForIdle(Number(process.env.BENCH_WAIT_IDLE) * 60_000, log);
  log(idle.gaveUp ? `machine still busy (${idle.busyCores.toFixed(2)} cores); going on anyway` : `machine idle (${idle.busyCores.toFixed(2)} cores busy)`);
}
const loadBefore = loadAverage();
if (loadBefore > 0.5) log(`WARNING: load average is ${loadBefore.toFixed(2)}; numbers will be noisy. Run on an idle machine.`);

const workDir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-'));
const servers = [];
const cleanup = async () => {
  await Promise.all(servers.map((server) => server.stop().catch(() => {})));
  rmSync(workDir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  await main();
} finally {
  await cleanup();
}

async function main() {
  const certs = await makeCertificates(workDir);
  const sizes = allSizes();

  // ---- The webhook, and the check that it patches every size. ----------------------------------
  log('starting the webhook and checking its answers');
  const webhook = await startServer('webhook', certs);
  servers.push(webhook);
  const checks = [];
  for (const size of sizes) {
    const { status, text } = await post(webhook.port, certs.ca, size.body);
    const answer = JSON.parse(text);
    const response = answer.response ?? {};
    const patch = response.patch ? JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) : [];
    const ok = status === 200 && response.uid === size.review.request.uid && response.allowed === true && response.patchType === 'JSONPatch' && patch.length > 0;
    if (!ok) throw new Error(`the webhook did not patch the ${size.label} pod: HTTP ${status} ${text.slice(0, 500)}`);
    checks.push({ size, operations: patch.length, answerBytes: Buffer.byteLength(text), paths: patch.map((op) => op.path) });
    size.answer = text;
  }
  // The baseline answers the webhook's own (fixed) answer, so both send the same bytes back.
  certs.answerFile = path.join(workDir, 'answer.json');
  writeFileSync(certs.answerFile, sizes[1].answer);
  const baseline = await startServer('baseline', certs);
  servers.push(baseline);
  const pair = { webhook, baseline };

  // ---- Saturation: autocannon, 16 connections, alternating. ------------------------------------
  const saturation = [];
  for (const size of sizes) {
    log(`saturation ${size.label}: warm-up`);
    for (const server of [webhook, baseline]) await saturate(server, size.body, P.warmupS);
    const runs = { webhook: [], baseline: [] };
    for (let round = 0; round < P.rounds; round++) {
      const order = round % 2 === 0 ? ['webhook', 'baseline'] : ['baseline', 'webhook'];
      for (const kind of order) {
        log(`saturation ${size.label}: round ${round + 1}/${P.rounds} ${kind}`);
        runs[kind].push(await saturate(pair[kind], size.body, P.saturationS));
      }
    }
    saturation.push({ size, ...summariseSaturation(runs) });
  }

  // ---- Open loop at a fixed 500 req/s, alternating. ---------------------------------------------
  const openLoopResults = [];
  for (const size of sizes) {
    const runs = { webhook: [], baseline: [] };
    for (let round = 0; round < P.openRounds; round++) {
      const order = round % 2 === 0 ? ['webhook', 'baseline'] : ['baseline', 'webhook'];
      for (const kind of order) {
        log(`open loop ${RATE} req/s ${size.label}: round ${round + 1}/${P.openRounds} ${kind}`);
        const server = pair[kind];
        let cpuStart = 0;
        const { result, interference, forks } = await withInterference(server.pid, () => openLoop({
          host: HOST,
          port: server.port,
          ca: certs.ca,
          body: size.body,
          rate: RATE,
          durationMs: P.openS * 1000,
          warmupMs: 1000,
          connections: CONNECTIONS,
          path: MUTATE_PATH,
          onMeasureStart: () => (cpuStart = cpuMicros(server.pid)),
        }));
        result.interference = interference;
        result.forks = forks;
        result.cpuPerRequest = (cpuMicros(server.pid) - cpuStart) / result.requests;
        runs[kind].push(result);
      }
    }
    openLoopResults.push({ size, ...summariseOpenLoop(runs) });
  }

  const memoryOf = { webhook: memory(webhook.pid), baseline: memory(baseline.pid) };

  // ---- Ablation at 8 KB: the webhook with one part made (nearly) free, against the full one. ---
  const ablation = await ablate(sizes[1].body, { full: webhook, baseline }, certs);

  await Promise.all(servers.map((server) => server.stop()));
  servers.length = 0;

  // ---- Where a request's time goes: the webhook under --cpu-prof at 8 KB. -----------------------
  log('per-request CPU profile of the webhook (8 KB, autocannon)');
  const requestProfile = await profileUnderLoad(certs, { seconds: QUICK ? 2 : 5, sizeIndex: 1 });

  // ---- Cold start: spawn → first 200 on /healthz, alternating. ---------------------------------
  const cold = { webhook: [], baseline: [], webhookListening: [] };
  for (let run = 0; run < P.coldRuns; run++) {
    for (const kind of run % 2 === 0 ? ['webhook', 'baseline'] : ['baseline', 'webhook']) {
      log(`cold start ${run + 1}/${P.coldRuns} ${kind}`);
      const server = await startServer(kind, certs, { keepStdout: kind === 'webhook' });
      cold[kind].push(server.coldStartMs);
      if (kind === 'webhook' && server.listeningMs !== undefined) cold.webhookListening.push(server.listeningMs);
      server.child.kill('SIGKILL');
      await server.stop();
    }
  }

  // ---- Where the cold start goes. ---------------------------------------------------------------
  log('cold-start breakdown: node start, dependency imports, CPU profile of serve');
  const nodeTiming = await nodeStart(P.coldRuns);
  const imports = await importCosts(P.importRuns);
  const profile = await profileServe(certs);

  // ---- The pure core. --------------------------------------------------------------------------
  log('core micro-benchmark (bench/core.js)');
  const coreFile = path.join(workDir, 'core.json');
  await runChild([path.join(ROOT, 'bench', 'core.js'), '--json', coreFile, ...(QUICK ? ['--quick'] : [])]);
  const core = JSON.parse(readFileSync(coreFile, 'utf8'));

  const loadAfter = loadAverage();
  const data = { quick: QUICK, sizes, checks, saturation, openLoopResults, memoryOf, ablation, requestProfile, cold, nodeTiming, imports, profile, core, loadBefore, loadAfter };
  // The raw measurements, so a report can be rendered again without measuring again (--render).
  writeFileSync(RAW_FILE, JSON.stringify({ quick: QUICK, data }, (_, value) => (value instanceof Float64Array ? undefined : value)));
  const report = render(data);
  process.stdout.write(report);
  writeFileSync(path.join(ROOT, 'bench', 'results.md'), report);
  log('written to bench/results.md');
}

// ------------------------------------------------------------------------------------------------

function post(port, ca, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: HOST, servername: 'localhost', port, ca, method: 'POST', path: MUTATE_PATH, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One autocannon run; latencies (ms, µs resolution) from its per-response hook. */
async function saturate(server, body, seconds) {
  const latencies = [];
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


/** Saturation runs, alternating, of the webhook with parts ablated (bench/ablation-hooks.js). */
async function ablate(body, { full, baseline }, certs) {
  const pair = { full, baseline };
  for (const [name, , parts] of ABLATIONS) {
    if (parts) {
      const server = await startServer('webhook', certs, { extraNodeArgs: ablationArgs(parts) });
      servers.push(server);
      pair[name] = server;
      const check = await post(server.port, certs.ca, body);
      if (check.status !== 200 || !JSON.parse(check.text).response?.patch) throw new Error(`ablation ${name}: no patch: ${check.text.slice(0, 300)}`);
    }
  }
  const runs = Object.fromEntries(ABLATIONS.map(([name]) => [name, []]));
  for (const [name] of ABLATIONS) await saturate(pair[name], body, P.warmupS);
  const seconds = QUICK ? 2 : 4;
  for (let round = 0; round < P.rounds; round++) {
    const order = ABLATIONS.map(([name]) => name);
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      log(`ablation 8 KB: round ${round + 1}/${P.rounds} ${name}`);
      runs[name].push(await saturate(pair[name], body, seconds));
    }
  }
  return ABLATIONS.map(([name, what]) => ({
    name,
    what,
    rps: median(runs[name].map((r) => r.rps)),
    cpuPerRequest: median(runs[name].map((r) => r.cpuPerRequest)),
    interference: Math.max(...runs[name].map((r) => r.interference)),
    forks: runs[name].reduce((n, r) => n + r.forks, 0),
  }));
}

function summariseSaturation(runs) {
  const out = {};
  for (const kind of ['webhook', 'baseline']) {
    const list = runs[kind];
    const lat = sortedCopy(list.flatMap((r) => r.latencies));
    out[kind] = {
      rps: median(list.map((r) => r.rps)),
      rpsRounds: list.map((r) => r.rps),
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      p999: percentile(lat, 99.9),
      cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
      cpuUse: median(list.map((r) => r.cpuUse)),
      errors: list.reduce((n, r) => n + r.errors + r.non2xx, 0),
    };
  }
  out.interference = Math.max(...runs.webhook.concat(runs.baseline).map((r) => r.interference));
  out.forks = runs.webhook.concat(runs.baseline).reduce((n, r) => n + r.forks, 0);
  out.roundRatios = runs.webhook.map((r, i) => ratio(r.rps, runs.baseline[i].rps));
  out.ratio = ratio(out.webhook.rps, out.baseline.rps);
  return out;
}

function summariseOpenLoop(runs) {
  const out = {};
  for (const kind of ['webhook', 'baseline']) {
    const list = runs[kind];
    const lat = sortedCopy(list.flatMap((r) => [...r.latencies]));
    const lag = sortedCopy(list.flatMap((r) => [...r.sendLag]));
    out[kind] = {
      p50: percentile(lat, 50) / 1000,
      p99: percentile(lat, 99) / 1000,
      p999: percentile(lat, 99.9) / 1000,
      samples: lat.length,
      sendLagP99Us: percentile(lag, 99),
      cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
      errors: list.reduce((n, r) => n + r.errors + r.non2xx, 0),
      roundP99: list.map((r) => percentile(sortedCopy(r.latencies), 99) / 1000),
    };
  }
  out.interference = Math.max(...runs.webhook.concat(runs.baseline).map((r) => r.interference));
  out.forks = runs.webhook.concat(runs.baseline).reduce((n, r) => n + r.forks, 0);
  out.ratio = ratio(out.webhook.p99, out.baseline.p99);
  return out;
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

// ------------------------------------------------------------------------------------------------

/** Other processes' CPU during a row's runs, and how many processes were started meanwhile. */
function other(row) {
  return `${fmt(row.interference, 2)}${row.forks > 0 ? ` (${row.forks} forks)` : ''}`;
}

function render(r) {
  const P = r.quick ? P_QUICK : P_FULL;
  const QUICK = r.quick;
  const m = machine();
  const ms = (v) => fmt(v, 2);
  const x = (v) => fmt(v, 2) + '×';
  const lines = [];
  const add = (...text) => lines.push(...text);

  add('# probe-injector benchmark', '');
  add(`- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.kernel}`);
  const rows = [...r.saturation, ...r.openLoopResults, ...r.ablation];
  const worst = Math.max(...rows.map((row) => row.interference));
  const forks = rows.reduce((n, row) => n + row.forks, 0);
  add(
    `- **Node** ${m.node}; **date** ${m.date}; load average ${r.loadBefore.toFixed(2)} before, ${r.loadAfter.toFixed(2)} after; other processes used at most **${fmt(worst, 2)} cores** during any measured run (${forks} processes started meanwhile)${worst > 0.05 ? ' — **some rows were disturbed: see their "other processes" column**' : ' — the machine was otherwise idle'}.`,
  );
  add(`- **Mode**: ${QUICK ? 'QUICK (smoke run; rough numbers)' : 'full'}. Webhook: \`node dist/cli.js serve --tls-cert-file … --tls-key-file …\` (defaults; its JSON log lines go to /dev/null). Baseline: \`bench/baseline-server.js\` (node:https, reads the body, JSON.parse, answers a fixed AdmissionReview of the same bytes). Same ECDSA P-256 certificate, TLS 1.3, separate processes, driven alternately.`);
  add(`- **Requests**: AdmissionReview v1 CREATE of a 2-container opted-in pod (spring-boot profile, Nacos hook, readiness gate) built on the kube-apiserver fixture; every one was checked to come back with a JSON Patch (${r.checks.map((c) => `${c.size.label}: ${c.operations} ops`).join(', ')}).`);
  add('');

  add(`## Throughput and latency at saturation`, '');
  add(`autocannon, ${CONNECTIONS} keep-alive HTTPS connections, pipelining 1; ${P.rounds} alternating rounds of ${P.saturationS} s per server and size after a ${P.warmupS} s warm-up. req/s: median of the rounds; latency percentiles over all responses of all rounds (µs resolution); CPU: utime+stime of the server process from /proc/<pid>/stat.`, '');
  add('| pod | body | webhook req/s | baseline req/s | **ratio** | ratio per round | webhook p50 / p99 / p99.9 ms | baseline p50 / p99 / p99.9 ms | webhook CPU µs/req | baseline CPU µs/req | extra CPU µs/req | server CPU use (webhook / baseline) | other processes (max, cores) | errors |');
  add('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of r.saturation) {
    const w = s.webhook;
    const b = s.baseline;
    add(
      `| ${s.size.label} | ${s.size.bytes} B | ${fmt(w.rps)} | ${fmt(b.rps)} | **${x(s.ratio)}** | ${s.roundRatios.map((v) => fmt(v, 2)).join(', ')} | ${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.p999)} | ${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.p999)} | ${fmt(w.cpuPerRequest)} | ${fmt(b.cpuPerRequest)} | ${fmt(w.cpuPerRequest - b.cpuPerRequest)} | ${fmt(w.cpuUse * 100)}% / ${fmt(b.cpuUse * 100)}% | ${other(s)} | ${w.errors + b.errors} |`,
    );
  }
  add('');

  add(`## Latency at a fixed ${RATE} req/s (open loop)`, '');
  add(`bench/open-loop.js: constant arrival rate, latency from each request's intended send time (process.hrtime.bigint), ${CONNECTIONS} keep-alive connections, minimal HTTP/1.1 client; ${P.openRounds} alternating rounds of ${P.openS} s (+1 s warm-up) per server and size; percentiles over all rounds.`, '');
  add('| pod | webhook p50 / p99 / p99.9 ms | baseline p50 / p99 / p99.9 ms | **p99 ratio** | p99 per round (webhook; baseline) | webhook CPU µs/req | baseline CPU µs/req | generator send lag p99 (µs) | samples | other processes (max, cores) | errors |');
  add('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const o of r.openLoopResults) {
    const w = o.webhook;
    const b = o.baseline;
    add(
      `| ${o.size.label} | ${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.p999)} | ${ms(b.p50)} / ${ms(b.p99)} / ${ms(b.p999)} | **${x(o.ratio)}** | ${w.roundP99.map((v) => fmt(v, 2)).join(', ')}; ${b.roundP99.map((v) => fmt(v, 2)).join(', ')} | ${fmt(w.cpuPerRequest)} | ${fmt(b.cpuPerRequest)} | ${fmt(w.sendLagP99Us)}; ${fmt(b.sendLagP99Us)} | ${w.samples}; ${b.samples} | ${other(o)} | ${w.errors + b.errors} |`,
    );
  }
  add('');

  const coldW = median(r.cold.webhook);
  const coldB = median(r.cold.baseline);
  const rss = { w: r.memoryOf.webhook.peakRssMiB, b: r.memoryOf.baseline.peakRssMiB };
  add('## Process', '');
  add('| | webhook | baseline | ratio |', '|---|--:|--:|--:|');
  add(`| peak RSS (VmHWM after all the load above), MiB | ${fmt(rss.w, 1)} | ${fmt(rss.b, 1)} | ${x(rss.w / rss.b)} |`);
  add(`| cold start: spawn → first 200 on /healthz, median of ${r.cold.webhook.length}, ms | ${fmt(coldW, 1)} | ${fmt(coldB, 1)} | ${x(coldW / coldB)} |`);
  add(`| cold start, every run (ms) | ${r.cold.webhook.map((v) => fmt(v)).join(', ')} | ${r.cold.baseline.map((v) => fmt(v)).join(', ')} | |`);
  add(`| spawn → "listening" log line, median, ms | ${fmt(median(r.cold.webhookListening), 1)} | | |`);
  add('');

  // ---- Targets ----
  const by = (label) => r.saturation.find((s) => s.size.label === label);
  const targets = [];
  const target = (name, measured, pass) => targets.push({ name, measured, pass });
  target('throughput ≥ 0.75× baseline at 8 KB', x(by('8 KB').ratio), by('8 KB').ratio >= 0.75);
  target(
    `p99 at ${RATE} req/s ≤ 1.5× baseline's (every size)`,
    r.openLoopResults.map((o) => `${o.size.label} ${x(o.ratio)}`).join(', '),
    r.openLoopResults.every((o) => o.ratio <= 1.5),
  );
  const r3 = by('3 KB').ratio;
  for (const label of ['20 KB', '60 KB']) {
    target(
      `throughput ratio at ${label} no worse than at 3 KB (tolerance ${RATIO_TOLERANCE})`,
      `${x(by(label).ratio)} vs ${x(r3)}`,
      by(label).ratio >= r3 - RATIO_TOLERANCE,
    );
  }
  target('peak RSS ≤ 1.3× baseline', x(rss.w / rss.b), rss.w / rss.b <= 1.3);
  target('cold start ≤ 2× baseline', `${x(coldW / coldB)} (${fmt(coldW)} vs ${fmt(coldB)} ms)`, coldW / coldB <= 2);
  add('## Targets (ratios measured in this run)', '', '| target | measured | result |', '|---|---|---|');
  for (const t of targets) add(`| ${t.name} | ${t.measured} | **${t.pass ? 'PASS' : 'FAIL'}** |`);
  add('');

  // ---- Cold start breakdown ----
  add('## Where the cold start goes', '');
  add(`- Node's own start (a bare \`node -e\` to its first write): **${fmt(r.nodeTiming.spawnToUserCodeMs, 1)} ms**, of which ${fmt(r.nodeTiming.beforeV8Ms, 1)} ms before V8 starts (process setup and OpenSSL initialisation) and ${fmt(r.nodeTiming.bootstrapMs, 1)} ms of Node's bootstrap.`);
  add(`- Each runtime dependency imported alone in a fresh process (median of ${P.importRuns}; ms): ${DEPENDENCIES.map((d) => `${d} **${fmt(r.imports[d], 1)}**`).join(', ')}.`);
  add(
    `- CPU profile of \`serve\` (\`node --cpu-prof\`, 100 µs sampling, which itself slows start-up): cold start ${fmt(r.profile.coldStartMs)} ms under the profiler; ${fmt(r.profile.beforeProfileMs)} ms pass before the profiler starts (Node before V8); ${fmt(r.profile.profiledMs)} ms profiled up to the first 200 on /healthz, by cause (outermost package on the stack):`,
  );
  add('', '| cause | ms |', '|---|--:|');
  for (const [cause, value] of r.profile.causes.filter(([, v]) => v >= 0.5)) add(`| ${cause} | ${fmt(value, 1)} |`);
  add('');

  // ---- Ablation ----
  const full = r.ablation.find((a) => a.name === 'full');
  const base = r.ablation.find((a) => a.name === 'baseline');
  add('## What each part of a request costs in the running server (8 KB, ablation)', '');
  add(
    `The real \`dist/cli.js serve\`, started with module-loader hooks (bench/ablation-hooks.js; nothing on disk changes) that make one part (nearly) free; the CPU it saves is what that part costs in the running server. autocannon, 16 connections, ${P.rounds} alternating rounds of ${QUICK ? 2 : 4} s; medians.`,
    '',
    '| variant | what is replaced | req/s | vs baseline | CPU µs/req | saves vs full (µs/req) | other processes (max, cores) |',
    '|---|---|--:|--:|--:|--:|--:|',
  );
  for (const a of r.ablation) {
    add(`| ${a.name} | ${a.what} | ${fmt(a.rps)} | ${x(a.rps / base.rps)} | ${fmt(a.cpuPerRequest)} | ${a.name === 'full' || a.name === 'baseline' ? '' : fmt(full.cpuPerRequest - a.cpuPerRequest)} | ${other(a)} |`);
  }
  add('');

  // ---- Per-request breakdown ----
  const at8 = r.saturation.find((s) => s.size.label === '8 KB');
  const perRequest = at8.webhook.cpuPerRequest;
  add(`## Where a request's time goes (8 KB, webhook under \`--cpu-prof\`)`, '');
  add(
    `Shares of the webhook's busy CPU samples while autocannon drove it (${r.requestProfile.requests} requests), inclusive (a sample counts for every package or file on its stack), converted to µs with the webhook's ${fmt(perRequest)} µs/request measured without the profiler above (baseline: ${fmt(at8.baseline.cpuPerRequest)} µs/request, i.e. TLS, HTTP, JSON.parse and the write cost ~that much anyway).`,
  );
  add('', '| package / file (inclusive) | share | ≈ µs per request |', '|---|--:|--:|');
  const skip = new Set(['other: (root)', 'Node: process', 'Node: events', 'Node: timers', 'Node: async_hooks']);
  for (const [name, share] of r.requestProfile.inclusive.filter(([name, share]) => !skip.has(name) && share >= 0.01).slice(0, 22)) {
    add(`| ${name} | ${fmt(share * 100, 1)}% | ${fmt(share * perRequest)} |`);
  }
  add('', `Top functions by self time (natives such as JSON.parse, JSON.stringify and TextDecoder count for their JS caller; \`writev\` is the TLS write: encryption and the syscall; under the profiler a request cost ${fmt((r.requestProfile.busyMs * 1000) / r.requestProfile.requests)} µs):`, '');
  add('| function | self share |', '|---|--:|');
  for (const [name, share] of r.requestProfile.functions) add(`| \`${name}\` | ${fmt(share * 100, 1)}% |`);
  add('');

  add('## Core micro-benchmark (bench/core.js)', '', r.core.markdown.trim(), '');
  return `${lines.join('\n')}\n`;
}
