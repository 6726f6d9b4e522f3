// `npm run bench`: builds (dist/ and this benchmark, into .bench/), then measures
//
//   baseline    the webhook (`dist/cli.js serve`, started as a user would) against a bare
//               node:https server, same run, alternately: saturation, 500 req/s open loop, RSS,
//               the ablation runs and in-server timings
//   profile     where a request's CPU goes (--cpu-prof under load)
//   cold-start  spawn → first 200 on /healthz, and where that time goes
//   core        the pure core without HTTP
//   worst-case  adversarial pods at kube-apiserver's 3 MiB limit (issue 11)
//   apiserver   pod CREATEs through a real kube-apiserver (issue 15)
//   controller  the Nacos gate controller's own benchmark (issue 12, bench/controller.ts: its own cluster)
//
// and prints a markdown report; a run of every section writes it to bench/results.md.
//
//   npm run bench                              everything (~15 minutes); needs an idle machine
//   BENCH_WAIT_IDLE=20 npm run bench           first waits (up to 20 min) until nothing else uses the CPU
//   BENCH_QUICK=1 npm run bench                a short smoke run of the same steps (rough numbers)
//   npm run bench -- --only worst-case,apiserver   some sections (report on stdout and in .bench/)
//   node .bench/bench/run.js --render          the last run's report again, from its raw numbers
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { throughApiServer } from './apiserver.js';
import { startCluster, type Cluster } from './cluster.js';
import { importCosts, nodeStart, profileServe } from './coldstart.js';
import { allSizes, sizeOf } from './fixtures.js';
import { benchScript, busyCores, systemBusyMicros, systemStealMicros, CLI, HOST, loadAverage, log, machine, makeCertificates, memory, ROOT, startServer, waitForIdle, type Certificates, type RunningServer } from './lib.js';
import { profileUnderLoad } from './profile-load.js';
import { render, type BenchData, type ControllerSection } from './report.js';
import { ablate, coldStarts, inServerTimings, lowRate, MUTATE_PATH, openLoopBySize, saturationBySize, type Rounds } from './saturation.js';
import { worstCase } from './worst-case.js';

export const SECTIONS = ['baseline', 'profile', 'cold-start', 'core', 'worst-case', 'apiserver', 'controller'] as const;
type Section = (typeof SECTIONS)[number];

const P_QUICK: Rounds = { warmupS: 1, saturationS: 2, rounds: 1, openS: 3, openRounds: 1, coldRuns: 3, importRuns: 2, ablationS: 2 };
const P_FULL: Rounds = { warmupS: 2, saturationS: 5, rounds: 3, openS: 10, openRounds: 2, coldRuns: 9, importRuns: 5, ablationS: 4 };

const argv = process.argv.slice(2);
const QUICK = process.env['BENCH_QUICK'] === '1' || argv.includes('--quick');
const P = QUICK ? P_QUICK : P_FULL;
const onlyArg = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : process.env['BENCH_ONLY'];
const only = onlyArg ? onlyArg.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
for (const name of only ?? []) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}: one of ${SECTIONS.join(', ')}`);
const sections: readonly Section[] = only ? SECTIONS.filter((s) => only.includes(s)) : SECTIONS;
const wanted = (section: Section) => sections.includes(section);

const OUT_DIR = path.join(ROOT, '.bench');
const RAW_FILE = path.join(OUT_DIR, 'last-run.json');
const RESULTS = path.join(ROOT, 'bench', 'results.md');

if (argv.includes('--render')) {
  const data = JSON.parse(readFileSync(RAW_FILE, 'utf8')) as BenchData;
  const report = render(data);
  process.stdout.write(report);
  if (data.sections.length === SECTIONS.length) writeFileSync(RESULTS, report);
  process.exit(0);
}

if (!existsSync(CLI)) {
  log(`${CLI} not found: run \`npm run build\` first (npm run bench does).`);
  process.exit(1);
}

