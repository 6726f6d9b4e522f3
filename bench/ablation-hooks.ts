// Module-loader hooks for the ablation and timing runs of the benchmark: the real `dist/cli.js
// serve`, with one part of the request path replaced by a (nearly) free stand-in, so that the
// difference in CPU per request is what that part costs *in the running server* (micro-benchmarks
// run it hot and flatter it); or with a few functions timed from inside the server. Nothing on disk
// changes; the hooks only act in the process started with them (see `ablationArgs`).
//
// Parts:
//   log      pino → a no-op logger
//   metrics  dist/metrics.js → no-op metrics
//   core     admit() memoised on request.uid: the schema check, annotations, plan, patch and its
//            base64 are computed once, and every later request with that uid gets the same answer
//   timing   admit() (dist/admission/admit.js), send() (dist/http/send.js: JSON.stringify of the
//            answer, writeHead, end) and the admission log call (logger.info) timed with
//            process.hrtime.bigint() on every call; the totals are written to `timingFile` as JSON
//            when the process exits
import type { LoadHookContext, LoadFnOutput, ResolveHookContext, ResolveFnOutput } from 'node:module';

export type AblationPart = 'log' | 'metrics' | 'core' | 'timing';

interface HookData {
  readonly ablate?: readonly AblationPart[];
  readonly timingFile?: string;
}

let ablate = new Set<AblationPart>();
let timingFile = '';

export async function initialize(data: HookData | undefined): Promise<void> {
  ablate = new Set(data?.ablate ?? []);
  timingFile = data?.timingFile ?? '';
}

const PINO_STUB = `
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

/** The timing registry, shared by every timed module through globalThis; written at exit. */
const timingRegistry = (file: string) => `
import * as __benchFs from 'node:fs';
const __benchTimings = (globalThis.__benchTimings ??= (() => {
  const totals = {};
  process.on('exit', () => {
    try { __benchFs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(totals)); } catch {}
  });
  return {
    record(name, started) {
      const entry = (totals[name] ??= { calls: 0, ns: 0 });
      entry.calls++;
      entry.ns += Number(process.hrtime.bigint() - started);
    },
  };
})());
`;

/** `source` with `export function name(` renamed and a timed `export function name(...)` wrapping it. */
function timeExport(source: string, name: string, file: string): string {
  const marker = `export function ${name}(`;
  if (!source.includes(marker)) throw new Error(`ablation timing: ${file} no longer exports function ${name}`);
  return (
    source.replace(marker, `function __timed_${name}(`) +
    timingRegistry(timingFile) +
    `export function ${name}(...args) { const started = process.hrtime.bigint(); try { return __timed_${name}(...args); } finally { __benchTimings.record(${JSON.stringify(name)}, started); } }\n`
  );
}

/** dist/logger.js with the process logger's `info` timed (the per-admission line is an info call). */
function timeLogger(source: string): string {
  const marker = 'export function createProcessLogger(';
  if (!source.includes(marker)) throw new Error('ablation timing: dist/logger.js no longer exports function createProcessLogger');
  return (
    source.replace(marker, 'function __timed_createProcessLogger(') +
    timingRegistry(timingFile) +
    `export function createProcessLogger(...args) {
      const made = __timed_createProcessLogger(...args);
      const info = made.logger.info.bind(made.logger);
      made.logger.info = (...a) => { const started = process.hrtime.bigint(); try { return info(...a); } finally { __benchTimings.record('logger.info', started); } };
      return made;
    }\n`
  );
}

export async function resolve(specifier: string, context: ResolveHookContext, next: (specifier: string, context?: ResolveHookContext) => ResolveFnOutput | Promise<ResolveFnOutput>): Promise<ResolveFnOutput> {
  if (specifier === 'pino' && ablate.has('log')) return { url: `data:text/javascript,${encodeURIComponent(PINO_STUB)}`, shortCircuit: true };
  return next(specifier, context);
}

export async function load(url: string, context: LoadHookContext, next: (url: string, context?: LoadHookContext) => LoadFnOutput | Promise<LoadFnOutput>): Promise<LoadFnOutput> {
  if (ablate.has('metrics') && url.endsWith('/dist/metrics.js')) return { format: 'module', source: METRICS_STUB, shortCircuit: true };
  const isAdmit = url.endsWith('/dist/admission/admit.js');
  const timed = ablate.has('timing') && (isAdmit || url.endsWith('/dist/http/send.js') || url.endsWith('/dist/logger.js'));
  if (!(ablate.has('core') && isAdmit) && !timed) return next(url, context);
  const result = await next(url, context);
  let source = String(result.source);
  if (ablate.has('core') && isAdmit) {
    if (!source.includes('export function admit(')) throw new Error('ablation: dist/admission/admit.js no longer exports function admit');
    source = source.replace('export function admit(', 'function realAdmit(') + CORE_MEMO;
  } else if (timed) {
    if (isAdmit) source = timeExport(source, 'admit', url);
    else if (url.endsWith('/dist/http/send.js')) source = timeExport(source, 'send', url);
    else source = timeLogger(source);
  }
  return { ...result, source, shortCircuit: true };
}

/** The node arguments that start a process with these hooks and these parts ablated (or timed). */
export function ablationArgs(parts: readonly AblationPart[], timingFileName?: string): string[] {
  const hooks = new URL(import.meta.url).href;
  const data: HookData = { ablate: parts, ...(timingFileName !== undefined && { timingFile: timingFileName }) };
  return ['--import', `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hooks)},{data:${JSON.stringify(data)}})`];
}
