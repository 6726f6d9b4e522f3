import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { validatePod } from './support/kube-validation.js';
import { CLI, ROOT } from './support/process.js';
import { admit, basePod, startTestWebhook, type TestWebhook } from './support/webhook.js';

/**
 * `probe-injector mutate`, run as a user runs it: the compiled dist/cli.js (built by `npm test`)
 * in a child process, on the manifests in test/fixtures/mutate, against golden files in
 * test/fixtures/mutate/expected. `UPDATE_GOLDEN=1` rewrites the golden files (review the diff!).
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'mutate');
const EXPECTED = path.join(FIXTURES, 'expected');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `probe-injector mutate ARGS` in the fixtures directory, with `stdin` piped in when given. */
function mutate(args: readonly string[], stdin?: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'mutate', ...args], { cwd: FIXTURES });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(stdin);
  });
}

const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

function golden(name: string | undefined, actual: string): string {
  if (name === undefined) return '';
  const file = path.join(EXPECTED, name);
  if (UPDATE) writeFileSync(file, actual);
  return readFileSync(file, 'utf8');
}

interface GoldenCase {
  readonly name: string;
  readonly args: readonly string[];
  /** A fixture piped to stdin. */
  readonly stdin?: string;
  readonly code: 0 | 1 | 2;
  /** Golden file of stdout; absent: nothing on stdout. */
  readonly stdout?: string;
  /** Golden file of stderr; absent: nothing on stderr. */
  readonly stderr?: string;
}

/** Each workload kind, YAML out. */
const KINDS: GoldenCase[] = [
  { name: 'Pod: probes added, a kept liveness probe with a warning, a gate appended', args: ['-f', 'pod.yaml'], code: 0, stdout: 'pod.out.yaml', stderr: 'pod.stderr.txt' },
  { name: 'Deployment: spring-boot probes, Nacos preStop, gate, grace period 48', args: ['-f', 'deployment.yaml'], code: 0, stdout: 'deployment.out.yaml', stderr: 'deployment.stderr.txt' },
  { name: 'StatefulSet: two containers, grpc, http-mode hook, grace period replaced', args: ['-f', 'statefulset.yaml'], code: 0, stdout: 'statefulset.out.yaml', stderr: 'statefulset.stderr.txt' },
  { name: 'DaemonSet: default-container picks the second container, named port', args: ['-f', 'daemonset.yaml'], code: 0, stdout: 'daemonset.out.yaml' },
  { name: 'ReplicaSet: preStop added next to an existing postStart, POST', args: ['-f', 'replicaset.yaml'], code: 0, stdout: 'replicaset.out.yaml', stderr: 'replicaset.stderr.txt' },
  { name: 'Job: an exec readiness probe only', args: ['-f', 'job.yaml'], code: 0, stdout: 'job.out.yaml' },
  { name: "CronJob: spec.jobTemplate.spec.template; annotations on the CronJob's own metadata warned about", args: ['-f', 'cronjob.yaml'], code: 0, stdout: 'cronjob.out.yaml', stderr: 'cronjob.stderr.txt' },
];

/** Streams, formats, config. */
const STREAMS: GoldenCase[] = [
  { name: 'mixed stream: only the opted-in Pod changes; every other document is byte for byte the same', args: ['-f', 'mixed.yaml'], code: 0, stdout: 'mixed.out.yaml' },
  { name: 'kind: List (YAML): items mutated in place, comments kept', args: ['-f', 'list.yaml'], code: 0, stdout: 'list.out.yaml' },
  { name: 'kind: List (JSON) in, YAML out; YAML 1.1 words stay quoted', args: ['-f', 'list.json'], code: 0, stdout: 'list-json.out.yaml' },
  { name: 'standard input (-f -)', args: ['-f', '-'], stdin: 'deployment.yaml', code: 0, stdout: 'deployment.out.yaml', stderr: 'stdin.stderr.txt' },
  { name: '--config: injectByDefault, a custom profile, shutdownSeconds and Nacos defaults', args: ['-f', 'config-workloads.yaml', '--config', 'config.yaml'], code: 0, stdout: 'config-workloads.out.yaml', stderr: 'config-workloads.stderr.txt' },
  { name: 'the output read again: nothing more to do (the webhook is idempotent too)', args: ['-f', 'expected/deployment.out.yaml'], code: 0, stdout: 'deployment.out.yaml' },
];

