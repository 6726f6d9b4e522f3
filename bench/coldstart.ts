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
import { distFileOf, packageOf, profileTree, samples, type CpuProfile } from './cpu-profile.js';
import { median, ROOT, startServer, type Certificates, type RunningServer } from './lib.js';

function runNode(args: readonly string[]): Promise<{ out: string; firstOutputMs: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let firstOutput: bigint | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      firstOutput ??= process.hrtime.bigint();
      out += chunk.toString('utf8');
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ out, firstOutputMs: firstOutput === undefined ? NaN : Number(firstOutput - started) / 1e6 });
    });
  });
}

export interface NodeStart {
  readonly spawnToUserCodeMs: number;
  /** Process setup, OpenSSL initialisation, V8 platform. */
  readonly beforeV8Ms: number;
  readonly bootstrapMs: number;
  readonly userCodeAtMs: number;
}

/** Node's own start: spawn → the first byte a script writes; and performance.nodeTiming inside. */
export async function nodeStart(runs = 7): Promise<NodeStart> {
  const wall: number[] = [];
  const phases: Record<string, number>[] = [];
  for (let i = 0; i < runs; i++) {
    const { out, firstOutputMs } = await runNode(['-e', 'process.stdout.write(JSON.stringify({...performance.nodeTiming.toJSON(), now: performance.now()}))']);
    wall.push(firstOutputMs);
    phases.push(JSON.parse(out) as Record<string, number>);
  }
  const m = (f: (p: Record<string, number>) => number) => median(phases.map(f));
  return {
    spawnToUserCodeMs: median(wall),
    beforeV8Ms: m((p) => (p['v8Start'] ?? NaN) - (p['nodeStart'] ?? NaN)),
    bootstrapMs: m((p) => (p['bootstrapComplete'] ?? NaN) - (p['v8Start'] ?? NaN)),
    userCodeAtMs: m((p) => p['now'] ?? NaN),
  };
}

export const DEPENDENCIES = ['commander', 'pino', 'valibot', 'yaml', 'prom-client', 'express', 'selfsigned', '@kubernetes/client-node', 'node:https'] as const;

/** Each dependency imported alone in a fresh process: median ms over `runs`. */
export async function importCosts(runs = 5): Promise<Record<string, number>> {
  const script = (name: string) => `const t = performance.now(); await import(${JSON.stringify(name)}); process.stdout.write(String(performance.now() - t));`;
  const costs: Record<string, number> = {};
  for (const name of DEPENDENCIES) {
    const values: number[] = [];
    for (let i = 0; i < runs; i++) values.push(Number((await runNode(['--input-type=module', '-e', script(name)])).out));
    costs[name] = median(values);
  }
  return costs;
}

export interface ServeProfile {
  readonly coldStartMs: number;
  readonly beforeProfileMs: number;
  readonly profiledMs: number;
  readonly causes: [string, number][];
}

/** `probe-injector serve` under --cpu-prof from spawn to the first 200 on /healthz; ms per cause. */
export async function profileServe(certs: Certificates): Promise<ServeProfile> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-cpuprof-'));
  try {
    const server = await startServer('webhook', certs, { extraNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100'] });
    await server.stop(); // the profile is written when the process exits
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('no CPU profile written');
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
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
function attribute(profile: CpuProfile, server: RunningServer): Omit<ServeProfile, 'coldStartMs'> {
  const tree = profileTree(profile);
  const causeOf = new Map<number, string>();
  const cause = (id: number): string => {
    const cached = causeOf.get(id);
    if (cached) return cached;
    let outermostPackage: string | undefined;
    let outermostDist: string | undefined;
    for (const at of tree.stack(id)) {
      const url = tree.frame(at).url;
      outermostPackage = packageOf(url) ?? outermostPackage;
      outermostDist = distFileOf(url) ?? outermostDist;
    }
    const leaf = tree.frame(id).functionName;
    const result =
      outermostPackage ??
      outermostDist ??
      (leaf === '(garbage collector)'
        ? 'Node: garbage collector'
        : leaf === '(idle)'
          ? 'idle (waiting: I/O, timers)'
          : leaf === '(program)'
            ? 'Node: native (compiling, loading, TLS)'
            : 'Node: internal JS (module loader, bootstrap)');
    causeOf.set(id, result);
    return result;
  };
  // Count samples until the moment the first 200 on /healthz arrived; the profile's start shows
  // how long Node ran before V8 did.
  const end = Number(server.readyAt / 1000n);
  const totals = new Map<string, number>();
  let counted = 0;
  for (const sample of samples(profile)) {
    if (sample.at > end) break;
    const ms = sample.weightUs / 1000;
    const key = cause(sample.id);
    totals.set(key, (totals.get(key) ?? 0) + ms);
    counted += ms;
  }
  const beforeProfileMs = (profile.startTime - Number(server.spawnedAt / 1000n)) / 1000;
  return { beforeProfileMs, profiledMs: counted, causes: [...totals.entries()].sort((a, b) => b[1] - a[1]) };
}
