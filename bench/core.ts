// Micro-benchmark of the pure core, without HTTP: per request, JSON.parse of the body → admit()
// (schema, scope, annotations, plan, patch, base64) → JSON.stringify of the AdmissionReview answer.
// Also each step alone, the edge's own per-request pieces (strict UTF-8 decoding, the admission
// log line as the server writes it), admit() with the CPU caches cold (as in a server, where TLS,
// HTTP and other requests run between two admissions), and — for reference only — what
// clone-then-compare patching would cost instead.
//
//   node .bench/bench/core.js [--json FILE] [--quick]
//
// It measures the built webhook (dist/, imported at run time; types from src/): run `npm run build` first.
import { openSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import jsonpatch from 'fast-json-patch';
import { pino } from 'pino';
import * as v from 'valibot';
import type * as AdmitModule from '../src/admission/admit.js';
import type * as ReviewModule from '../src/admission/review.js';
import type * as ConfigModule from '../src/core/config.js';
import type * as MutationModule from '../src/core/mutation.js';
import type * as PodModule from '../src/core/pod.js';
import type * as HandlerModule from '../src/http/admission-handler.js';
import type * as LogLineModule from '../src/serve/log-line.js';
import { allSizes, type Json } from './fixtures.js';
import { ROOT } from './lib.js';

const dist = (file: string) => pathToFileURL(path.join(ROOT, 'dist', file)).href;
const { admit }: typeof AdmitModule = await import(dist('admission/admit.js'));
const { AdmissionReviewSchema }: typeof ReviewModule = await import(dist('admission/review.js'));
const { makeInjectionConfig }: typeof ConfigModule = await import(dist('core/config.js'));
const { mutatePod }: typeof MutationModule = await import(dist('core/mutation.js'));
const { isPod }: typeof PodModule = await import(dist('core/pod.js'));
const { logFields }: typeof HandlerModule = await import(dist('http/admission-handler.js'));
const { boundLogLine, LOG_LIMITS }: typeof LogLineModule = await import(dist('serve/log-line.js'));

const args = process.argv.slice(2);
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const quick = args.includes('--quick') || process.env['BENCH_QUICK'] === '1';
const BATCH_MS = quick ? 40 : 100;
const BATCHES = quick ? 5 : 11;

const config = makeInjectionConfig();
const utf8 = new TextDecoder('utf-8', { fatal: true });
// The admission log line as the server writes it (dist/logger.js: pino, ISO time, the line bounded
// and escaped by boundLogLine), to /dev/null synchronously (the server batches its writes).
const logger = pino(
  { base: undefined, timestamp: pino.stdTimeFunctions.isoTime, hooks: { streamWrite: (line: string) => boundLogLine(line, LOG_LIMITS.lineBytes) } },
  pino.destination({ dest: openSync('/dev/null', 'w'), sync: true }),
);

let sink = 0; // keeps results alive so nothing is optimised away

/** Median µs per call over BATCHES batches of ~BATCH_MS each, after a warm-up. */
function measure(fn: () => void): number {
  const warmupUntil = performance.now() + BATCH_MS * 3;
  let calibrate = 0;
  while (performance.now() < warmupUntil) {
    fn();
    calibrate++;
  }
  const perBatch = Math.max(1, Math.round(calibrate / 3));
  const results: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn();
    results.push(Number(process.hrtime.bigint() - start) / 1000 / perBatch);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)] ?? NaN;
}

