// Module-loader hooks for the ablation runs of the benchmark: the real `dist/cli.js serve`, with
// one part of the request path replaced by a (nearly) free stand-in, so that the difference in CPU
// per request is what that part costs *in the running server* (micro-benchmarks run it hot and
// flatter it). Nothing on disk changes; the hooks only act in the process started with them:
//
//   node --import 'data:text/javascript,import{register}from"node:module";register("<this file URL>",{data:{ablate:["log"]}})' dist/cli.js serve …
//
// Parts: `log` (pino → a no-op logger), `metrics` (dist/metrics.js → no-op metrics),
// `core` (admit() memoised on request.uid: the schema check, annotations, plan, patch and its
// base64 are computed once, and every later request with that uid gets the same answer object).
let ablate = new Set();

export async function initialize(data) {
  ablate = new Set(data?.ablate ?? []);
}

const PINO_STUB = `
// Any property is a no-op function (flush calls its callback), so it fits however pino is used.
// Every property is callable and returns another such object; flush(cb) calls back.
const noops = () =>
  new Proxy(function () {}, {
    get: (_, key) => (key === 'then' ? undefined : key === 'flush' ? (cb) => (typeof cb === 'function' ? cb() : undefined) : noops()),
    apply: () => noops(),
  });
export const pino = noops();
export default pino;
`;

const METRICS_STUB = `
const noop = () => {};
const registry = { contentType: 'text/plain; version=0.0.4', metrics: async () => '' };
export function createMetrics() {
  return new Proxy({}, { get: (_, key) => (key === 'registry' ? registry : key === 'inFlight' ? () => noop : noop) });
}
`;

const CORE_MEMO = `
const memo = new Map();
export function admit(body, config) {
  const key = body?.request?.uid;
  let answer = memo.get(key);
  if (answer === undefined) {
    answer = realAdmit(body, config);
    memo.set(key, answer);
  }
  return answer;
}
`;

export async function resolve(specifier, context, next) {
  if (specifier === 'pino' && ablate.has('log')) return { url: `data:text/javascript,${encodeURIComponent(PINO_STUB)}`, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (ablate.has('metrics') && url.endsWith('/dist/metrics.js')) return { format: 'module', source: METRICS_STUB, shortCircuit: true };
  if (ablate.has('core') && url.endsWith('/dist/core/admission.js')) {
    const result = await next(url, context);
    const source = String(result.source);
    if (!source.includes('export function admit(')) throw new Error('ablation: dist/core/admission.js no longer exports function admit');
    return { ...result, source: source.replace('export function admit(', 'function realAdmit(') + CORE_MEMO, shortCircuit: true };
  }
  return next(url, context);
}

/** The node arguments that start a process with these hooks and these parts ablated. */
export function ablationArgs(parts) {
  const hooks = new URL(import.meta.url).href;
  return ['--import', `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hooks)},{data:{ablate:${JSON.stringify(parts)}}})`];
}
