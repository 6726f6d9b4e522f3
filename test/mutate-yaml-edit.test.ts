import { describe, expect, it } from '@jest/globals';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { manifestDocuments, rewriteContent } from '../src/manifest/stream.js';
import { applyEdits, insertionEdits, renderFlow } from '../src/manifest/yaml-edit.js';
import { insertedOnly } from './mutate-line-diff.js';

/**
 * The text edits under `mutate`: a JSON Patch's result written into the source by inserting lines.
 * Each case applies the patch strictly (RFC 6902) for the truth, edits the text, reads the result
 * back (it must be the truth) and compares the lines (only insertions, unless the case says which
 * line changes).
 */
type Operation = { op: 'add' | 'replace'; path: string; value: unknown };

function edited(text: string, operations: Operation[]): string {
  const [entry] = [...manifestDocuments(text)];
  if (!entry) throw new Error('no document');
  const truth = jsonpatch.applyPatch(structuredClone(entry.value), structuredClone(operations), true, false).newDocument;
  const edits = insertionEdits(text, entry.document, entry.value, truth);
  if (edits === undefined) throw new Error('not by insertion');
  const output = applyEdits(text, edits);
  expect(parseAllDocuments(output, { merge: true }).map((document) => document.toJS())).toEqual([truth]);
  return output;
}

const probe = { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 };