// 8 MiB touched between two calls: more than this machine's L2 (and most L3 slices per core).
const evict = new Float64Array(1 << 20);
/** Median µs of `fn` alone, each call after the CPU caches were flushed of its code and data. */
function measureCold(fn: () => void, calls: number): number {
  const results = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    for (let j = 0; j < evict.length; j += 8) evict[j] = (evict[j] ?? 0) + 1;
    const start = process.hrtime.bigint();
    fn();
    results[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  results.sort();
  return results[Math.floor(calls / 2)] ?? NaN;
}

const sizes = allSizes();
// Warm every path up before the first measurement, so the first row is not paying for the JIT.
for (let i = 0; i < (quick ? 500 : 3000); i++) {
  for (const { body } of sizes) {
    const answer = admit(JSON.parse(body), config);
    if ('review' in answer) sink += JSON.stringify(answer.review).length;
  }
}

export interface CoreRow {
  readonly label: string;
  readonly bytes: number;
  readonly env: number;
  readonly operations: number;
  readonly total: number;
  readonly parse: number;
  readonly admit: number;
  readonly admitCold: number;
  readonly schema: number;
  readonly mutatePod: number;
  readonly base64: number;
  readonly stringify: number;
  readonly decodeStrict: number;
  readonly decodeToString: number;
  readonly log: number;
  readonly cloneAndDiff: number;
}

const rows: CoreRow[] = [];
for (const size of sizes) {
  const { body, bytes } = size;
  const buffer = Buffer.from(body);
  const parsed = JSON.parse(body) as Json;
  const pod = parsed['request'].object as unknown;
  const answer = admit(parsed, config);
  if (!('review' in answer) || !answer.review.response.patch) throw new Error(`${size.label}: the core produced no patch`);
  const review = answer.review;
  const patchBase64 = answer.review.response.patch;
  const patchJson = Buffer.from(patchBase64, 'base64').toString('utf8');
  const patch = JSON.parse(patchJson) as jsonpatch.Operation[];
  if (!isPod(pod)) throw new Error(`${size.label}: not a pod`);
  const event = { endpoint: 'mutate', outcome: answer.outcome, httpStatus: 200, reason: answer.reason, uid: answer.uid, namespace: answer.namespace, pod: answer.pod, operations: answer.operations, durationSeconds: 0.000123 } as const;

  rows.push({
    label: size.label,
    bytes,
    env: size.env,
    operations: patch.length,
    total: measure(() => {
      const result = admit(JSON.parse(body), config);
      if ('review' in result) sink += JSON.stringify(result.review).length;
    }),
    parse: measure(() => void (sink += JSON.parse(body) === null ? 1 : 0)),
    admit: measure(() => void (sink += 'operations' in admit(parsed, config) ? 1 : 0)),
    admitCold: measureCold(() => void (sink += 'operations' in admit(parsed, config) ? 1 : 0), quick ? 300 : 2000),
    schema: measure(() => void (sink += v.is(AdmissionReviewSchema, parsed) && isPod(pod) ? 1 : 0)),
    mutatePod: measure(() => void (sink += mutatePod(pod, config).patch.length)),
    base64: measure(() => void (sink += Buffer.from(patchJson).toString('base64').length)),
    stringify: measure(() => void (sink += JSON.stringify(review).length)),
    decodeStrict: measure(() => void (sink += utf8.decode(buffer).length)),
    decodeToString: measure(() => void (sink += buffer.toString('utf8').length)),
    log: measure(() => logger.info(logFields(event), 'admission')),
    // Reference only: the design the webhook does NOT use (clone the pod, apply, compare()).
    cloneAndDiff: measure(() => {
      const copy = structuredClone(pod) as object;
      jsonpatch.applyPatch(copy, patch, false, true);
      sink += jsonpatch.compare(pod as object, copy).length;
    }),
  });
}

const f = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const lines = [
  '| pod | body bytes | env vars | patch ops | **parse → admit → stringify** | JSON.parse | admit() | admit(), caches cold | of which: schemas | of which: mutatePod() | of which: base64 | JSON.stringify (answer) | µs per KB (total) | strict UTF-8 decode (edge) | Buffer.toString (baseline) | admission log line (edge) | clone-and-diff (not used) |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.bytes} | ${r.env} | ${r.operations} | **${f(r.total)}** | ${f(r.parse)} | ${f(r.admit)} | ${f(r.admitCold)} | ${f(r.schema)} | ${f(r.mutatePod)} | ${f(r.base64)} | ${f(r.stringify)} | ${f(r.total / (r.bytes / 1024))} | ${f(r.decodeStrict)} | ${f(r.decodeToString)} | ${f(r.log)} | ${f(r.cloneAndDiff)} |`,
  ),
];
const markdown = `All figures µs per request (median of ${BATCHES} batches of ~${BATCH_MS} ms after warm-up), one core, no HTTP; "caches cold": the median of single calls, each after 8 MiB of other memory was touched. The log line: \`logger.info(logFields(event))\` through pino with the server's bound-and-escape hook, written synchronously to /dev/null.\n\n${lines.join('\n')}\n`;
process.stdout.write(markdown);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ rows, markdown }, null, 2));
if (sink === 42) process.stdout.write('\n'); // never true; uses the sink
