import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { insertedOnly } from './mutate-line-diff.js';
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

/** `probe-injector mutate ARGS` in the fixtures directory, with `stdin` piped in when given (or a file descriptor as stdin). */
function mutate(args: readonly string[], stdin?: string | Buffer | { fd: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const fd = typeof stdin === 'object' && 'fd' in stdin ? stdin.fd : undefined;
    const child = spawn(process.execPath, [CLI, 'mutate', ...args], { cwd: FIXTURES, stdio: [fd ?? 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    if (fd === undefined) child.stdin?.end(stdin);
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
  { name: 'StatefulSet: two containers, grpc (--kubernetes-version), http-mode hook, grace period replaced', args: ['-f', 'statefulset.yaml', '--kubernetes-version', '1.30'], code: 0, stdout: 'statefulset.out.yaml', stderr: 'statefulset.stderr.txt' },
  { name: 'DaemonSet: default-container picks the second container, named port', args: ['-f', 'daemonset.yaml'], code: 0, stdout: 'daemonset.out.yaml' },
  { name: 'ReplicaSet: preStop added next to an existing postStart, POST', args: ['-f', 'replicaset.yaml'], code: 0, stdout: 'replicaset.out.yaml', stderr: 'replicaset.stderr.txt' },
  { name: 'Job: an exec readiness probe only', args: ['-f', 'job.yaml'], code: 0, stdout: 'job.out.yaml' },
  { name: "CronJob: spec.jobTemplate.spec.template; annotations on the CronJob's own metadata warned about", args: ['-f', 'cronjob.yaml'], code: 0, stdout: 'cronjob.out.yaml', stderr: 'cronjob.stderr.txt' },
  { name: 'ReplicationController (v1, spec.template), alone and in a List', args: ['-f', 'replicationcontroller.yaml'], code: 0, stdout: 'replicationcontroller.out.yaml' },
];

/** Manifests shaped like the ones people apply (see test/fixtures/mutate/realworld): only inserted lines. */
const REAL_WORLD: GoldenCase[] = [
  { name: 'bookstore (bookinfo-shaped): banner comments, kubectl style, no annotations on most templates', args: ['-f', 'realworld/bookstore.yaml'], code: 0, stdout: 'realworld-bookstore.out.yaml' },
  { name: 'shop-demo (microservices-demo-shaped): indented sequences, existing gRPC and http probes kept', args: ['-f', 'realworld/shop-demo.yaml', '--kubernetes-version', '1.30'], code: 0, stdout: 'realworld-shop-demo.out.yaml' },
  { name: 'registry (nacos-k8s-shaped): a named port, init containers, template not the last key, non-ASCII comments', args: ['-f', 'realworld/registry.yaml'], code: 0, stdout: 'realworld-registry.out.yaml' },
  { name: 'petclinic (spring-petclinic-cloud-shaped): duplicate resources, odd indentation, an empty annotations key', args: ['-f', 'realworld/petclinic.yaml'], code: 0, stdout: 'realworld-petclinic.out.yaml', stderr: 'realworld-petclinic.stderr.txt' },
  { name: 'gateway: four-space indentation and flow collections', args: ['-f', 'realworld/gateway-4space.yaml'], code: 0, stdout: 'realworld-gateway-4space.out.yaml', stderr: 'realworld-gateway-4space.stderr.txt' },
];

/** Streams, formats, config. */
const STREAMS: GoldenCase[] = [
  { name: 'mixed stream: only the opted-in Pod changes; every other document is byte for byte the same', args: ['-f', 'mixed.yaml'], code: 0, stdout: 'mixed.out.yaml' },
  { name: 'kind: List (YAML): items mutated in place, comments kept', args: ['-f', 'list.yaml'], code: 0, stdout: 'list.out.yaml' },
  { name: 'kind: List (JSON) in, YAML out; YAML 1.1 words stay quoted', args: ['-f', 'list.json'], code: 0, stdout: 'list-json.out.yaml' },
  { name: 'standard input (-f -)', args: ['-f', '-'], stdin: 'deployment.yaml', code: 0, stdout: 'deployment.out.yaml', stderr: 'stdin.stderr.txt' },
  { name: 'several -f: each read in order, one stream out (`---` between files)', args: ['-f', 'replicationcontroller.yaml', '-f', '-', '-f', 'job.yaml'], stdin: 'mixed.yaml', code: 0, stdout: 'several.out.yaml' },
  { name: '--config: injectByDefault, a custom profile, shutdownSeconds and Nacos defaults', args: ['-f', 'config-workloads.yaml', '--config', 'config.yaml'], code: 0, stdout: 'config-workloads.out.yaml', stderr: 'config-workloads.stderr.txt' },
  { name: 'the output read again: nothing more to do (the webhook is idempotent too)', args: ['-f', 'expected/deployment.out.yaml'], code: 0, stdout: 'deployment.out.yaml' },
];

const PATCHES: GoldenCase[] = [
  { name: '--patch: one Deployment', args: ['-f', 'deployment.yaml', '--patch'], code: 0, stdout: 'deployment.patch.json', stderr: 'deployment.stderr.txt' },
  { name: '--patch: a grace period replaced', args: ['-f', 'statefulset.yaml', '--patch', '--kubernetes-version', '1.30'], code: 0, stdout: 'statefulset.patch.json', stderr: 'statefulset.stderr.txt' },
  { name: '--patch: several files, each entry naming its file', args: ['-f', 'deployment.yaml', '-f', 'list.yaml', '--patch'], code: 0, stdout: 'several.patch.json', stderr: 'deployment.stderr.txt' },
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
  { name: '--explain: several files, each object naming its file', args: ['-f', 'mixed.yaml', '-f', 'replicationcontroller.yaml', '--explain'], code: 0, stdout: 'several.explain.txt' },
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
  { name: 'grpc without --kubernetes-version: the version is needed; exit 1', args: ['-f', 'statefulset.yaml'], code: 1, stderr: 'statefulset-no-version.stderr.txt' },
  { name: 'no -f at all: a usage error; exit 2', args: [], code: 2, stderr: 'no-input.stderr.txt' },
  { name: '-f - twice: a usage error; exit 2', args: ['-f', '-', '-f', '-'], code: 2, stderr: 'stdin-twice.stderr.txt' },
  { name: 'a bad --kubernetes-version: a usage error; exit 2', args: ['-f', 'pod.yaml', '--kubernetes-version', 'latest'], code: 2 },
  { name: 'an unknown flag: a usage error; exit 2', args: ['-f', 'pod.yaml', '--no-such-flag'], code: 2 },
  { name: 'one unreadable file among several: exit 2, nothing on stdout', args: ['-f', 'pod.yaml', '-f', 'no-such-file.yaml'], code: 2, stderr: 'missing.stderr.txt' },
];

const ALL = [...KINDS, ...REAL_WORLD, ...STREAMS, ...PATCHES, ...EXPLANATIONS, ...FAILURES];

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
    // Without a golden file for stderr on exit 2, any one-line message.
    const stderr = c.stderr === undefined && c.code === 2 ? result.stderr : golden(c.stderr, result.stderr);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: c.code,
      stdout: golden(c.stdout, result.stdout),
      stderr,
    });
    if (c.code === 2) expect(result.stderr).toMatch(/^probe-injector: |^error: /);
    // Diagnostics are single lines of ours, never a stack trace (commander's own usage errors, `error: …`, add the help).
    if (!result.stderr.startsWith('error: ')) for (const line of result.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^probe-injector: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    if (c.code === 2) expect(result.stdout).toBe('');
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
    case 'ReplicationController':
      return object.apiVersion?.startsWith('deploy.example.com/') ? [] : [object.spec.template];
    case 'CronJob':
      return [object.spec.jobTemplate.spec.template];
    default:
      return [];
  }
}

/** As kubectl reads YAML: merge keys, and the last of duplicate keys. */
const parseStream = (text: string): any[] => [...parseAllDocuments(text, { merge: true, uniqueKeys: false })].map((document) => document.toJS());
const YAML_OUTPUTS = [...KINDS, ...REAL_WORLD, ...STREAMS].filter((c) => c.stdout?.endsWith('.yaml'));

/** The flags of a case without its inputs. */
const flagsOf = (args: readonly string[]) => args.filter((arg, index) => arg !== '-f' && args[index - 1] !== '-f');

describe('every YAML output', () => {
  it.each(YAML_OUTPUTS.map((c) => [c.name, c] as const))('passes kube-apiserver validation: %s', async (_name, c) => {
    const { stdout } = await run(c);
    const pods = parseStream(stdout).flatMap(podsOf);
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) expect(validatePod(pod)).toEqual([]);
  });

  it.each(YAML_OUTPUTS.map((c) => [c.name, c] as const))('is a fixed point (mutating it again changes nothing): %s', async (_name, c) => {
    const { stdout } = await run(c);
    const again = await mutate(['-f', '-', ...flagsOf(c.args)], stdout);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(stdout);
    // Only the shell's own notes about the manifest may repeat (misplaced annotations, duplicate keys): kept-probe warnings stay silent on reinvocation.
    expect(again.stderr.split('\n').filter((line) => line !== '' && !line.includes('own metadata') && !line.includes('given twice'))).toEqual([]);
  });

  it.each(
    [
      ['pod.yaml', []],
      ['deployment.yaml', []],
      ['statefulset.yaml', ['--kubernetes-version', '1.30']],
      ['list.yaml', []],
      ['list.json', []],
      ['mixed.yaml', []],
      ['replicationcontroller.yaml', []],
      ['config-workloads.yaml', ['--config', 'config.yaml']],
      ['realworld/bookstore.yaml', []],
      ['realworld/shop-demo.yaml', ['--kubernetes-version', '1.30']],
      ['realworld/registry.yaml', []],
      ['realworld/petclinic.yaml', []],
      ['realworld/gateway-4space.yaml', []],
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

  const OPTED_IN = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  annotations:\n    probe-injector.io/inject: "true"\nspec:\n  containers:\n  - name: app\n    image: x\n    ports:\n    - containerPort: 8080\n';

  it.each([
    ['empty input: empty output', '', ''],
    ['comments only: passed through', '# nothing here\n', '# nothing here\n'],
    ['a document without a final newline keeps it missing', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}'],
    ['a byte-order mark is kept', '\ufeffapiVersion: v1\nkind: ConfigMap\n', '\ufeffapiVersion: v1\nkind: ConfigMap\n'],
    ['CRLF is kept', 'apiVersion: v1\r\nkind: ConfigMap\r\n---\r\nkind: Secret\r\n', 'apiVersion: v1\r\nkind: ConfigMap\r\n---\r\nkind: Secret\r\n'],
  ])('untouched, byte for byte: %s', async (_name, input, output) => {
    expect(await mutate(['-f', '-'], input)).toEqual({ code: 0, stdout: output, stderr: '' });
  });

  it('a mutated CRLF file with a byte-order mark and no final line break: CRLF everywhere, the mark first, still no final line break', async () => {
    const input = `\ufeff${OPTED_IN.replaceAll('\n', '\r\n').replace(/\r\n$/, '')}`;
    const result = await mutate(['-f', '-'], input);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('\ufeffapiVersion: v1\r\n')).toBe(true);
    expect(result.stdout.replaceAll('\r\n', '')).not.toContain('\n');
    expect(result.stdout).not.toMatch(/\r\n$/);
    expect(insertedOnly(input, result.stdout).changed).toEqual([]);
    expect(parseStream(result.stdout)[0].spec.containers[0].readinessProbe).toBeDefined();
  });

  it('several files, one stream: a line break and `---` between files, one byte-order mark at the start, each file untouched', async () => {
    const [a, b] = [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')];
    writeFileSync(a, '\ufeffkind: ConfigMap\r\nmetadata: {name: a}');
    writeFileSync(b, '\ufeffkind: Secret\nmetadata: {name: b}\n');
    const result = await mutate(['-f', a, '-f', b]);
    expect(result).toEqual({ code: 0, stdout: '\ufeffkind: ConfigMap\r\nmetadata: {name: a}\r\n---\r\nkind: Secret\nmetadata: {name: b}\n', stderr: '' });
    expect(parseStream(result.stdout).map((object) => object.metadata.name)).toEqual(['a', 'b']);
  });

  it('not UTF-8: a one-line error, exit 2', async () => {
    const file = path.join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.from('metadata:\n  name: caf\xe9\n', 'latin1'));
    expect(await mutate(['-f', file])).toEqual({ code: 2, stdout: '', stderr: `probe-injector: ${file}: not UTF-8 text\n` });
  });

  it('duplicate keys are read as kubectl reads them: the last one counts, with a warning naming the document, the key and the line', async () => {
    const input = OPTED_IN.replace('    image: x\n', '    image: old\n    image: x\n');
    const result = await mutate(['-f', '-'], input);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('probe-injector: <stdin>: document 1: warning: key image given twice in one mapping (line 11, column 5): the last one counts, as kubectl reads it\n');
    expect(parseStream(result.stdout)[0].spec.containers[0].image).toBe('x');
    expect(insertedOnly(input, result.stdout).changed).toEqual([]);
  });

  it('an alias into the template: the document is rewritten (with a warning saying so), still correct', async () => {
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
    expect(result.stderr).toMatch(/^probe-injector: <stdin>: document 1: warning: rewritten as a whole: the pod is reached through a YAML alias/);
    const [output] = parseStream(result.stdout);
    expect(Object.keys(output.spec.template.spec.containers[0])).toEqual(['name', 'image', 'ports', 'startupProbe', 'readinessProbe', 'livenessProbe']);
    expect(validatePod(output.spec.template)).toEqual([]);
  });

  it('-f - with standard input a directory: exit 2, not an empty success', async () => {
    const fd = openSync(dir, 'r');
    try {
      expect(await mutate(['-f', '-'], { fd })).toEqual({
        code: 2,
        stdout: '',
        stderr: 'probe-injector: cannot read standard input: it is a directory (give a file, or pipe the manifests in)\n',
      });
    } finally {
      closeSync(fd);
    }
  });

  it.each([
    ['flow sequences 100 000 deep', '['.repeat(100_000) + ']'.repeat(100_000), 'probe-injector: <stdin>:1:102: not valid YAML or JSON: nested more than 100 levels deep\n'],
    ['JSON objects 5 000 deep', '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000), 'probe-injector: <stdin>:1:506: not valid YAML or JSON: nested more than 100 levels deep\n'],
    ['block mappings 5 000 deep', Array.from({ length: 5_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n', 'probe-injector: <stdin>:102:102: not valid YAML or JSON: nested more than 100 levels deep\n'],
    ['a scalar over 1 MiB', `apiVersion: v1\nkind: ConfigMap\ndata:\n  big: "${'x'.repeat(1024 * 1024)}"\n`, 'probe-injector: <stdin>:4:8: not valid YAML or JSON: a scalar of 1048578 characters: more than the 1048576 accepted\n'],
    ['an ESC in the text', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\u001b[2Jb\n', 'probe-injector: <stdin>:4:10: not valid YAML or JSON: U+001B is a control character, which YAML does not allow (write it as an escape in a double-quoted string)\n'],
  ])('bounded input, a clear error and exit 2: %s', async (_name, input, stderr) => {
    expect(await mutate(['-f', '-'], input)).toEqual({ code: 2, stdout: '', stderr });
  });

  it('input over 32 MiB is refused before it is parsed: a file, and standard input', async () => {
    const file = path.join(dir, 'huge.yaml');
    const huge = Buffer.alloc(32 * 1024 * 1024 + 1, 'a');
    writeFileSync(file, huge);
    expect(await mutate(['-f', file])).toEqual({ code: 2, stdout: '', stderr: `probe-injector: ${file}: more than 33554432 bytes of input (mutate reads at most 33554432 bytes in all)\n` });
    expect(await mutate(['-f', '-'], huge)).toEqual({ code: 2, stdout: '', stderr: 'probe-injector: <stdin>: more than 33554432 bytes of input (mutate reads at most 33554432 bytes in all)\n' });
  });

  it('text from the manifest reaches the terminal escaped and cut: names, kinds and annotation keys in warnings, problems and --explain', async () => {
    // In YAML's double-quoted escapes (the raw characters are refused: see above).
    const evil = '\\e[31mred\\e[0m\\r\\u2028\\x9b2J';
    const input = [
      'apiVersion: v1',
      `kind: "Pod"`,
      'metadata:',
      `  name: "${evil}${'n'.repeat(200)}"`,
      '  annotations:',
      '    probe-injector.io/inject: "true"',
      `    "probe-injector.io/\\e]0;pwned\\a": "x"`,
      'spec:',
      '  containers:',
      `  - name: "\\e[1mapp"`,
      '    image: x',
      '    ports: [{containerPort: 8080}]',
      '---',
      `kind: "\\e[5mWidget\\u2029"`,
      `metadata: {name: "\\x9b"}`,
      '',
    ].join('\n');
    const [invalid, explained] = await Promise.all([mutate(['-f', '-'], input), mutate(['-f', '-', '--explain'], input.replace(/ {4}"probe-injector\.io\/\\e.*\n/, ''))]);
    expect(invalid.code).toBe(1);
    expect(explained.code).toBe(0);
    for (const text of [invalid.stderr, explained.stdout, explained.stderr]) {
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/);
      for (const line of text.split('\n')) expect(line.length).toBeLessThan(400);
    }
    expect(invalid.stderr).toContain('Pod "\\u001b[31mred\\u001b[0m\\u000d\\u2028\\u009b2J');
    expect(invalid.stderr).toContain('probe-injector.io/\\u001b]0;pwned\\u0007');
    expect(explained.stdout).toContain('target containers: "\\u001b[1mapp"');
    expect(explained.stdout).toContain('"\\u001b[5mWidget\\u2029" "\\u009b" (document 2): not mutated: not a Pod or a workload with a pod template');
  });

  it('--help lists the flags', async () => {
    const help = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'mutate', '--help']);
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.on('close', () => resolve(text));
    });
    for (const flag of ['--filename', '--patch', '--explain', '--config', '--kubernetes-version']) expect(help).toContain(flag);
  });
});
