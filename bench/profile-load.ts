// Where a request's time goes: the real `probe-injector serve` under `node --cpu-prof` while
// autocannon drives it (8 KB pod, 16 connections), the samples of the loaded period grouped
// inclusively (every sample whose stack passes through a package, file or function counts for
// it) and by self time. Shares are of the server's busy (non-idle) samples.
//
//   node .bench/bench/profile-load.js [seconds]     (also run by run.js)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { distFileOf, packageOf, profileTree, samples, type CallFrame, type CpuProfile } from './cpu-profile.js';
import { sizeOf } from './fixtures.js';
import { HOST, makeCertificates, startServer, type Certificates } from './lib.js';

/** Which bucket a call frame belongs to. */
function bucketOf(frame: CallFrame): string {
  const { url } = frame;
  const pkg = packageOf(url);
  if (pkg) return pkg;
  const dist = distFileOf(url);
  if (dist) return dist;
  if (url.startsWith('node:')) {
    const name = url.replace(/^node:(internal\/)?/, '');
    if (/^(_http|http)/.test(name)) return 'Node: http';
    if (/^(_tls|tls|crypto|net|stream)/.test(name)) return 'Node: tls / net / streams';
    return `Node: ${name.split('/')[0]}`;
  }
  if (frame.functionName === '(garbage collector)') return 'Node: garbage collector';
  if (frame.functionName === '(program)') return 'Node: native (TLS crypto, syscalls, JSON natives)';
  if (frame.functionName === '(idle)') return '(idle)';
  return `other: ${frame.functionName || '(anonymous)'}`;
}

/** `name file:line`, with node_modules/ and the checkout's path left out. */
function functionOf(frame: CallFrame): string {
  const where = frame.url ? `${frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

export interface LoadProfile {
  readonly size: string;
  readonly requests: number;
  /** Busy (non-idle) ms in the measured period. */
  readonly busyMs: number;
  /** [bucket, share of busy samples], sorted. */
  readonly self: [string, number][];
  readonly inclusive: [string, number][];
  /** Functions by self time (top 20). */
  readonly functions: [string, number][];
  /** The webhook's own functions (dist/), inclusive (top 30): the call tree's costs, flattened. */
  readonly ownInclusive: [string, number][];
}

export async function profileUnderLoad(certs: Certificates, { seconds = 5, sizeLabel = '8 KB', extraNodeArgs = [] as readonly string[] } = {}): Promise<LoadProfile> {
  const size = sizeOf(sizeLabel);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-loadprof-'));
  try {
    const server = await startServer('webhook', certs, { extraNodeArgs: [...extraNodeArgs, '--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'] });
    const run = (duration: number) =>
      autocannon({
        url: `https://${HOST}:${server.port}/mutate?timeout=10s`,
        servername: 'localhost',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: size.body,
        connections: 16,
        duration,
      });
    await run(2); // warm-up
    const from = process.hrtime.bigint() / 1000n;
    const result = await run(seconds);
    const to = process.hrtime.bigint() / 1000n;
    await server.stop();
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (!file) throw new Error('no CPU profile written');
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    return { size: size.label, requests: result.requests.total, ...group(profile, Number(from), Number(to)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function group(profile: CpuProfile, from: number, to: number): Omit<LoadProfile, 'size' | 'requests'> {
  const tree = profileTree(profile);
  const perNode = new Map<number, { self: string; buckets: Set<string>; own: Set<string>; fn: string }>();
  const infoOf = (id: number) => {
    let cached = perNode.get(id);
    if (!cached) {
      const buckets = new Set<string>();
      const own = new Set<string>();
      for (const at of tree.stack(id)) {
        const frame = tree.frame(at);
        buckets.add(bucketOf(frame));
        if (distFileOf(frame.url)) own.add(functionOf(frame));
      }
      cached = { self: bucketOf(tree.frame(id)), buckets, own, fn: functionOf(tree.frame(id)) };
      perNode.set(id, cached);
    }
    return cached;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const functions = new Map<string, number>();
  const ownInclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, weight: number) => map.set(key, (map.get(key) ?? 0) + weight);
  let busy = 0;
  for (const sample of samples(profile)) {
    if (sample.at < from || sample.at > to) continue;
    const info = infoOf(sample.id);
    if (info.self === '(idle)') continue;
    busy += sample.weightUs;
    add(self, info.self, sample.weightUs);
    add(functions, info.fn, sample.weightUs);
    for (const bucket of info.buckets) add(inclusive, bucket, sample.weightUs);
    for (const fn of info.own) add(ownInclusive, fn, sample.weightUs);
  }
  const shares = (map: Map<string, number>): [string, number][] => [...map.entries()].map(([k, v]): [string, number] => [k, v / busy]).sort((a, b) => b[1] - a[1]);
  return { busyMs: busy / 1000, self: shares(self), inclusive: shares(inclusive), functions: shares(functions).slice(0, 20), ownInclusive: shares(ownInclusive).slice(0, 30) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-'));
  try {
    const certs = await makeCertificates(dir);
    const result = await profileUnderLoad(certs, { seconds: Number(process.argv[2] ?? 5) });
    const print = (title: string, rows: [string, number][], n = 25) => {
      console.log(`\n${title}:`);
      for (const [k, v] of rows.slice(0, n)) console.log(`${(v * 100).toFixed(1).padStart(6)}%  ${k}`);
    };
    console.log(`${result.size}: ${result.requests} requests, ${result.busyMs.toFixed(0)} ms busy, ${((result.busyMs * 1000) / result.requests).toFixed(0)} µs/request under the profiler`);
    print('inclusive', result.inclusive);
    print('self', result.self);
    print('functions (self)', result.functions);
    print('own functions (inclusive)', result.ownInclusive, 30);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