const PATCHES: GoldenCase[] = [
  { name: '--patch: one Deployment', args: ['-f', 'deployment.yaml', '--patch'], code: 0, stdout: 'deployment.patch.json', stderr: 'deployment.stderr.txt' },
  { name: '--patch: a grace period replaced', args: ['-f', 'statefulset.yaml', '--patch'], code: 0, stdout: 'statefulset.patch.json', stderr: 'statefulset.stderr.txt' },
  { name: '--patch: List items, paths relative to the item', args: ['-f', 'list.yaml', '--patch'], code: 0, stdout: 'list.patch.json' },
  { name: '--patch: nothing mutated is []', args: ['-f', 'config-workloads.yaml', '--patch'], code: 0, stdout: 'nothing.patch.json' },
];

const EXPLANATIONS: GoldenCase[] = [
  { name: '--explain: a mixed stream', args: ['-f', 'mixed.yaml', '--explain'], code: 0, stdout: 'mixed.explain.txt' },
  { name: '--explain: added, kept, gates, warnings', args: ['-f', 'pod.yaml', '--explain'], code: 0, stdout: 'pod.explain.txt', stderr: 'pod.stderr.txt' },
  { name: '--explain: grace period raised from unset', args: ['-f', 'deployment.yaml', '--explain'], code: 0, stdout: 'deployment.explain.txt', stderr: 'deployment.stderr.txt' },
  { name: '--explain: List items, opted out', args: ['-f', 'list.yaml', '--explain'], code: 0, stdout: 'list.explain.txt' },
  { name: '--explain: injectByDefault from --config', args: ['-f', 'config-workloads.yaml', '--config', 'config.yaml', '--explain'], code: 0, stdout: 'config-workloads.explain.txt', stderr: 'config-workloads.stderr.txt' },
  { name: '--explain: already mutated', args: ['-f', 'expected/deployment.out.yaml', '--explain'], code: 0, stdout: 'reinvocation.explain.txt' },
];

const FAILURES: GoldenCase[] = [
  { name: 'invalid annotations: every problem, named by document and annotation; exit 1', args: ['-f', 'invalid.yaml'], code: 1, stderr: 'invalid.stderr.txt' },
  { name: 'invalid annotations with --patch: exit 1, nothing on stdout', args: ['-f', 'invalid.yaml', '--patch'], code: 1, stderr: 'invalid.stderr.txt' },
  { name: 'invalid annotations with errorPolicy: warn: still exit 1, and says what the webhook would do', args: ['-f', 'invalid.yaml', '--config', 'config-warn.yaml'], code: 1, stderr: 'invalid-warn.stderr.txt' },
  { name: 'YAML syntax error: file, line and column; exit 2', args: ['-f', 'syntax-error.yaml'], code: 2, stderr: 'syntax-error.stderr.txt' },
  { name: 'a pod template that is not a pod: exit 2', args: ['-f', 'not-a-pod.yaml'], code: 2, stderr: 'not-a-pod.stderr.txt' },
  { name: 'missing file: exit 2', args: ['-f', 'no-such-file.yaml'], code: 2, stderr: 'missing.stderr.txt' },
  { name: 'a directory: exit 2', args: ['-f', 'expected'], code: 2, stderr: 'directory.stderr.txt' },
  { name: 'invalid --config: every problem; exit 2', args: ['-f', 'pod.yaml', '--config', 'config-invalid.yaml'], code: 2, stderr: 'config-invalid.stderr.txt' },
  { name: '--patch with --explain: exit 2', args: ['-f', 'pod.yaml', '--patch', '--explain'], code: 2, stderr: 'patch-and-explain.stderr.txt' },
];

const ALL = [...KINDS, ...STREAMS, ...PATCHES, ...EXPLANATIONS, ...FAILURES];

/** Each case runs once (several tests read its result), at most a few processes at a time. */
const runs = new Map<GoldenCase, Promise<Run>>();
const PARALLEL = Math.max(1, os.availableParallelism());
let running = 0;
const queue: (() => void)[] = [];
async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await task();
  } finally {
    running--;
    queue.shift()?.();
  }
}
const run = (c: GoldenCase) => {
  if (!runs.has(c)) runs.set(c, limited(() => mutate(c.args, c.stdin === undefined ? undefined : fixture(c.stdin))));
  return runs.get(c) as Promise<Run>;
};

