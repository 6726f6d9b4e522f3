import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { runMutate, type MutateOptions } from '../src/commands/mutate.js';
import { insertedOnly } from './mutate-line-diff.js';
import { validatePod } from './support/kube-validation.js';
import { ROOT } from './support/process.js';

/**
 * A GitOps diff of `mutate`'s output shows only what was added: over manifests shaped like the
 * ones people apply (Istio's bookinfo, microservices-demo, nacos-k8s, spring-petclinic-cloud, a
 * four-space flow-style file; see test/fixtures/mutate/realworld), in every line-ending variant,
 * with and without injectByDefault, every output line sequence is the input's with lines inserted.
 * The only lines that may change: a replaced `terminationGracePeriodSeconds`, and the line where
 * a flow collection the patch goes into (`{a: b}`) closes. The shell runs in-process
 * (`runMutate`, the same code as the CLI) to keep the matrix fast.
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'mutate');
const REAL_WORLD = readdirSync(path.join(FIXTURES, 'realworld')).filter((name) => name.endsWith('.yaml'));
/** Fixtures whose patches never go into a flow collection: not a single line may change. */
const BLOCK_ONLY = new Set(['bookstore.yaml', 'shop-demo.yaml', 'registry.yaml', 'petclinic.yaml']);

const VARIANTS: Record<string, (text: string) => string> = {
  LF: (text) => text,
  CRLF: (text) => text.replaceAll('\n', '\r\n'),
  'byte-order mark and CRLF': (text) => `\ufeff${text.replaceAll('\n', '\r\n')}`,
  'no final line break': (text) => text.replace(/\n+$/, ''),
};
const CONFIGS: Record<string, string | undefined> = { defaults: undefined, injectByDefault: path.join(FIXTURES, 'config-inject-by-default.yaml') };

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

/** As kubectl reads YAML: merge keys, the last of duplicate keys. */
const parseStream = (text: string): any[] => [...parseAllDocuments(text, { merge: true, uniqueKeys: false })].map((document) => document.toJS());

function podsOf(object: any): any[] {
  if (object?.kind === 'Pod') return [object];
  return object?.spec?.template?.spec ? [object.spec.template] : [];
}

const CASES = REAL_WORLD.flatMap((file) => Object.keys(VARIANTS).flatMap((variant) => Object.keys(CONFIGS).map((config) => [file, variant, config] as const)));

describe('mutate on real-world-shaped manifests: only inserted lines', () => {
  it.each(CASES)('%s (%s, %s)', async (file, variant, config) => {
    const input = VARIANTS[variant]!(readFileSync(path.join(FIXTURES, 'realworld', file), 'utf8'));
    const options = { config: CONFIGS[config], kubernetesVersion: '1.30' };
    const [yaml, patch] = await Promise.all([mutate(input, options), mutate(input, { ...options, patch: true })]);
    expect({ code: yaml.code, stderr: yaml.stderr.split('\n').filter((line) => !line.includes('warning:')).join('\n') }).toEqual({ code: 0, stderr: '' });
    const { stdout } = yaml;

    // The lines: the input's, in order, with lines inserted.
    const { changed, inserted } = insertedOnly(input, stdout);
    expect(inserted).toBeGreaterThan(0);
    if (BLOCK_ONLY.has(file)) expect(changed).toEqual([]);
    for (const line of changed) expect(line).toMatch(/terminationGracePeriodSeconds: |[}\]]/);

    // The bytes around them: line breaks, the byte-order mark, a missing final line break.
    if (input.includes('\r\n')) expect(stdout.replaceAll('\r\n', '')).not.toContain('\n');
    expect(stdout.startsWith('\ufeff')).toBe(input.startsWith('\ufeff'));
    expect(stdout.endsWith('\n')).toBe(input.endsWith('\n'));

    // The meaning: the input with the --patch output applied (strict RFC 6902), pods kube-apiserver accepts.
    const expected = parseStream(input);
    for (const entry of JSON.parse(patch.stdout)) {
      const target = entry.item === undefined ? expected[entry.document - 1] : expected[entry.document - 1].items[entry.item];
      const patched = jsonpatch.applyPatch(target, entry.patch, true, false).newDocument;
      if (entry.item === undefined) expected[entry.document - 1] = patched;
      else expected[entry.document - 1].items[entry.item] = patched;
    }
    const actual = parseStream(stdout);
    expect(actual).toEqual(expected);
    for (const pod of actual.flatMap(podsOf)) expect(validatePod(pod)).toEqual([]);
  });
});
