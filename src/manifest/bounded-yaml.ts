import { CST, Composer, isAlias, isCollection, isMap, isPair, isScalar, Lexer, LineCounter, Parser, type Document, type Node } from 'yaml';

/**
 * YAML (and JSON, which is YAML) read with bounds, so that no input can crash or stall the reader:
 * the `yaml` library composes documents recursively (a few hundred levels of nesting overflow the
 * stack, and in V8 an overflow inside a regular expression's compilation aborts the whole process),
 * spends seconds and gigabytes on megabytes of tiny nodes, and expands aliases without a size
 * bound. Here the text is lexed and parsed to a CST first, with every bound checked token by token
 * before anything is composed, so a refusal costs at most a pass over the text; then documents are
 * composed one at a time, and each document's value is measured (aliases expanded) before a caller
 * gets it. Pure functions; the caller decides what to do with an error.
 */

export interface YamlLimits {
  /** The whole text, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Collections inside collections (`a: {b: [c]}` is 2 deep), aliases expanded. */
  readonly maxDepth: number;
  /** One scalar's source, in characters (quotes and indentation included). */
  readonly maxScalarLength: number;
  /** Scalars, aliases, collections and sequence entries of the whole text, and of each document's value with its aliases expanded. */
  readonly maxNodes: number;
  /** The `yaml` library's alias bound (`maxAliasCount`): how often aliases may be expanded. */
  readonly maxAliasCount: number;
}

/**
 * Far above any manifest or configuration file, far below what hurts: a Kubernetes object is at
 * most 1.5 MiB (etcd's limit; a ConfigMap's data 1 MiB), a deep CRD schema is about 40 levels.
 */
export const DEFAULT_YAML_LIMITS: YamlLimits = {
  maxBytes: 32 * 1024 * 1024,
  maxDepth: 100,
  maxScalarLength: 1024 * 1024,
  maxNodes: 1_000_000,
  maxAliasCount: 100,
};

export interface YamlReadOptions {
  /**
   * `error` (the default): a key given twice in one mapping is a syntax error. `last-wins`: as
   * kubectl reads YAML, the later value counts, and each duplicate is reported.
   */
  readonly duplicateKeys?: 'error' | 'last-wins' | undefined;
  /** `<<` merge keys (YAML 1.1, as kubectl reads them). */
  readonly merge?: boolean | undefined;
}

/** Why the text was refused, with the position (1-based) when there is one. */
export class YamlInputError extends Error {
  override readonly name = 'YamlInputError';
  constructor(
    message: string,
    readonly line?: number | undefined,
    readonly column?: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A key given twice in one mapping (only with `duplicateKeys: 'last-wins'`). */
export interface DuplicateKey {
  readonly key: string;
  /** Where the later one (the one that counts) is, 1-based. */
  readonly line: number;
  readonly column: number;
}

export interface BoundedDocument {
  /** 1-based position in the stream. */
  readonly number: number;
  readonly document: Document.Parsed;
  /** The document's value as plain data (`toJS`, aliases expanded), within the limits. */
  readonly value: unknown;
  /** Where the document ends in the text: after its content, its trailing comments and a `...` marker. */
  readonly end: number;
  readonly duplicates: readonly DuplicateKey[];
}

/** CST token types that are a node of their own (for `maxNodes`). */
const NODE_TOKENS: ReadonlySet<string> = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'alias', 'flow-map-start', 'flow-seq-start', 'seq-item-ind', 'doc-start']);

/**
 * The documents of a YAML stream, one at a time, each within the limits. Throws a
 * `YamlInputError` (syntax or bound) at the first problem; a document is yielded only when it is
 * complete and valid, so a consumer may act on the documents before a later one fails.
 */
export function* readBoundedYaml(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS, options: YamlReadOptions = {}): Generator<BoundedDocument, void, undefined> {
  checkSize(text, limits);
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0); // the parser reports the start of every later line
  const position = (offset: number) => lineCounter.linePos(offset);
  const fail = (message: string, offset?: number): never => {
    if (offset === undefined) throw new YamlInputError(message);
    const { line, col } = positionOf(text, offset);
    throw new YamlInputError(message, line, col);
  };
  checkCharacters(text, fail);

  const parser = new Parser((offset) => lineCounter.addNewLine(offset));
  const lastWins = options.duplicateKeys === 'last-wins';
  const composer = new Composer({ uniqueKeys: !lastWins, merge: options.merge ?? false, keepSourceTokens: false });
  const ends: number[] = [];
  let previous: string | undefined;
  let nodes = 0;
  let scalarNext = false;
  let count = 0;

  const emit = function* (documents: Iterable<Document.Parsed>): Generator<BoundedDocument, void, undefined> {
    for (const document of documents) {
      count += 1;
      const error = document.errors[0];
      if (error) fail(firstLine(error.message), error.pos[0]);
      const value = toValue(document, count, limits);
      const end = ends[count - 1] ?? text.length;
      yield { number: count, document, value, end, duplicates: lastWins ? duplicateKeys(document, position) : [] };
    }
  };

  for (const lexeme of new Lexer().lex(text)) {
    const offset = parser.offset;
    const type = CST.tokenType(lexeme);
    // A plain or block scalar's source is the lexeme after the `scalar` marker; a quoted one is its own lexeme.
    if (scalarNext || type === 'single-quoted-scalar' || type === 'double-quoted-scalar') {
      if (lexeme.length > limits.maxScalarLength) fail(`a scalar of ${lexeme.length} characters: more than the ${limits.maxScalarLength} accepted`, offset);
    }
    scalarNext = type === 'scalar';
    if (type && NODE_TOKENS.has(type) && ++nodes > limits.maxNodes) fail(`more than ${limits.maxNodes} nodes`, offset);
    for (const token of parser.next(lexeme)) {
      trackEnd(token, ends, previous);
      previous = token.type;
      yield* emit(composer.next(token));
    }
    // The parser's stack holds the document, each open collection and at most one scalar.
    if (parser.stack.length - 2 > limits.maxDepth) fail(`nested more than ${limits.maxDepth} levels deep`, offset);
  }
  for (const token of parser.end()) {
    trackEnd(token, ends, previous);
    previous = token.type;
    yield* emit(composer.next(token));
  }
  yield* emit(composer.end(false, text.length));
  const stray = composer.streamInfo().errors[0];
  if (stray) fail(firstLine(stray.message), stray.pos[0]);
}

