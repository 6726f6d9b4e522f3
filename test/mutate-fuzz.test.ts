import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { runMutate, type MutateOptions } from '../src/commands/mutate.js';
import { insertedOnly } from './mutate-line-diff.js';

/**
 * `mutate` fuzzed at its edge: any text as a manifest, and manifests whose names, kinds,
 * annotation keys and values and container names are any text (escapes included, so the parsed
 * values carry ESC, CR, U+2028, C1 controls…). Whatever comes in, `mutate` answers with an exit
 * code and single lines of its own; nothing it prints to a terminal carries a control character
 * but the line feed — a tab or a carriage return only on stdout, and only when the input had one
 * itself (the YAML written back). The shell runs in-process (`runMutate`, the CLI's own code).
 */
async function mutate(input: string, options: Omit<MutateOptions, 'filename'> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runMutate({ ...options, filename: ['-'] }, { stdin: Readable.from([Buffer.from(input)]), stdout, stderr });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** C0 and C1 controls and DEL: never printed but as escapes. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

function checkOutput(input: string, result: { code: number; stdout: string; stderr: string }): void {
  expect([0, 1, 2]).toContain(result.code);
  expect(result.stderr).not.toMatch(CONTROL);
  // A message is one line: no tab, carriage return or Unicode line separator either.
  expect(result.stderr).not.toMatch(/[\t\r\u2028\u2029]/);
  for (const line of result.stderr.split('\n').slice(0, -1)) expect(line).toMatch(/^probe-injector: /);
  expect(result.stderr === '' || result.stderr.endsWith('\n')).toBe(true);
  expect(result.stdout).not.toMatch(CONTROL);
  if (!input.includes('\t')) expect(result.stdout).not.toContain('\t');
  if (!input.includes('\r')) expect(result.stdout).not.toContain('\r');
  if (result.code !== 0) expect(result.stdout).toBe('');
}

const NASTY = ['\u001b[31m', '\u001b]0;title\u0007', '\r', '\n', '\t', '\u2028', '\u2029', '\u009b2J', '\u0085', '\u007f', '\u0000', '\u202e', '\ufeff', '\ud800', 'probe-injector.io/', ': ', '- ', '{', '[', '"', "'", '&a', '*a', '---', '#'];

/** Any text: code points of every kind, and the characters that hurt terminals and YAML. */
const anyText = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 6 })), { maxLength: 12 }).map((parts) => parts.join('')), weight: 3 },
);

const KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'ConfigMap', 'List'];
const KEYS = ['inject', 'profile', 'port', 'type', 'path', 'containers', 'readiness-gates', 'readiness-command', 'nacos-deregister', 'readyness-path'];

const annotation = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYS).map((key) => `probe-injector.io/${key}`), fc.oneof(fc.constantFrom('true', 'false', 'http', '8080', '/ready'), anyText)),
  fc.tuple(anyText, anyText),
);

/** A Pod or workload whose texts are anything, opted in most of the time. */
const manifest = fc
  .record({
    kind: fc.oneof({ arbitrary: fc.constantFrom(...KINDS), weight: 4 }, { arbitrary: anyText, weight: 1 }),
    name: anyText,
    namespace: fc.option(anyText, { nil: undefined }),
    annotations: fc.array(annotation, { maxLength: 4 }),
    optIn: fc.boolean(),
    container: fc.oneof(fc.constant('app'), anyText),
    port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant(0)),
  })
  .map(({ kind, name, namespace, annotations, optIn, container, port }) => {
    const metadata = { name, ...(namespace === undefined ? {} : { namespace }), annotations: { ...(optIn ? { 'probe-injector.io/inject': 'true' } : {}), ...Object.fromEntries(annotations) } };
    const spec = { containers: [{ name: container, image: 'x', ...(port > 0 ? { ports: [{ containerPort: port }] } : {}) }] };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata, spec };
    switch (kind) {
      case 'Pod':
        return pod;
      case 'List':
        return { apiVersion: 'v1', kind: 'List', items: [pod, { kind: 'ConfigMap', metadata: { name } }] };
      case 'CronJob':
        return { apiVersion: 'batch/v1', kind, metadata: { name }, spec: { jobTemplate: { spec: { template: { metadata, spec } } } } };
      default:
        return { apiVersion: kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : kind === 'ReplicationController' ? 'v1' : 'apps/v1', kind, metadata: { name }, spec: { template: { metadata, spec } } };
    }
  });

/**
 * The `yaml` library (and JSON.stringify) write DEL and C1 controls raw inside double quotes, which
 * YAML does not allow (and kubectl's reader refuses, as `mutate` does): written as escapes, the
 * text is valid YAML with the same strings.
 */
const escapeRaw = (text: string) => text.replace(/[\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('mutate fuzzed', () => {
  it('any text: an exit code and lines of its own, no control character on a terminal', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (text) => {
        checkOutput(text, await mutate(text));
      }),
      { numRuns: 300 },
    );
  });

  it('manifests with any names, kinds, keys and values (as YAML and as JSON): the same, with --explain and --patch too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(manifest, { minLength: 1, maxLength: 3 }), fc.constantFrom('yaml', 'json'), fc.constantFrom<Omit<MutateOptions, 'filename'>>({}, { explain: true }, { patch: true }), async (objects, format, options) => {
        const text = escapeRaw(format === 'json' ? objects.map((object) => JSON.stringify(object)).join('\n---\n') : objects.map((object) => stringify(object)).join('---\n'));
        const result = await mutate(text, options);
        checkOutput(text, result);
        // Serialized by a library, the input is always valid YAML: never exit 2 for it.
        expect(result.code).not.toBe(2);
      }),
      { numRuns: 300 },
    );
  });

  it('manifests with any texts, mutated: the output is the input with lines inserted, and reads back as valid', async () => {
    await fc.assert(
      fc.asyncProperty(manifest, async (object) => {
        const text = escapeRaw(stringify(object));
        const result = await mutate(text);
        checkOutput(text, result);
        if (result.code !== 0) return;
        // Only inserted lines, but where a flow collection (`annotations: {}`) closes.
        for (const line of insertedOnly(text, result.stdout).changed) expect(line).toMatch(/[}\]]/);
        const again = await mutate(result.stdout);
        expect(again.code).toBe(0);
        expect(again.stdout).toBe(result.stdout); // a fixed point
      }),
      { numRuns: 200 },
    );
  });
});