describe('probe-injector mutate (golden files)', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    // Start them all; the tests then await their own. (Updating golden files runs them in order:
    // one case reads another's output.)
    if (!UPDATE) for (const c of ALL) void run(c);
  });

  it.each(ALL.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const result = await run(c);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: c.code,
      stdout: golden(c.stdout, result.stdout),
      stderr: golden(c.stderr, result.stderr),
    });
    // Diagnostics are single lines of ours, never a stack trace.
    for (const line of result.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^probe-injector: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

/** The pods (a Pod itself, or a workload's pod template) of a parsed document, found independently of src/. */
function podsOf(object: any): any[] {
  if (object?.kind?.endsWith('List') && Array.isArray(object.items)) return object.items.flatMap(podsOf);
  switch (object?.kind) {
    case 'Pod':
      return [object];
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return object.apiVersion?.startsWith('deploy.example.com/') ? [] : [object.spec.template];
    case 'CronJob':
      return [object.spec.jobTemplate.spec.template];
    default:
      return [];
  }
}

const parseStream = (text: string): any[] => [...parseAllDocuments(text, { merge: true })].map((document) => document.toJS());
const YAML_OUTPUTS = [...KINDS, ...STREAMS].filter((c) => c.stdout?.endsWith('.yaml'));

describe('every YAML output', () => {
  it.each(YAML_OUTPUTS.map((c) => [c.name, c] as const))('passes kube-apiserver validation: %s', async (_name, c) => {
    const { stdout } = await run(c);
    const pods = parseStream(stdout).flatMap(podsOf);
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) expect(validatePod(pod)).toEqual([]);
  });

  it.each(YAML_OUTPUTS.map((c) => [c.name, c] as const))('is a fixed point (mutating it again changes nothing): %s', async (_name, c) => {
    const { stdout } = await run(c);
    const config = c.args.indexOf('--config');
    const again = await mutate(['-f', '-', ...(config >= 0 ? c.args.slice(config, config + 2) : [])], stdout);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(stdout);
    // Only the shell's own hint about misplaced annotations may repeat: kept-probe warnings stay silent on reinvocation.
    expect(again.stderr.split('\n').filter((line) => line !== '' && !line.includes("own metadata"))).toEqual([]);
  });

  it.each(
    [
      ['pod.yaml', []],
      ['deployment.yaml', []],
      ['statefulset.yaml', []],
      ['list.yaml', []],
      ['list.json', []],
      ['mixed.yaml', []],
      ['config-workloads.yaml', ['--config', 'config.yaml']],
    ].map(([file, extra]) => [file as string, extra as string[]] as const),
  )('--patch applied to %s (strict RFC 6902) gives the YAML output', async (file, extra) => {
    const [yaml, patch] = await Promise.all([mutate(['-f', file, ...extra]), mutate(['-f', file, '--patch', ...extra])]);
    const input = parseStream(fixture(file));
    for (const entry of JSON.parse(patch.stdout)) {
      const index = entry.document - 1;
      const target = entry.item === undefined ? input[index] : input[index].items[entry.item];
      const patched = jsonpatch.applyPatch(target, entry.patch, true, false).newDocument;
      if (entry.item === undefined) input[index] = patched;
      else input[index].items[entry.item] = patched;
    }
    expect(input).toEqual(parseStream(yaml.stdout));
  });
});