// BENCH_WAIT_IDLE=<minutes>: first wait (at most that long) until nothing else uses the CPU.
if (process.env['BENCH_WAIT_IDLE']) {
  const idle = await waitForIdle(Number(process.env['BENCH_WAIT_IDLE']) * 60_000, log);
  log(idle.gaveUp ? `machine still busy (${idle.busyCores.toFixed(2)} cores); going on anyway` : `machine idle (${idle.busyCores.toFixed(2)} cores busy)`);
}
const loadBefore = loadAverage();
if (loadBefore > 0.5) log(`WARNING: load average is ${loadBefore.toFixed(2)}; numbers will be noisy. Run on an idle machine.`);
const busyBefore = await busyCores(5000);

const workDir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-'));
const servers: RunningServer[] = [];
let cluster: Cluster | undefined;
const cleanup = async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop().catch(() => undefined)));
  await cluster?.stop().catch((error: unknown) => log(`stopping the cluster: ${String(error)}`));
  cluster = undefined;
  rmSync(workDir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const data: { -readonly [K in keyof BenchData]: BenchData[K] } = { quick: QUICK, rounds: P, sections, machine: machine(), loadBefore, loadAfter: NaN, busyBefore, machineBySection: {} };

/** Runs a section, noting how busy the machine was meanwhile (all processes) and what the hypervisor took (steal). */
async function section(name: Section, fn: () => Promise<void>): Promise<void> {
  const busy0 = systemBusyMicros();
  const steal0 = systemStealMicros();
  const t0 = process.hrtime.bigint();
  try {
    await fn();
  } catch (error) {
    // One section's failure must not lose the others' minutes of measurements.
    log(`section ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    (data.failures ??= []).push({ section: name, message: error instanceof Error ? error.message : String(error) });
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  data.machineBySection[name] = { seconds: wallUs / 1e6, busyCores: (systemBusyMicros() - busy0) / wallUs, stealCores: (systemStealMicros() - steal0) / wallUs };
}
try {
  const certs = await makeCertificates(workDir);
  if (wanted('baseline')) await section('baseline', () => baselineSections(certs));
  if (wanted('profile')) {
    await section('profile', async () => {
      log('per-request CPU profile of the webhook (8 KB, autocannon)');
      data.requestProfile = await profileUnderLoad(certs, { seconds: QUICK ? 2 : 5 });
    });
  }
  if (wanted('cold-start')) await section('cold-start', () => coldStartSections(certs));
  if (wanted('core')) {
    await section('core', async () => {
      log('core micro-benchmark (bench/core.ts)');
      const coreFile = path.join(workDir, 'core.json');
      await runChild([benchScript('core'), '--json', coreFile, ...(QUICK ? ['--quick'] : [])]);
      data.core = JSON.parse(readFileSync(coreFile, 'utf8')) as BenchData['core'];
    });
  }
  if (wanted('worst-case')) {
    await section('worst-case', async () => {
      data.worstCase = await worstCase(certs, { seconds: QUICK ? 2 : 5 }).catch((error: unknown) => ({ error: messageOf(error) }));
    });
  }
  if (wanted('apiserver')) await section('apiserver', async () => {
    log('starting the e2e cluster (test/e2e/cluster.sh)');
    const started = await startCluster((line) => log(line)).catch((error: unknown) => ({ error: messageOf(error) }));
    if ('error' in started) data.apiServer = started;
    else {
      cluster = started;
      data.apiServer = await throughApiServer(started, certs, workDir, { rounds: QUICK ? 100 : 500, warmupRounds: QUICK ? 20 : 50 }).catch((error: unknown) => ({ error: messageOf(error) }));
      await started.stop();
      cluster = undefined;
    }
  });
  if (wanted('controller')) await section('controller', async () => void (data.controller = await controllerSection()));
  data.loadAfter = loadAverage();
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(RAW_FILE, JSON.stringify(data, (_, value: unknown) => (value instanceof Float64Array ? undefined : value)));
  const report = render(data);
  process.stdout.write(report);
  if (sections.length === SECTIONS.length) {
    writeFileSync(RESULTS, report);
    log('written to bench/results.md');
  } else {
    writeFileSync(path.join(OUT_DIR, 'results-partial.md'), report);
    log('some sections only: written to .bench/results-partial.md (bench/results.md is for a run of every section)');
  }
  if (data.failures?.length) process.exitCode = 1;
} finally {
  await cleanup();
}

// ------------------------------------------------------------------------------------------------

async function baselineSections(certs: Certificates): Promise<void> {
  const sizes = allSizes();
  log('starting the webhook and checking its answers');
  const webhook = await startServer('webhook', certs);
  servers.push(webhook);
  const checks: NonNullable<BenchData['checks']> = [];
  let answer8 = '';
  for (const size of sizes) {
    const { status, text } = await post(webhook.port, certs.ca, size.body);
    const response = ((JSON.parse(text) as { response?: { uid?: string; allowed?: boolean; patchType?: string; patch?: string } }).response ?? {});
    const patch = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as unknown[]) : [];
    const ok = status === 200 && response.uid === size.review['request'].uid && response.allowed === true && response.patchType === 'JSONPatch' && patch.length > 0;
    if (!ok) throw new Error(`the webhook did not patch the ${size.label} pod: HTTP ${status} ${text.slice(0, 500)}`);
    checks.push({ label: size.label, operations: patch.length, answerBytes: Buffer.byteLength(text) });
    if (size.label === '8 KB') answer8 = text;
  }
  data.checks = checks;
  // The baseline answers the webhook's own (fixed) answer, so both send the same bytes back.
  const answerFile = path.join(workDir, 'answer.json');
  writeFileSync(answerFile, answer8);
  const baseline = await startServer('baseline', certs, { answerFile });
  servers.push(baseline);
  const pair = { webhook, baseline };
  data.saturation = await saturationBySize(pair, sizes, P);
  data.openLoop = await openLoopBySize(pair, sizes, certs.ca, P);
  data.memoryOf = { webhook: memory(webhook.pid), baseline: memory(baseline.pid) };
  data.lowRate = await lowRate(pair, sizeOf('8 KB'), certs.ca, P);
  data.ablation = await ablate(sizeOf('8 KB'), pair, certs, P, servers);
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  log('in-server timings (8 KB)');
  data.timings = await inServerTimings(sizeOf('8 KB'), certs, path.join(workDir, 'timings.json'), P);
}

async function coldStartSections(certs: Certificates): Promise<void> {
  const answerFile = path.join(workDir, 'answer.json');
  if (!existsSync(answerFile)) writeFileSync(answerFile, '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"fixed","allowed":true}}');
  data.cold = await coldStarts(certs, answerFile, P.coldRuns);
  const configFile = path.join(workDir, 'version.yaml');
  writeFileSync(configFile, 'kubernetesVersion: "1.30"\n');
  data.coldWithConfig = [];
  for (let run = 0; run < P.coldRuns; run++) {
    const server = await startServer('webhook', certs, { extraArgs: ['--config', configFile] });
    data.coldWithConfig.push(server.coldStartMs);
    server.child.kill('SIGKILL');
    await server.stop();
  }
  log('cold-start breakdown: node start, dependency imports, CPU profile of serve');
  data.nodeTiming = await nodeStart(P.coldRuns);
  data.imports = await importCosts(P.importRuns);
  data.startProfile = await profileServe(certs);
}

/**
 * The controller's own benchmark (bench/controller.ts, engineer "controller"; compiled beside this
 * file), run as a child process: it starts and stops its own cluster (test/e2e/cluster.sh) and
 * prints a markdown table, which goes into the report as it is. A quick run asks it for 500 pods
 * across 50 services instead of 5 000 across 500.
 */
async function controllerSection(): Promise<ControllerSection> {
  const script = benchScript('controller');
  if (!existsSync(script)) {
    return { stdout: "Not measured: the controller's benchmark script (`bench/controller.ts`) is not in the repository. `npm run bench` runs it here as soon as it exists.", stderrTail: '', seconds: 0 };
  }
  log('controller benchmark: bench/controller.ts');
  const t0 = Date.now();
  const args = [script, ...(QUICK ? ['--pods', '500', '--services', '50'] : [])];
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-20_000);
      process.stderr.write(chunk);
    });
    child.once('error', (error) => resolve({ code: -1, stdout, stderr: `${stderr}\n${error.message}` }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { script: `bench/controller.ts${QUICK ? ' --pods 500 --services 50' : ''}`, exitCode: result.code, stdout: result.stdout, stderrTail: result.stderr.slice(-3000), seconds: (Date.now() - t0) / 1000 };
}

function post(port: number, ca: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: HOST, servername: 'localhost', port, ca, method: 'POST', path: MUTATE_PATH, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function runChild(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
