import { describe, expect, it } from '@jest/globals';
import { parseDocument } from 'yaml';
import type { PatchOperation } from '../src/core/patch.js';
import { applyToDocument, pointerTokens, UnpatchableError } from '../src/manifest/yaml-patch.js';
import { parseManifestStream, renderDocument } from '../src/manifest/stream.js';

/** The pure pieces under `mutate`: JSON Patch on a `yaml` Document, and the stream's exact source spans. */
describe('applyToDocument', () => {
  const patched = (source: string, operations: PatchOperation[]) => {
    const document = parseDocument(source);
    applyToDocument(document, operations);
    return document.toString({ lineWidth: 0 });
  };

  it.each<[string, string, PatchOperation[], string]>([
    [
      'add keeps comments and key order around the new member',
      '# head\nspec:\n  a: 1 # one\n  # about b\n  b: 2\n',
      [{ op: 'add', path: '/spec/c', value: { d: [1] } }],
      '# head\nspec:\n  a: 1 # one\n  # about b\n  b: 2\n  c:\n    d:\n      - 1\n',
    ],
    ['replace in place', 'spec:\n  grace: 30 # short\n  x: 1\n', [{ op: 'replace', path: '/spec/grace', value: 48 }], 'spec:\n  grace: 48\n  x: 1\n'],
    ['add over a null member (RFC 6902: add replaces)', 'metadata:\n  annotations:\n', [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }], 'metadata:\n  annotations:\n    a: b\n'],
    ["'-' appends", 'gates:\n  - a\n', [{ op: 'add', path: '/gates/-', value: 'b' }], 'gates:\n  - a\n  - b\n'],
    ['an index inserts', 'list: [a, c]\n', [{ op: 'add', path: '/list/1', value: 'b' }], 'list:\n  - a\n  - b\n  - c\n'],
    ['~1 and ~0 in a key', 'annotations:\n  x: y\n', [{ op: 'add', path: '/annotations/probe-injector.io~1status', value: '{"a~b":1}' }], "annotations:\n  x: y\n  probe-injector.io/status: '{\"a~b\":1}'\n"],
    ['a flow mapping on the way becomes block style', 'metadata: {name: a, annotations: {x: y}}\n', [{ op: 'add', path: '/metadata/annotations/z', value: 'w' }], 'metadata:\n  name: a\n  annotations:\n    x: y\n    z: w\n'],
    ['a new metadata goes before spec', 'template:\n  spec: {}\n', [{ op: 'add', path: '/template/metadata', value: { annotations: { a: 'b' } } }], 'template:\n  metadata:\n    annotations:\n      a: b\n  spec: {}\n'],
  ])('%s', (_name, source, operations, expected) => {
    expect(patched(source, operations)).toBe(expected);
  });

  it.each<[string, string, PatchOperation]>([
    ['a missing parent', 'spec: {}\n', { op: 'add', path: '/spec/containers/0/readinessProbe', value: {} }],
    ['a replace of a missing member', 'spec: {}\n', { op: 'replace', path: '/spec/grace', value: 1 }],
    ['an index past the end', 'list: [a]\n', { op: 'add', path: '/list/2', value: 'b' }],
    ['a path through an alias', 'base: &b {x: 1}\nuse: *b\n', { op: 'add', path: '/use/y', value: 2 }],
    ['a member that only comes from a merge key', 'base: &b {inner: {x: 1}}\nuse:\n  <<: *b\n', { op: 'add', path: '/use/inner/y', value: 2 }],
    ['the whole document', 'a: 1\n', { op: 'replace', path: '', value: 2 } as PatchOperation],
  ])('refuses %s', (_name, source, operation) => {
    expect(() => applyToDocument(parseDocument(source, { merge: true }), [operation])).toThrow(UnpatchableError);
  });

  it('reads JSON Pointers as RFC 6901 does', () => {
    expect(pointerTokens('')).toEqual([]);
    expect(pointerTokens('/a~1b/c~0d/~01')).toEqual(['a/b', 'c~d', '~1']);
  });
});

describe('parseManifestStream', () => {
  it.each([
    ['documents, comments, markers and blank lines', '# head\na: 1\n# between\n---\n\nb: 2\n...\n# after end\n---\nc: 3'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['empty documents', '---\n---\na: 1\n---\n'],
    ['CRLF', 'a: 1\r\n---\r\nb: 2\r\n'],
  ])('gives every byte to exactly one document: %s', (_name, text) => {
    const stream = parseManifestStream(text);
    if ('error' in stream) throw new Error(stream.error.message);
    expect(stream.documents.map((entry) => entry.source).join('') + stream.trailer).toBe(text);
    expect(stream.documents.map((entry) => renderDocument(entry, false)).join('') + stream.trailer).toBe(text);
  });

  it('a changed document is printed with its own comments, and only its own', () => {
    const stream = parseManifestStream('# head\na: 1 # one\n# between\n---\n# b\nb: 2\n');
    if ('error' in stream) throw new Error(stream.error.message);
    const [first, second] = stream.documents;
    expect(renderDocument(first!, true)).toBe('# head\na: 1 # one\n\n# between\n');
    expect(renderDocument(second!, true)).toBe('---\n# b\nb: 2\n');
  });

  it('keeps the sequence indentation of the source', () => {
    const stream = parseManifestStream('spec:\n  containers:\n  - name: a\n');
    if ('error' in stream) throw new Error(stream.error.message);
    expect(renderDocument(stream.documents[0]!, true)).toBe('spec:\n  containers:\n  - name: a\n');
  });

  it('says where a syntax error is', () => {
    expect(parseManifestStream('a: 1\nb: [1\nc: 2\n')).toEqual({ error: expect.objectContaining({ line: 3, column: 1 }) });
  });
});