/** Every document at once (see `readBoundedYaml`): for a file read whole, such as the config file. */
export function parseBoundedYaml(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS, options: YamlReadOptions = {}): BoundedDocument[] {
  return [...readBoundedYaml(text, limits, options)];
}

function checkSize(text: string, limits: YamlLimits): void {
  // Cheap first: a string of n UTF-16 units is at least n and at most 3n UTF-8 bytes.
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text) > limits.maxBytes)) {
    throw new YamlInputError(`more than ${limits.maxBytes} bytes`);
  }
}

/**
 * YAML's printable set (YAML 1.2 §5.1): no C0 control but tab, LF and CR; no DEL; no C1 control
 * (NEL included: YAML 1.1 reads it as a line break, 1.2 as text); no U+FFFE/U+FFFF; no lone
 * surrogate. kubectl's YAML reader refuses them too.
 */
const NOT_PRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkCharacters(text: string, fail: (message: string, offset?: number) => never): void {
  const match = NOT_PRINTABLE.exec(text);
  if (match) {
    const code = match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    fail(`U+${code} is a control character, which YAML does not allow (write it as an escape in a double-quoted string)`, match.index);
  }
}

/** Line and column (1-based) of an offset, by counting (for errors only). */
function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line += 1;
    start = index + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Where each document ends: after its own tokens and a `...` marker right after it. */
function trackEnd(token: CST.Token, ends: number[], previous: string | undefined): void {
  const end = token.offset + CST.stringify(token).length;
  if (token.type === 'document') ends.push(end);
  else if (token.type === 'doc-end' && previous === 'document') ends[ends.length - 1] = end;
}

/** The library's message without the position and code frame that `prettyErrors` would add. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * The document's value, aliases expanded, measured without recursion before anyone else walks it:
 * the node count and the depth stay within the limits, whatever the aliases multiply.
 */
function toValue(document: Document.Parsed, number: number, limits: YamlLimits): unknown {
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: limits.maxAliasCount });
  } catch (cause) {
    // The library's ReferenceError: "Excessive alias count indicates a resource exhaustion attack".
    throw new YamlInputError(`document ${number}: aliases expanded more than ${limits.maxAliasCount} times`, undefined, undefined, { cause });
  }
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  let length = 0;
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (++nodes > limits.maxNodes) throw new YamlInputError(`document ${number}: more than ${limits.maxNodes} nodes once aliases are expanded`);
    if (typeof item === 'string') {
      length += item.length;
      if (length > limits.maxBytes) throw new YamlInputError(`document ${number}: more than ${limits.maxBytes} characters of text once aliases are expanded`);
    } else if (typeof item === 'object' && item !== null) {
      if (depth + 1 > limits.maxDepth) throw new YamlInputError(`document ${number}: nested more than ${limits.maxDepth} levels deep once aliases are expanded`);
      const children = Array.isArray(item) ? item : Object.entries(item).flat();
      for (const child of children) stack.push([child, depth + 1]);
    }
  }
  return value;
}

/** Keys given twice in one mapping, the later occurrence of each (the one that counts). */
function duplicateKeys(document: Document.Parsed, position: (offset: number) => { line: number; col: number }): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const stack: unknown[] = [document.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node) || !isCollection(node)) continue;
    const seen = new Set<string>();
    for (const item of node.items) {
      if (isPair(item)) {
        const key = item.key;
        // A `<<` merge key (resolved to a symbol with `merge`) may repeat.
        if (isMap(node) && isScalar(key) && typeof key.value !== 'symbol' && key.value !== '<<' && key.range) {
          const name = String(key.value);
          if (seen.has(name)) {
            const { line, col } = position(key.range[0]);
            found.push({ key: name, line, column: col });
          }
          seen.add(name);
        }
        stack.push(item.value as Node | null);
      } else {
        stack.push(item);
      }
    }
  }
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}
