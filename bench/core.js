// Micro-benchmark of the pure core, without HTTP: per request, JSON.parse of the body → admit()
// (schema, scope, annotations, plan, patch, base64) → JSON.stringify of the AdmissionReview answer.
// Also each step alone, the edge's own per-request pieces (strict UTF-8 decoding, the pino log
// line), and — for reference only — what clone-then-compare patching would cost instead.
//
//   node bench/core.js [--json FILE] [--quick]
//
// This is the one bench file that imports dist/ (the compiled core): run `npm run build` first.
import { writeFileSync, openSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { pino } from 'pino';
import * as v from 'valibot';
import { admit } from '../dist/core/admission.js';
import { AdmissionReviewSchema } from '../dist/core/admission-review.js';
import { isPod } from '../dist/core/pod.js';
import { makeInjectionConfig } from '../dist/core/config.js';
import { mutatePod } from '../dist/core/mutation.js';
import { allSizes } from './fixtures.js';

const args = process.argv.slice(2);
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const BATCH_MS = quick ? 40 : 100;
const BATCHES = quick ? 5 : 11;

const config = makeInjectionConfig();
const utf8 = new TextDecoder('utf-8', { fatal: true });
const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: openSync('/dev/null', 'w'), sync: true }));

let sink = 0; // keeps results alive so nothing is optimised away

/** Median µs per call over BATCHES batches of ~BATCH_MS each, after a warm-up. */
function measure(fn) {
  const warmupUntil = performance.now() + BATCH_MS * 3;
  let calibrate = 0;
  while (performance.now() < warmupUntil) {
    fn();
    calibrate++;
  }
  const perBatch = Math.max(1, Math.round(calibrate / 3));
  const results = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn();
    results.push(Number(process.hrtime.bigint() - start) / 1000 / perBatch);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

const sizes = allSizes();
// Warm every path up before the first measurement, so the first row is not paying for the JIT.
for (let i = 0; i < (quick ? 500 : 3000); i++) {
  for (const { body } of sizes) sink += JSON.stringify(admit(JSON.parse(body), config).review).length;
}

const rows = [];
for (const size of sizes) {
  const { body, bytes } = size;
  const buffer = Buffer.from(body);
  const parsed = JSON.parse(body);
  const pod = parsed.request.object;
  const answer = admit(parsed, config);
  if (!answer.review?.response?.patch) throw new Error(`${size.label}: the core produced no patch`);
  const patch = JSON.parse(Buffer.from(answer.review.response.patch, 'base64').toString('utf8'));

  const row = { label: size.label, bytes, env: size.env, operations: patch.length };
  row.total = measure(() => {
    const review = JSON.parse(body);
    const result = admit(review, config);
    sink += JSON.stringify(result.review).length;
  });
  row.parse = measure(() => {
    sink += JSON.parse(body) === null ? 1 : 0;
  });
  row.admit = measure(() => {
    sink += admit(parsed, config).operations;
  });
  row.schema = measure(() => {
    sink += v.is(AdmissionReviewSchema, parsed) && isPod(pod) ? 1 : 0;
  });
  row.mutatePod = measure(() => {
    sink += mutatePod(pod, config).patch.length;
  });
  row.stringify = measure(() => {
    sink += JSON.stringify(answer.review).length;
  });
  row.decodeStrict = measure(() => {
    sink += utf8.decode(buffer).length;
  });
  row.decodeToString = measure(() => {
    sink += buffer.toString('utf8').length;
  });
  row.log = measure(() => {
    logger.info({ outcome: 'patched', httpStatus: 200, uid: answer.uid, namespace: answer.namespace, pod: answer.pod, operations: answer.operations, durationMs: 0.123 }, 'admission');
  });
  // Reference only: the design the webhook does NOT use (clone the pod, apply, compare()).
  row.cloneAndDiff = measure(() => {
    const copy = structuredClone(pod);
    jsonpatch.applyPatch(copy, patch, false, true);
    sink += jsonpatch.compare(pod, copy).length;
  });
  rows.push(row);
}

const f = (n) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const lines = [
  '| pod | body bytes | env vars | patch ops | **parse → admit → stringify** | JSON.parse | admit() | of which: schemas | of which: mutatePod() | JSON.stringify | µs per KB (total) | strict UTF-8 decode (edge) | Buffer.toString (baseline) | pino log line (edge) | clone-and-diff (not used) |',
  '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${r.bytes} | ${r.env} | ${r.operations} | **${f(r.total)}** | ${f(r.parse)} | ${f(r.admit)} | ${f(r.schema)} | ${f(r.mutatePod)} | ${f(r.stringify)} | ${f(r.total / (r.bytes / 1024))} | ${f(r.decodeStrict)} | ${f(r.decodeToString)} | ${f(r.log)} | ${f(r.cloneAndDiff)} |`,
  ),
];
const markdown = `All figures µs per request (median of ${BATCHES} batches of ~${BATCH_MS} ms after warm-up), one core, no HTTP.\n\n${lines.join('\n')}\n`;
process.stdout.write(markdown);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ rows, markdown }, null, 2));
if (sink === 42) process.stdout.write('\n'); // never true; uses the sink