describe('insertionEdits: only inserted lines', () => {
  it.each<[string, string, Operation[], string]>([
    [
      "kubectl's style: `- name` at the key's column; a comment after the last value stays",
      'spec:\n  containers:\n  - name: app # the app\n    image: x\n    # ports: later\n  volumes: []\n',
      [{ op: 'add', path: '/spec/containers/0/readinessProbe', value: probe }],
      'spec:\n  containers:\n  - name: app # the app\n    image: x\n    readinessProbe:\n      httpGet:\n        path: /ready\n        port: 8080\n      periodSeconds: 5\n    # ports: later\n  volumes: []\n',
    ],
    [
      'four-space indentation, sequences indented',
      'spec:\n    containers:\n        -   name: app\n            image: x\n',
      [{ op: 'add', path: '/spec/containers/0/lifecycle', value: { preStop: { exec: { command: ['sleep', '5'] } } } }],
      'spec:\n    containers:\n        -   name: app\n            image: x\n            lifecycle:\n                preStop:\n                    exec:\n                        command:\n                            - sleep\n                            - "5"\n',
    ],
    [
      'a member appended to a block mapping whose last value is a block scalar',
      'data:\n  script: |\n    echo hi\n\n    exit 0\nkind: ConfigMap\n',
      [{ op: 'add', path: '/data/more', value: 'x' }],
      'data:\n  script: |\n    echo hi\n\n    exit 0\n  more: x\nkind: ConfigMap\n',
    ],
    [
      'an item appended to a block sequence',
      'spec:\n  readinessGates:\n    - conditionType: a # first\n  x: 1\n',
      [{ op: 'add', path: '/spec/readinessGates/-', value: { conditionType: 'b' } }],
      'spec:\n  readinessGates:\n    - conditionType: a # first\n    - conditionType: b\n  x: 1\n',
    ],
    [
      'an empty value given a mapping: lines after the key, which is unchanged',
      'metadata:\n  name: a\n  annotations:\nspec: {}\n',
      [{ op: 'add', path: '/metadata/annotations', value: { 'probe-injector.io/status': '{"a":1}' } }],
      "metadata:\n  name: a\n  annotations:\n    probe-injector.io/status: '{\"a\":1}'\nspec: {}\n",
    ],
    [
      'a new metadata goes before spec, above the comment about spec',
      'kind: Deployment\nspec:\n  template:\n    # the pod\n    spec:\n      containers: []\n',
      [{ op: 'add', path: '/spec/template/metadata', value: { annotations: { a: 'b' } } }],
      'kind: Deployment\nspec:\n  template:\n    metadata:\n      annotations:\n        a: b\n    # the pod\n    spec:\n      containers: []\n',
    ],
    [
      'several members into one mapping, in the order of the patch',
      'spec:\n  containers: []\n',
      [
        { op: 'add', path: '/spec/readinessGates', value: [{ conditionType: 'g' }] },
        { op: 'add', path: '/spec/terminationGracePeriodSeconds', value: 48 },
      ],
      'spec:\n  containers: []\n  readinessGates:\n    - conditionType: g\n  terminationGracePeriodSeconds: 48\n',
    ],
    [
      'a duplicate key: the one that counts (the last) gets the member',
      'metadata:\n  annotations:\n    a: "1"\n  annotations:\n    b: "2"\n',
      [{ op: 'add', path: '/metadata/annotations/c', value: '3' }],
      'metadata:\n  annotations:\n    a: "1"\n  annotations:\n    b: "2"\n    c: "3"\n',
    ],
    [
      'YAML 1.1 words and numbers in strings stay strings for kubectl',
      'a:\n  b: 1\n',
      [{ op: 'add', path: '/a/c', value: ['yes', 'on', '0755', '1:20', 'null', ''] }],
      'a:\n  b: 1\n  c:\n    - "yes"\n    - "on"\n    - "0755"\n    - "1:20"\n    - "null"\n    - ""\n',
    ],
  ])('%s', (_name, text, operations, expected) => {
    const output = edited(text, operations);
    expect(output).toBe(expected);
    expect(insertedOnly(text, output)).toEqual({ changed: [], inserted: expect.any(Number) });
  });

  it('CRLF: the inserted lines end in CRLF too (no mixed line breaks)', () => {
    const text = 'spec:\r\n  containers:\r\n  - name: app\r\n    image: x\r\n';
    const output = edited(text, [{ op: 'add', path: '/spec/containers/0/readinessProbe', value: probe }]);
    expect(output.replaceAll('\r\n', '')).not.toContain('\n');
    expect(insertedOnly(text, output).changed).toEqual([]);
  });

  it('no final line break: still none after an insertion at the end', () => {
    const output = edited('spec:\n  containers: []', [{ op: 'add', path: '/spec/x', value: 1 }]);
    expect(output).toBe('spec:\n  containers: []\n  x: 1');
  });

  it('a byte-order mark stays first', () => {
    const output = edited('\ufeffspec:\n  a: 1\n', [{ op: 'add', path: '/spec/b', value: 2 }]);
    expect(output).toBe('\ufeffspec:\n  a: 1\n  b: 2\n');
  });

  it('a text that needs escapes is double-quoted, with every control character escaped', () => {
    const output = edited('a:\n  b: 1\n', [{ op: 'add', path: '/a/c', value: ['tab\there', 'esc\u001b', 'del\u007f', 'csi\u009b', 'ls\u2028', 'rlo\u202e'] }]);
    expect(output).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(output).toContain('"tab\\there"');
    expect(output).toContain('"csi\\u009b"');
  });
});

