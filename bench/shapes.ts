// Adversarial pod shapes (issue 11): what one `kubectl apply` can send, up to kube-apiserver's
// 3 MiB request limit. Each builds an AdmissionReview v1 CREATE of an opted-in pod (unless said
// otherwise) on the bench's 3 KB review, filled to the asked size with the shape's own element, or
// — for shapes whose element is bounded far below that — with env vars of a container that is not
// a target ("padding"), so every request is as large as the API server allows.
//
// Used by `npm run bench` (the "worst case" section) and test/memory.test.ts.
import { reviewOfSize, SIZES, UID, type Json } from './fixtures.js';

export const MiB = 1024 * 1024;
/** kube-apiserver refuses request bodies over 3 MiB (its MaxRequestBodyBytes); what it sends a webhook is about that size too. */
export const API_SERVER_LIMIT = 3 * MiB;
/** The default size of a shape: just under the limit. */
export const SHAPE_BYTES = API_SERVER_LIMIT - 4096;

const P = 'probe-injector.io/';

export interface Shape {
  readonly name: string;
  /** What the request holds, for the report. */
  readonly what: string;
  /** What the webhook should do with it (the bound that applies), for the report. */
  readonly expected: string;
  /** The review's compact JSON, about `bytes` long. */
  build(bytes?: number): string;
}

/** The 3 KB review: two containers, `app` the default target, opted in (spring-boot, Nacos hook, the gate). */
function base(): Json {
  const review = reviewOfSize(SIZES[0] ?? { label: '3 KB', target: 3072, env: 2, lean: true });
  review.request.uid = UID;
  return review;
}

const size = (review: Json) => Buffer.byteLength(JSON.stringify(review));

/**
 * Adds items made by `make(i)` to `list` until the review is about `bytes` long (measured, then
 * estimated from the next item's size, a little short, and measured again until full).
 */
function fill(review: Json, list: unknown[], make: (i: number) => unknown, bytes: number): void {
  let i = list.length;
  for (let round = 0; round < 30; round++) {
    const gap = bytes - size(review);
    const itemSize = (at: number) => Buffer.byteLength(JSON.stringify(make(at))) + 1;
    if (gap < itemSize(i)) return;
    const item = itemSize(i + Math.floor(gap / itemSize(i))); // the last item's size: names grow with i
    const count = Math.max(1, Math.floor((gap / item) * 0.95));
    for (let n = 0; n < count; n++) list.push(make(i++));
  }
}

/**
 * Adds `key(i): value` entries to a map until the review is about `bytes` long, counting bytes as
 * JSON writes them (`"key":"value",`) rather than serialising the growing map again and again.
 */
function fillMap(review: Json, map: Record<string, string>, key: (i: number) => string, value: string, bytes: number): void {
  let total = size(review);
  for (let i = 0; ; i++) {
    const name = key(i);
    const entry = Buffer.byteLength(name) + Buffer.byteLength(value) + 6;
    if (total + entry > bytes) return;
    map[name] = value;
    total += entry;
  }
}

/** Fills the rest with env vars on a `padding` container (not a target). */
function pad(review: Json, bytes: number): Json {
  const padding = { name: 'padding', image: 'busybox', env: [] as unknown[] };
  review.request.object.spec.containers.push(padding);
  const value = 'p'.repeat(1000);
  fill(review, padding.env, (i) => ({ name: `PAD_${i}`, value }), bytes);
  return review;
}

const annotations = (review: Json): Record<string, string> => review.request.object.metadata.annotations;
/** Short, distinct container names: a, b, …, z, 10, 11, … (base 36). */
const shortName = (i: number) => (i < 26 ? String.fromCharCode(97 + i) : (i + 10).toString(36));
/** A valid readiness probe whose exec command holds `length` characters. */
const probeOf = (length: number) => JSON.stringify({ exec: { command: ['/bin/sh', '-c', `test -f /tmp/ready # ${'x'.repeat(Math.max(0, length - 60))}`] }, periodSeconds: 5 });
/** `{"exec":{"command":[[[…"x"…]]]}}` nested `depth` deep: valid JSON, not a probe. */
const nestedProbe = (depth: number) => `{"exec":{"command":${'['.repeat(depth)}"x"${']'.repeat(depth)}}}`;
const json = (review: Json) => JSON.stringify(review);

