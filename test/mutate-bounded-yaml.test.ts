import { describe, expect, it } from '@jest/globals';
import { DEFAULT_YAML_LIMITS, parseBoundedYaml, readBoundedYaml, YamlInputError, type YamlLimits } from '../src/manifest/bounded-yaml.js';

/** The bounded YAML reader under `mutate` (and the config file): every bound, with the error it gives. */

function refusal(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS, options = {}): { message: string; line?: number | undefined; column?: number | undefined } {
  try {
    parseBoundedYaml(text, limits, options);
  } catch (error) {
    if (!(error instanceof YamlInputError)) throw error;
    return { message: error.message, line: error.line, column: error.column };
  }
  throw new Error('accepted');
}

const small: YamlLimits = { maxBytes: 1000, maxDepth: 5, maxScalarLength: 20, maxNodes: 50, maxAliasCount: 10 };

describe('readBoundedYaml', () => {
  it('reads a stream: each document with its value and where it ends (a `...` marker included)', () => {
    const text = '# head\na: 1\n---\nb: [2]\n...\n# tail\n';
    const documents = parseBoundedYaml(text);
    expect(documents.map((d) => [d.number, d.value, text.slice(0, d.end)])).toEqual([
      [1, { a: 1 }, '# head\na: 1\n'],
      [2, { b: [2] }, '# head\na: 1\n---\nb: [2]\n...\n'],
    ]);
  });

  it('yields a document as soon as the next one starts, before reading further', () => {
    const reader = readBoundedYaml('a: 1\n---\nb: 2\n---\n[\n');
    expect(reader.next().value).toEqual(expect.objectContaining({ number: 1, value: { a: 1 } }));
    expect(reader.next().value).toEqual(expect.objectContaining({ number: 2, value: { b: 2 } }));
    expect(() => reader.next()).toThrow(YamlInputError);
  });

  it('a byte-order mark, CRLF and tabs in text are fine', () => {
    expect(parseBoundedYaml('\ufeffa: "x\ty"\r\nb: 2\r\n').map((d) => d.value)).toEqual([{ a: 'x\ty', b: 2 }]);
  });

  it('duplicate keys: an error by default, with the position', () => {
    expect(refusal('a: 1\nb:\n  c: 1\n  c: 2\n')).toEqual({ message: 'Map keys must be unique', line: 4, column: 3 });
  });

  it('duplicate keys with last-wins: the later value counts, and every duplicate is reported', () => {
    const [document] = parseBoundedYaml('a: 1\nb:\n  c: 1\n  d: [{e: 1, e: 2}]\n  c: 3\na: 4\n', DEFAULT_YAML_LIMITS, { duplicateKeys: 'last-wins' });
    expect(document?.value).toEqual({ a: 4, b: { c: 3, d: [{ e: 2 }] } });
    expect(document?.duplicates).toEqual([
      { key: 'e', line: 4, column: 14 },
      { key: 'c', line: 5, column: 3 },
      { key: 'a', line: 6, column: 1 },
    ]);
  });

  it('merge keys, when asked for, are not duplicates', () => {
    const [document] = parseBoundedYaml('base: &b {x: 1}\nuse:\n  <<: *b\n  <<: {y: 2}\n  z: 3\n', DEFAULT_YAML_LIMITS, { merge: true, duplicateKeys: 'last-wins' });
    expect(document?.value).toEqual({ base: { x: 1 }, use: { x: 1, y: 2, z: 3 } });
    expect(document?.duplicates).toEqual([]);
  });

  it('a syntax error: the library message, with line and column', () => {
    expect(refusal('a: 1\nb: [1\nc: 2\n')).toEqual(expect.objectContaining({ line: 3, column: 1 }));
    expect(refusal('a: "x\n')).toEqual({ message: 'Missing closing "quote', line: 2, column: 1 });
  });

  it.each([
    ['ESC', 'a: b\nc: d\u001b[31m\n', 'U+001B', 2, 5],
    ['NUL', 'a: \u0000', 'U+0000', 1, 4],
    ['DEL', 'a: \u007f', 'U+007F', 1, 4],
    ['NEL (a C1 control)', '# \u0085\n', 'U+0085', 1, 3],
    ['CSI (a C1 control)', 'a: \u009b2J', 'U+009B', 1, 4],
    ['a noncharacter', 'a: \uffff', 'U+FFFF', 1, 4],
    ['a lone surrogate', 'a: \ud800', 'U+D800', 1, 4],
  ])('%s in the text is refused, by code point and position', (_name, text, code, line, column) => {
    const error = refusal(text);
    expect(error).toEqual({ message: expect.stringContaining(code), line, column });
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe('the bounds', () => {
  it('the whole text, in UTF-8 bytes', () => {
    expect(refusal('a: ' + 'é'.repeat(500), small)).toEqual({ message: 'more than 1000 bytes' });
    expect(parseBoundedYaml('a: ' + 'é'.repeat(400), { ...small, maxScalarLength: 1000 })).toHaveLength(1);
  });

  it.each([
    ['flow sequences', (n: number) => '['.repeat(n) + ']'.repeat(n)],
    ['flow mappings', (n: number) => '{a: '.repeat(n) + '1' + '}'.repeat(n)],
    ['JSON', (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)],
    ['compact block sequences', (n: number) => '- '.repeat(n) + 'x\n'],
    ['block mappings', (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n'],
    ['sequences of mappings', (n: number) => Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}- a:`).join('\n') + ' 1\n'],
  ])('nesting (%s): 100 levels are read, 101 and 100 000 are refused with a position, not a stack overflow', (_name, make) => {
    const depth = (value: unknown): number => (typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0);
    const [document] = parseBoundedYaml(make(DEFAULT_YAML_LIMITS.maxDepth / (_name === 'sequences of mappings' ? 2 : 1)));
    expect(depth(document?.value)).toBe(DEFAULT_YAML_LIMITS.maxDepth);
    // Block nesting needs a line per level, indented one more each time: 5 000 levels are 12.5 MB.
    for (const n of [101, _name.startsWith('block m') || _name.startsWith('seq') ? 5_000 : 100_000]) {
      const levels = _name === 'sequences of mappings' ? Math.ceil(n / 2) : n;
      const error = refusal(make(levels));
      expect(error.message).toMatch(/nested more than 100 levels deep/);
      if (n > 101) expect(error.line).toBeDefined();
    }
  });

  it.each([
    ['plain', (s: string) => `a: ${s}\n`],
    ['double-quoted', (s: string) => `a: "${s}"\n`],
    ['single-quoted', (s: string) => `a: '${s}'\n`],
    ['block', (s: string) => `a: |\n  ${s}\n`],
    ['a key', (s: string) => `${s}: 1\n`],
  ])('a %s scalar over the length is refused where it starts', (_name, make) => {
    expect(parseBoundedYaml(make('x'.repeat(10)), small)).toHaveLength(1);
    expect(refusal(make('x'.repeat(30)), small)).toEqual({ message: expect.stringMatching(/^a scalar of \d+ characters: more than the 20 accepted$/), line: expect.any(Number), column: expect.any(Number) });
  });

  it('a 100 MB scalar is refused by its size before it is read', () => {
    const huge = 'a: ' + 'x'.repeat(100 * 1024 * 1024);
    expect(refusal(huge)).toEqual({ message: `more than ${32 * 1024 * 1024} bytes` });
  });

  it('a scalar over the default length (1 MiB) is refused', () => {
    expect(refusal(`a: "${'x'.repeat(1024 * 1024)}"\n`).message).toMatch(/^a scalar of 1048578 characters/);
  });

  it('nodes: many tiny ones are refused', () => {
    expect(refusal('[' + 'a,'.repeat(60) + ']', small).message).toBe('more than 50 nodes');
    expect(refusal('---\n'.repeat(60), small).message).toBe('more than 50 nodes');
    expect(refusal('- a\n'.repeat(60), small).message).toBe('more than 50 nodes');
  });

  it('aliases: an expansion bomb is refused', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]'].join('\n');
    expect(refusal(bomb).message).toMatch(/^document 1: aliases expanded more than 100 times$/);
  });

  it('aliases: a large node copied by aliases is bounded once expanded', () => {
    const text = `a: &a [${'x, '.repeat(30)}x]\nb: [*a, *a, *a]\n`;
    expect(refusal(text, { ...small, maxNodes: 100, maxBytes: 10_000 }).message).toBe('document 1: more than 100 nodes once aliases are expanded');
  });

  it('aliases within the bounds are expanded as usual', () => {
    expect(parseBoundedYaml('a: &a {x: 1}\nb: *a\n')[0]?.value).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});