describe('insertionEdits: flow collections and replaced scalars change their own line only', () => {
  it.each<[string, string, Operation[], string]>([
    [
      'a flow mapping keeps its style: the member goes inside the braces',
      'metadata:\n  annotations: {probe-injector.io/inject: "true"} # opt in\n',
      [{ op: 'add', path: '/metadata/annotations/probe-injector.io~1status', value: '{"a":1}' }],
      'metadata:\n  annotations: {probe-injector.io/inject: "true", probe-injector.io/status: \'{"a":1}\'} # opt in\n',
    ],
    ['an empty flow mapping', 'a: {}\n', [{ op: 'add', path: '/a/b', value: { c: [1] } }], 'a: {b: {c: [1]}}\n'],
    ['a trailing comma stays last', 'a: [x, y,]\n', [{ op: 'add', path: '/a/-', value: 'z' }], 'a: [x, y, z,]\n'],
    ['a multi-line flow sequence with a comment', 'a: [\n  x, # ex\n]\n', [{ op: 'add', path: '/a/-', value: 'z' }], 'a: [\n  x, # ex\n  z\n]\n'],
    ['a multi-line flow mapping with a comment, no comma', 'a: {\n  x: 1 # ex\n  }\n', [{ op: 'add', path: '/a/y', value: 2 }], 'a: {\n  x: 1 # ex\n  , "y": 2\n  }\n'],
    ['a container in flow style', 'containers: [{name: a, image: b}]\n', [{ op: 'add', path: '/containers/0/readinessProbe', value: probe }], 'containers: [{name: a, image: b, readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 5}}]\n'],
    ['the grace period replaced, its comment kept', 'spec:\n  terminationGracePeriodSeconds: 30 # default\n', [{ op: 'replace', path: '/spec/terminationGracePeriodSeconds', value: 48 }], 'spec:\n  terminationGracePeriodSeconds: 48 # default\n'],
    ['an explicit null given a mapping', 'metadata:\n  annotations: ~ # none yet\n', [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }], 'metadata:\n  annotations: # none yet\n    a: b\n'],
  ])('%s', (_name, text, operations, expected) => {
    const output = edited(text, operations);
    expect(output).toBe(expected);
    expect(insertedOnly(text, output).changed.length).toBeLessThanOrEqual(1);
  });
});

describe('insertionEdits: what insertions cannot do', () => {
  const cannot = (text: string, operations: Operation[]) => {
    const [entry] = [...manifestDocuments(text)];
    const truth = jsonpatch.applyPatch(structuredClone(entry!.value), structuredClone(operations), true, false).newDocument;
    return insertionEdits(text, entry!.document, entry!.value, truth);
  };

  it.each<[string, string, Operation[]]>([
    ['a change through an alias', 'base: &b {x: 1}\nuse: *b\n', [{ op: 'add', path: '/use/y', value: 2 }]],
    ['a change inside a member that comes from a merge key', 'base: &b {inner: {x: 1}}\nuse:\n  <<: *b\n', [{ op: 'add', path: '/use/inner/y', value: 2 }]],
    ['a scalar replaced by a mapping', 'a: 1\n', [{ op: 'replace', path: '/a', value: { b: 1 } }]],
    ['a new item in the middle of a sequence', 'a: [x, z]\n', [{ op: 'add', path: '/a/1', value: 'y' }]],
  ])('%s', (_name, text, operations) => {
    expect(cannot(text, operations)).toBeUndefined();
  });

  it('a member added next to a merge key is fine: it is the mapping\'s own (and `y` is quoted: a boolean in YAML 1.1)', () => {
    expect(edited('base: &b {x: 1}\nuse:\n  <<: *b\n', [{ op: 'add', path: '/use/y', value: 2 }])).toBe('base: &b {x: 1}\nuse:\n  <<: *b\n  "y": 2\n');
  });
});

describe('rewriteContent (JSON in, YAML out)', () => {
  it.each([
    ['a JSON document', '{"kind": "List", "items": [{"a": "yes"}]}\n', 'kind: List\nitems:\n  - a: "yes"\n'],
    ['after a marker on the same line', '--- {"a": 1}\n', '--- \na: 1\n'],
    ['CRLF', '{"a": {"b": [1]}}\r\n', 'a:\r\n  b:\r\n    - 1\r\n'],
    ['between other documents', 'x: 1\n---\n{"a": 1}\n---\ny: 2\n', 'x: 1\n---\na: 1\n---\ny: 2\n'],
  ])('%s', (_name, text, expected) => {
    const documents = [...manifestDocuments(text)];
    const edits = documents.filter((entry) => entry.flow).map((entry) => rewriteContent(text, entry, entry.value));
    expect(applyEdits(text, edits)).toBe(expected);
  });
});

describe('renderFlow', () => {
  it('one line, no padding inside braces', () => {
    expect(renderFlow({ a: [1, 'x y'], b: 'on' })).toBe('{a: [1, x y], b: "on"}');
    expect(renderFlow(48)).toBe('48');
  });
});