export const SHAPES: readonly Shape[] = [
  {
    name: 'env vars (benign)',
    what: 'the app container with 3 MiB of env vars',
    expected: 'patched: the reference for what parsing 3 MiB costs',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const env = (review.request.object.spec.containers[0].env ??= []) as unknown[];
      fill(review, env, (i) => ({ name: `SETTING_${i}`, value: 'v'.repeat(200) }), bytes);
      return json(review);
    },
  },
  {
    name: 'many containers, all targeted',
    what: 'tens of thousands of containers, every one named in `containers`',
    expected: 'denied: more than 64 target containers',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const spec = review.request.object.spec;
      spec.containers = [];
      const container = (i: number) => ({ name: shortName(i), image: 'busybox', ports: [{ containerPort: 8080 }] });
      // The names take ~5 bytes more each in the annotation: leave room for them.
      fill(review, spec.containers, container, bytes - Math.round((bytes / 60) * 5));
      annotations(review)[`${P}containers`] = spec.containers.map((c: { name: string }) => c.name).join(',');
      annotations(review)['kubectl.kubernetes.io/default-container'] = 'a';
      return json(review);
    },
  },
  {
    name: 'many containers, first targeted',
    what: 'tens of thousands of containers, none named (the default target)',
    expected: 'patched: one target, the rest read once',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const spec = review.request.object.spec;
      const app = spec.containers[0];
      spec.containers = [app];
      fill(review, spec.containers, (i) => ({ name: `c${i}`, image: 'busybox', ports: [{ containerPort: 8080 }] }), bytes);
      return json(review);
    },
  },
  {
    name: 'many annotations',
    what: 'tens of thousands of foreign annotations',
    expected: "denied: over Kubernetes' 256 KiB of annotations",
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      fillMap(review, annotations(review), (i) => `example.com/key-${i}`, 'value', bytes);
      return json(review);
    },
  },
  {
    name: 'many readiness gates (annotation)',
    what: '`readiness-gates` listing ~10 000 gates (under 256 KiB), padded',
    expected: 'denied: more than 64 readiness gates',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      annotations(review)[`${P}readiness-gates`] = Array.from({ length: 10_000 }, (_, i) => `g${i}.example.com/ready`).join(',');
      return json(pad(review, bytes));
    },
  },
  {
    name: 'many readiness gates (spec)',
    what: 'tens of thousands of gates already in spec.readinessGates',
    expected: 'patched: the Nacos gate appended once',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const gates = (review.request.object.spec.readinessGates = [] as unknown[]);
      fill(review, gates, (i) => ({ conditionType: `example.com/gate-${i}` }), bytes);
      return json(review);
    },
  },
  {
    name: 'huge probe value',
    what: 'a 3 MiB `readiness-probe`',
    expected: 'denied: over 256 KiB of annotations',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      annotations(review)[`${P}readiness-probe`] = probeOf(bytes - size(review) - 100);
      return json(review);
    },
  },
  {
    name: 'large probe value (in the annotation bound)',
    what: 'a 250 KiB `readiness-probe`, padded',
    expected: 'denied: over the 16 KiB a copied value may have',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      annotations(review)[`${P}readiness-probe`] = probeOf(250 * 1024);
      return json(pad(review, bytes));
    },
  },
  {
    name: 'deeply nested probe value',
    what: 'a `readiness-probe` nested ~1.5 million deep (3 MiB)',
    expected: 'denied: over 256 KiB of annotations',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      annotations(review)[`${P}readiness-probe`] = nestedProbe(Math.floor((bytes - size(review) - 200) / 2));
      return json(review);
    },
  },
  {
    name: 'nested probe value (in the value bound)',
    what: 'a 16 KiB `readiness-probe` nested 8 000 deep, padded',
    expected: 'denied: not a valid probe (parsed and checked)',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      annotations(review)[`${P}readiness-probe`] = nestedProbe(8000);
      return json(pad(review, bytes));
    },
  },
  {
    name: 'a value copied to many targets',
    what: 'a 16 KiB `readiness-probe` and 64 containers named in `containers`, padded',
    expected: 'denied: 1 MiB would be copied, over the 256 KiB answer bound',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const spec = review.request.object.spec;
      spec.containers = Array.from({ length: 64 }, (_, i) => ({ name: `c${i}`, image: 'busybox', ports: [{ containerPort: 8080 }] }));
      annotations(review)[`${P}containers`] = spec.containers.map((c: { name: string }) => c.name).join(',');
      annotations(review)['kubectl.kubernetes.io/default-container'] = 'c0';
      annotations(review)[`${P}readiness-probe`] = probeOf(16 * 1024 - 200);
      return json(pad(review, bytes));
    },
  },
  {
    name: 'largest answer',
    what: 'a 2.3 KiB `readiness-probe` and 64 containers named in `containers`, padded',
    expected: 'patched: an answer just under the 256 KiB bound',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const spec = review.request.object.spec;
      spec.containers = Array.from({ length: 64 }, (_, i) => ({ name: `c${i}`, image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] }));
      annotations(review)[`${P}containers`] = spec.containers.map((c: { name: string }) => c.name).join(',');
      annotations(review)['kubectl.kubernetes.io/default-container'] = 'c0';
      annotations(review)[`${P}readiness-probe`] = probeOf(2300);
      return json(pad(review, bytes));
    },
  },
  {
    name: 'unknown keys',
    what: '3 MiB of unknown `probe-injector.io/` keys on an opted-in pod',
    expected: 'denied: over 256 KiB of annotations',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      fillMap(review, annotations(review), (i) => `${P}readyness-probe-typo-${i}`, 'true', bytes);
      return json(review);
    },
  },
  {
    name: 'unknown keys (in the annotation bound)',
    what: '5 000 unknown `probe-injector.io/` keys (~230 KB, under the 256 KiB bound) on an opted-in pod, padded',
    expected: 'denied: each listed up to 50, suggestions for the first 20',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const map = annotations(review);
      for (let i = 0; i < 5000; i++) map[`${P}readyness-probe-typo-${i}`] = 'true'; // ~230 KB
      return json(pad(review, bytes));
    },
  },
  {
    name: 'unknown keys, not opted in',
    what: '3 MiB of unknown `probe-injector.io/` keys, no `inject`',
    expected: 'skipped, with warnings for the first 20',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      const map = annotations(review);
      delete map[`${P}inject`];
      fillMap(review, map, (i) => `${P}injcet-typo-${i}`, 'true', bytes);
      return json(review);
    },
  },
  {
    name: '1 MiB generateName',
    what: 'metadata.generateName of 1 MiB, padded',
    expected: 'patched: the log line and messages cut',
    build: (bytes = SHAPE_BYTES) => {
      const review = base();
      review.request.object.metadata.generateName = `${'o'.repeat(MiB)}-`;
      return json(pad(review, bytes));
    },
  },
];

