// Where the webhook's cold start goes.
//
// 1. Node's own start (spawn → first line of user code written to stdout) and its phases
//    (performance.nodeTiming: before V8 starts, Node's bootstrap).
// 2. Each runtime dependency imported alone in a fresh process (median of several runs): what it
//    costs to load, whoever loads it.
// 3. A CPU profile (node --cpu-prof) of the real `probe-injector serve` from start to the first
//    200 on /healthz, its samples attributed to the dependency that caused them (the outermost
//    node_modules package on the stack; else the webhook's own dist/ code; else Node itself).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, ROOT, startServer } from './lib.js';

function runNode(args, { until } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let firstOutput;
    child.stdout.on('data', (chunk) => {
      firstOutput ??= process.hrtime.bigint();
      out += chunk;
      if (until && until.test(out)) child.kill('SIGKILL');
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 && !until) reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ out, firstOutputMs: firstOutput === undefined ? NaN : Number(firstOutput - started) / 1e6 });
    });
  });
}

/** Node's own start: spawn → the first byte a script writes; and performance.nodeTiming inside. */
export async function nodeStart(runs = 7) {
  const wall = [];
  const phases = [];
  for (let i = 0; i < runs; i++) {
    const { out, firstOutputMs } = await runNode(['-e', 'process.stdout.write(JSON.stringify({...performance.nodeTiming.toJSON(), now: performance.now()}))']);
    wall.push(firstOutputMs);
    phases.push(JSON.parse(out));
  }
  const m = (f) => median(phases.map(f));
  return {
    spawnToUserCodeMs: median(wall),
    beforeV8Ms: m((p) => p.v8Start - p.nodeStart), // process setup, OpenSSL initialisation, V8 platform
    bootstrapMs: m((p) => p.bootstrapComplete - p.v8Start),
    userCodeAtMs: m((p) => p.now),
  };
}

export const DEPENDENCIES = ['commander', 'pino', 'valibot', 'yaml', 'prom-client', 'express', 'selfsigned', 'node:https'];

/** Each dependency imported alone in a fresh process: median ms over `runs`. */
export async function importCosts(runs = 5, dependencies = DEPENDENCIES) {
  const script = (name) => `const t = performance.now(); await import(${JSON.stringify(name)}); process.stdout.write(String(performance.now() - t));`;
  const costs = {};
  for (const name of dependencies) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const { out } = await runNode(['--input-type=module', '-e', script(name)]);
      samples.push(Number(out));
    }
    costs[name] = median(samples);
  }
  return costs;
}

/** `probe-injector serve` under --cpu-prof from spawn to the first 200 on /healthz; ms per cause. */
export async function profileServe(certs) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-cpuprof-'));
  try {
    const server = await startServer('webhook', certs, { extraNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100'] });
    await server.stop(); // the profile is written when the process exits
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('no CPU profile written');
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    return { coldStartMs: server.coldStartMs, ...attribute(profile, server) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Attributes each sample (up to the first 200 on /healthz: the profile also holds the shutdown) to
 * the outermost node_modules package on its stack, else the outermost dist/ file, else a Node
 * category. Returns ms per cause, sorted.
 */
function attribute(profile, server) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const causeOf = new Map();
  const cause = (id) => {
    if (causeOf.has(id)) return causeOf.get(id);
    let outermostPackage;
    let outermostDist;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at).callFrame.url;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
      if (pkg) outermostPackage = pkg;
      else if (url.includes('/dist/')) outermostDist = `probe-injector ${url.slice(url.indexOf('/dist/') + 1)}`;
    }
    const leaf = byId.get(id).callFrame;
    let result = outermostPackage ?? outermostDist;
    if (!result) {
      if (leaf.functionName === '(garbage collector)') result = 'Node: garbage collector';
      else if (leaf.functionName === '(idle)') result = 'idle (waiting: I/O, timers)';
      else if (leaf.functionName === '(program)') result = 'Node: native (compiling, loading, TLS)';
      else result = 'Node: internal JS (module loader, bootstrap)';
    }
    causeOf.set(id, result);
    return result;
  };
  // V8's profile clock and process.hrtime are both CLOCK_MONOTONIC: count samples until the moment
  // the first 200 on /healthz arrived; the profile's start shows how long Node ran before V8 did.
  const end = Number(server.readyAt / 1000n);
  const totals = new Map();
  let t = profile.startTime;
  let counted = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t > end) return;
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const key = cause(id);
    totals.set(key, (totals.get(key) ?? 0) + ms);
    counted += ms;
  });
  const beforeProfileMs = (profile.startTime - Number(server.spawnedAt / 1000n)) / 1000;
  return { beforeProfileMs, profiledMs: counted, causes: [...totals.entries()].sort((a, b) => b[1] - a[1]) };
}