describe('mutate agrees with the webhook', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  /** What kube-apiserver's defaulting adds to a container (taken from the recorded AdmissionReview), and protocol TCP on ports. */
  const { name: _n, image: _i, ports: _p, ...CONTAINER_DEFAULTS } = basePod().spec.containers[0];
  const defaulted = (container: any) => ({
    ...CONTAINER_DEFAULTS,
    ...container,
    ...(container.ports && { ports: container.ports.map((port: any) => ({ protocol: 'TCP', ...port })) }),
  });

  it('probe-injector mutate -f deployment.yaml prints the template the webhook gives the pod created from it', async () => {
    const [cli, patch] = await Promise.all([mutate(['-f', 'deployment.yaml']), mutate(['-f', 'deployment.yaml', '--patch'])]);
    expect(cli.code).toBe(0);
    const [input] = parseStream(fixture('deployment.yaml'));
    const [output] = parseStream(cli.stdout);
    const template = output.spec.template;

    // The Deployment now carries what the issue asks for, in its template.
    const app = template.spec.containers[0];
    expect(Object.keys(app)).toEqual(expect.arrayContaining(['startupProbe', 'readinessProbe', 'livenessProbe', 'lifecycle']));
    expect(app.lifecycle.preStop.exec.command[2]).toMatch(/'http:\/\/127\.0\.0\.1:8080\/api\/nacos\/deregister'.*; sleep 35$/);
    expect(template.spec.readinessGates).toEqual([{ conditionType: 'nacos.io/registered' }]);
    expect(template.spec.terminationGracePeriodSeconds).toBe(48);
    // Everything else in the Deployment is as it was.
    expect({ ...output, spec: { ...output.spec, template: input.spec.template } }).toEqual(input);

    // The pod the ReplicaSet controller would create from the *input* template, as kube-apiserver
    // sends it to the webhook: generateName, the namespace, and defaulting (grace period 30 included).
    const inputTemplate = input.spec.template;
    const pod = basePod(inputTemplate.metadata.annotations, (pod) => {
      delete pod.metadata.name;
      pod.metadata.generateName = 'orders-7c9d8f6b5d-';
      pod.metadata.namespace = 'shop';
      pod.metadata.labels = { ...inputTemplate.metadata.labels, 'pod-template-hash': '7c9d8f6b5d' };
      pod.spec.containers = inputTemplate.spec.containers.map(defaulted);
    });
    expect(pod.spec.terminationGracePeriodSeconds).toBe(30);
    const admitted = await admit(hook, pod);
    expect(admitted.response.allowed).toBe(true);

    expect(admitted.pod.spec.containers).toEqual(template.spec.containers.map(defaulted));
    expect(admitted.pod.spec.readinessGates).toEqual(template.spec.readinessGates);
    expect(admitted.pod.spec.terminationGracePeriodSeconds).toBe(template.spec.terminationGracePeriodSeconds);
    expect(admitted.pod.metadata.annotations).toEqual(template.metadata.annotations);
    // The same operations, on the same paths (the grace period is `replace` there: the API server set 30).
    const [entry] = JSON.parse(patch.stdout);
    expect(entry.patch.map((op: any) => op.path.replace(/^\/spec\/template/, ''))).toEqual(admitted.patch.map((op: any) => op.path));
    expect(entry.patch.map((op: any) => op.value)).toEqual(admitted.patch.map((op: any) => op.value));
    // And the same warnings, each named after the Deployment on stderr.
    expect(cli.stderr.trim().split('\n')).toEqual(admitted.warnings.map((w) => w.replace(/^probe-injector: /, 'probe-injector: deployment.yaml: Deployment shop/orders (document 1): warning: ')));
  });
});

describe('probe-injector mutate, edges', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-mutate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['empty input: empty output', '', ''],
    ['comments only: passed through', '# nothing here\n', '# nothing here\n'],
    ['a document without a final newline gets one', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n'],
  ])('%s', async (_name, input, output) => {
    expect(await mutate(['-f', '-'], input)).toEqual({ code: 0, stdout: output, stderr: '' });
  });

  it('not UTF-8: a one-line error, exit 2', async () => {
    const file = path.join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.from('metadata:\n  name: caf\xe9\n', 'latin1'));
    expect(await mutate(['-f', file])).toEqual({ code: 2, stdout: '', stderr: `probe-injector: ${file}: not UTF-8 text\n` });
  });

  it('duplicate keys are a syntax error with the position, as kube-apiserver refuses them', async () => {
    const result = await mutate(['-f', '-'], 'apiVersion: v1\nkind: Pod\nkind: Pod\n');
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'probe-injector: <stdin>:3:1: not valid YAML or JSON: Map keys must be unique\n' });
  });

  it('an alias into the template: the document is rebuilt, still correct', async () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: aliased}',
      'x-containers: &containers',
      '  - name: app',
      '    image: x',
      '    ports: [{containerPort: 8080}]',
      'spec:',
      '  template:',
      '    metadata:',
      '      annotations: {probe-injector.io/inject: "true"}',
      '    spec:',
      '      containers: *containers',
      '',
    ].join('\n');
    const result = await mutate(['-f', '-'], text);
    expect(result.code).toBe(0);
    const [output] = parseStream(result.stdout);
    expect(Object.keys(output.spec.template.spec.containers[0])).toEqual(['name', 'image', 'ports', 'startupProbe', 'readinessProbe', 'livenessProbe']);
    expect(validatePod(output.spec.template)).toEqual([]);
  });

  it('--help lists the flags', async () => {
    const help = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'mutate', '--help']);
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.on('close', () => resolve(text));
    });
    for (const flag of ['--filename', '--patch', '--explain', '--config']) expect(help).toContain(flag);
  });
});