export function shapeNamed(name: string): Shape {
  const shape = SHAPES.find((s) => s.name === name);
  if (!shape) throw new Error(`no shape named ${name}`);
  return shape;
}

/**
 * Response amplification (issue 11): `targets` containers, all named in `containers`, and a
 * `{probe}-probe` value of `valueBytes` for each of `probes`, which the webhook would copy into
 * every target. Before the bounds, 200 targets × one 0.98 MiB value got a 260 MiB answer.
 */
export function amplification(targets: number, probes: readonly ('readiness' | 'liveness' | 'startup')[], valueBytes: number): Shape {
  return {
    name: `amplification: ${targets} targets × ${probes.length} value(s) of ${Math.round(valueBytes / 1024)} KiB`,
    what: `${targets} containers named in \`containers\`, ${probes.map((p) => `\`${p}-probe\``).join(', ')} of ${Math.round(valueBytes / 1024)} KiB each`,
    expected: 'denied by a bound before anything is copied',
    build: () => {
      const review = base();
      const spec = review.request.object.spec;
      spec.containers = Array.from({ length: targets }, (_, i) => ({ name: `c${i}`, image: 'busybox', ports: [{ containerPort: 8080 }] }));
      annotations(review)[`${P}containers`] = spec.containers.map((c: { name: string }) => c.name).join(',');
      annotations(review)['kubectl.kubernetes.io/default-container'] = 'c0';
      for (const probe of probes) annotations(review)[`${P}${probe}-probe`] = probeOf(valueBytes);
      return json(review);
    },
  };
}

/** The amplification cases of issue 11, and the one where every bound is just met. */
export const AMPLIFICATIONS: readonly Shape[] = [
  amplification(200, ['readiness'], 1000 * 1024),
  amplification(300, ['readiness', 'liveness', 'startup'], 900 * 1024),
  amplification(64, ['readiness', 'liveness', 'startup'], 16 * 1024 - 200),
];
