// Where a request's time goes: the real `probe-injector serve` under `node --cpu-prof` while
// autocannon drives it (8 KB pod, 16 connections), the samples of the loaded period grouped
// inclusively (every sample whose stack passes through a package or file counts for it) and by
// self time. Shares are of the server's busy (non-idle) samples.
//
//   node bench/profile-load.js [seconds]     (also run by bench/run.js)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { allSizes } from './fixtures.js';
import { HOST, makeCertificates, startServer } from './lib.js';

/** Which bucket a call frame belongs to. */
function bucketOf(frame) {
  const url = frame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `probe-injector ${url.slice(dist + 1)}`;
  if (url.startsWith('node:')) {
    const name = url.replace(/^node:(internal\/)?/, '');
    if (/^(_http|http)/.test(name)) return 'Node: http';
    if (/^(_tls|tls|crypto|net|stream|streams)/.test(name) || name.startsWith('stream')) return 'Node: tls / net / streams';
    return `Node: ${name.split('/')[0]}`;
  }
  if (frame.functionName === '(garbage collector)') return 'Node: garbage collector';
  if (frame.functionName === '(program)') return 'Node: native (TLS crypto, syscalls, JSON natives)';
  if (frame.functionName === '(idle)') return '(idle)';
  return `other: ${frame.functionName || '(anonymous)'}`;
}

export async function profileUnderLoad(certs, { seconds = 5, sizeIndex = 1 } = {}) {
  const size = allSizes()[sizeIndex];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-loadprof-'));
  try {
    const server = await startServer('webhook', certs, { extraNodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'] });
    const run = (duration) =>
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
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    return { size: size.label, requests: result.requests.total, ...group(profile, Number(from), Number(to)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function group(profile, from, to) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stackBuckets = new Map();
  const bucketsOf = (id) => {
    let cached = stackBuckets.get(id);
    if (!cached) {
      const set = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) set.add(bucketOf(byId.get(at).callFrame));
      cached = { self: bucketOf(byId.get(id).callFrame), all: set };
      stackBuckets.set(id, cached);
    }
    return cached;
  };
  const self = new Map();
  const inclusive = new Map();
  const functions = new Map();
  const functionOf = (frame) =>
    `${frame.functionName || '(anonymous)'} ${frame.url ? `${frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}` : ''}`.trim();
  let busy = 0;
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) return;
    const weight = profile.timeDeltas[i + 1] ?? 0;
    const { self: own, all } = bucketsOf(id);
    if (own === '(idle)') return;
    busy += weight;
    self.set(own, (self.get(own) ?? 0) + weight);
    const fn = functionOf(byId.get(id).callFrame);
    functions.set(fn, (functions.get(fn) ?? 0) + weight);
    for (const bucket of all) inclusive.set(bucket, (inclusive.get(bucket) ?? 0) + weight);
  });
  const shares = (map) => [...map.entries()].map(([k, v]) => [k, v / busy]).sort((a, b) => b[1] - a[1]);
  return { busyMs: busy / 1000, self: shares(self), inclusive: shares(inclusive), functions: shares(functions).slice(0, 15) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-'));
  try {
    const certs = await makeCertificates(dir);
    const result = await profileUnderLoad(certs, { seconds: Number(process.argv[2] ?? 5) });
    console.log(`${result.size}: ${result.requests} requests, ${result.busyMs.toFixed(0)} ms busy`);
    console.log('\ninclusive:');
    for (const [k, v] of result.inclusive.slice(0, 25)) console.log(`${(v * 100).toFixed(1).padStart(6)}%  ${k}`);
    console.log('\nself:');
    for (const [k, v] of result.self.slice(0, 25)) console.log(`${(v * 100).toFixed(1).padStart(6)}%  ${k}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
