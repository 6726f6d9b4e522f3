import { isDeepStrictEqual } from 'node:util';
import { Document, isAlias, isCollection, isMap, isPair, isScalar, isSeq, visit, type Node, type Pair, type ToStringOptions } from 'yaml';
import { isRecord } from '../core/json.js';

/**
 * Edits of a YAML document's source text that give it a new value by **inserting lines**, so that
 * a reviewer's diff (GitOps) shows exactly what was added: no existing line is re-indented,
 * re-quoted or re-flowed, comments stay where they are. The edits are computed from the parsed
 * document (node ranges) and the wanted value; a change insertions cannot express gives
 * `undefined`, and the caller re-renders the document instead. Pure functions.
 *
 * What changes beyond inserted lines: a scalar that is replaced (the grace period) changes its
 * own line; a member added to a flow collection (`{a: b}`) goes inside its brackets, on the line
 * of its closing bracket; an explicit null (`annotations: ~`) given a value loses the `~`.
 */

export interface TextEdit {
  /** Offsets in the text: `start === end` inserts. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** How the document writes its YAML, read from the document itself. */
export interface YamlStyle {
  /** Columns per level of a nested mapping. */
  readonly indent: number;
  /** `true`: a sequence is indented under its key; `false`: `- ` at the key's column (kubectl's style). */
  readonly indentSeq: boolean;
  /** The line break of the document's first line (`\r\n` for a CRLF file). */
  readonly eol: '\n' | '\r\n';
}

class NotByInsertion extends Error {
  override readonly name = 'NotByInsertion';
}

/**
 * The edits that turn `document` (parsed from `text`, whose plain value is `before`) into one whose
 * value is `after`, by insertions; `undefined` when that cannot be done (a removal, a change
 * through an alias or a `<<` merge key).
 */
export function insertionEdits(text: string, document: Document.Parsed, before: unknown, after: unknown): TextEdit[] | undefined {
  const style = styleOf(text, document);
  const edits: TextEdit[] = [];
  try {
    change(document.contents, before, after, { text, style, edits });
  } catch (error) {
    if (error instanceof NotByInsertion) return undefined;
    throw error;
  }
  return edits;
}

/** Applies edits whose ranges do not overlap; edits at the same offset keep their order. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = edits.map((edit, index) => ({ edit, index })).sort((a, b) => a.edit.start - b.edit.start || a.index - b.index);
  let result = '';
  let at = 0;
  for (const { edit } of sorted) {
    result += text.slice(at, edit.start) + edit.text;
    at = Math.max(at, edit.end);
  }
  return result + text.slice(at);
}

interface Context {
  readonly text: string;
  readonly style: YamlStyle;
  readonly edits: TextEdit[];
}

function change(node: unknown, before: unknown, after: unknown, context: Context): void {
  if (isDeepStrictEqual(before, after)) return;
  if (isMap(node) && isRecord(before) && isRecord(after)) return changeMap(node, before, after, context);
  if (isSeq(node) && Array.isArray(before) && Array.isArray(after)) return changeSeq(node, before, after, context);
  throw new NotByInsertion('not a change of a mapping or a sequence');
}

function changeMap(node: Node & { items: Pair[]; flow?: boolean | undefined }, before: Record<string, unknown>, after: Record<string, unknown>, context: Context): void {
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) throw new NotByInsertion(`${key} removed`);
  const added: [string, unknown][] = [];
  for (const [key, value] of Object.entries(after)) {
    if (!Object.hasOwn(before, key)) {
      added.push([key, value]);
      continue;
    }
    if (isDeepStrictEqual(before[key], value)) continue;
    // The pair that counts: the last one with this key (duplicates: the last wins). A member that
    // only comes from a `<<` merge key is not in this mapping's text.
    const pair = lastPair(node, key);
    if (pair === undefined) throw new NotByInsertion(`${key} comes from a merge key`);
    changeValue(pair, before[key], value, node.flow === true, context);
  }
  if (added.length > 0) insertMembers(node, added, context);
}

function changeSeq(node: Node & { items: unknown[]; flow?: boolean | undefined }, before: unknown[], after: unknown[], context: Context): void {
  if (after.length < before.length) throw new NotByInsertion('items removed');
  before.forEach((item, index) => change(node.items[index], item, after[index], context));
  if (after.length > before.length) appendItems(node, after.slice(before.length), context);
}

/** A member whose value changes: into a collection, over a null, or a scalar replaced. */
function changeValue(pair: Pair, before: unknown, after: unknown, inFlow: boolean, context: Context): void {
  const value = pair.value;
  if (isAlias(value)) throw new NotByInsertion('through an alias');
  if (isCollection(value)) return change(value, before, after, context);
  if (!isScalar(value) || !value.range || !isScalar(pair.key) || !pair.key.range) throw new NotByInsertion('an unexpected node');
  const [start, end] = value.range;
  if (typeof after !== 'object' || after === null || inFlow) {
    context.edits.push({ start, end, text: renderFlow(after) });
    return;
  }
  if (before !== null) throw new NotByInsertion('a scalar replaced by a collection');
  // `key:` or `key: ~` given a block value: the `~` goes, the value's lines are inserted after the key's line.
  const { text, style } = context;
  if (end > start) context.edits.push({ start: spacesBefore(text, start), end, text: '' });
  const column = columnOf(text, pair.key.range[0]);
  const nested = Array.isArray(after) && !style.indentSeq ? column : column + style.indent;
  insertLines(context, lineEndAfter(text, end), nested, renderBlock(after, style));
}

function insertMembers(node: Node & { items: Pair[]; flow?: boolean | undefined }, members: readonly [string, unknown][], context: Context): void {
  const { text, style } = context;
  if (node.flow) return insertIntoFlow(node, members.map(([key, value]) => renderFlowMember(key, value)), context);
  const first = node.items[0]?.key;
  if (!isScalar(first) || !first.range) throw new NotByInsertion('a mapping without a plain first key');
  const column = columnOf(text, first.range[0]);
  // A new `metadata` reads best before `spec`, as every Kubernetes object is written.
  const spec = lastPair(node, 'spec');
  for (const [key, value] of members) {
    const lines = renderBlock({ [key]: value }, style);
    const at = key === 'metadata' && isScalar(spec?.key) && spec.key.range ? startWithComments(text, spec.key.range[0]) : lineEndAfter(text, contentEnd(node));
    insertLines(context, at, column, lines);
  }
}

function appendItems(node: Node & { items: unknown[]; flow?: boolean | undefined }, items: readonly unknown[], context: Context): void {
  if (node.flow) return insertIntoFlow(node, items.map(renderFlow), context);
  if (!node.range || node.items.length === 0) throw new NotByInsertion('an empty block sequence');
  // A block sequence starts at its first `- `.
  const column = columnOf(context.text, node.range[0]);
  insertLines(context, lineEndAfter(context.text, contentEnd(node)), column, renderBlock(items, context.style));
}

/**
 * `{a: b}` → `{a: b, c: d}`: right after the last entry (a trailing comma stays after the new
 * ones); when a comment follows the last entry, just before the closing bracket.
 */
function insertIntoFlow(node: Node & { items: unknown[] }, entries: readonly string[], context: Context): void {
  const { text } = context;
  const close = (node.range?.[1] ?? 0) - 1;
  if (!node.range || (text[close] !== '}' && text[close] !== ']')) throw new NotByInsertion('a flow collection without its closing bracket');
  const last = node.items[node.items.length - 1];
  if (last === undefined) {
    context.edits.push({ start: close, end: close, text: entries.join(', ') });
    return;
  }
  const end = itemEnd(last);
  const between = text.slice(end, close);
  if (!between.includes('#')) {
    context.edits.push({ start: end, end, text: `, ${entries.join(', ')}` });
    return;
  }
  const comma = between.replace(/#[^\n]*/g, '').includes(',') ? '' : ', ';
  const lineStart = text.lastIndexOf('\n', close - 1) + 1;
  if (/^[ \t]*$/.test(text.slice(lineStart, close))) {
    // The bracket on a line of its own: a new line before it, at the entries' column.
    const first = node.items[0] as Node | Pair;
    const firstStart = (isPair(first) ? (first.key as Node | null) : first)?.range?.[0] ?? close;
    const eol = eolAt(text, lineStart) ?? context.style.eol;
    context.edits.push({ start: lineStart, end: lineStart, text: `${' '.repeat(columnOf(text, firstStart))}${comma}${entries.join(', ')}${eol}` });
    return;
  }
  context.edits.push({ start: close, end: close, text: `${comma}${entries.join(', ')}` });
}

/** Where an entry ends: a pair's value (an empty one too: `a: ` stays `a: `), else its key. */
function itemEnd(item: unknown): number {
  const node = (isPair(item) ? ((item.value as Node | null)?.range ? item.value : item.key) : item) as Node | null;
  const end = node?.range?.[1];
  if (end === undefined) throw new NotByInsertion('an entry without a position');
  return end;
}

/** Lines at a column, before the text at `at` (the start of a line, or the end of the text). */
function insertLines(context: Context, at: number, column: number, lines: readonly string[]): void {
  const { text, style } = context;
  const eol = eolAt(text, at) ?? style.eol;
  const indent = ' '.repeat(column);
  const body = lines.map((line) => (line === '' ? '' : indent + line)).join(eol);
  // At the end of a text without a final line break: keep it without one.
  const insert = at === text.length && !text.endsWith('\n') ? `${eol}${body}` : `${body}${eol}`;
  context.edits.push({ start: at, end: at, text: insert });
}

function lastPair(node: { items: Pair[] }, key: string): Pair | undefined {
  for (let index = node.items.length - 1; index >= 0; index--) {
    const pair = node.items[index];
    if (isPair(pair) && isScalar(pair.key) && typeof pair.key.value !== 'symbol' && String(pair.key.value) === key) return pair;
  }
  return undefined;
}

/** Where a node's last content ends: its last scalar, flow collection or alias (trailing comments not included). */
function contentEnd(node: unknown): number {
  let current = node;
  for (;;) {
    if (isCollection(current) && !current.flow && current.items.length > 0) {
      const last = current.items[current.items.length - 1];
      if (isPair(last)) {
        current = (last.value as Node | null)?.range ? last.value : last.key;
      } else {
        current = last;
      }
      continue;
    }
    const range = (current as Node | null)?.range;
    if (!range) throw new NotByInsertion('a node without a position');
    return range[1];
  }
}

/** The start of the line after the one `offset` is on (or the end of the text). */
function lineEndAfter(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The start of the line of `offset`, moved up over the comment lines at its column right above it. */
function startWithComments(text: string, offset: number): number {
  const column = columnOf(text, offset);
  let start = offset - column;
  while (start > 0) {
    const previous = text.lastIndexOf('\n', start - 2) + 1;
    const line = text.slice(previous, start);
    if (!line.startsWith(`${' '.repeat(column)}#`)) break;
    start = previous;
  }
  return start;
}

function spacesBefore(text: string, offset: number): number {
  let start = offset;
  while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
  return start;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/** The line break that ends the line before `at`. */
function eolAt(text: string, at: number): '\n' | '\r\n' | undefined {
  if (at === 0 || text[at - 1] !== '\n') return undefined;
  return text[at - 2] === '\r' ? '\r\n' : '\n';
}

/** The document's own indentation and line breaks, from its first nested mapping and sequence. */
export function styleOf(text: string, document: Document.Parsed): YamlStyle {
  const newline = text.indexOf('\n');
  const eol = newline > 0 && text[newline - 1] === '\r' ? '\r\n' : '\n';
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  const stack: unknown[] = [document.contents];
  while (stack.length > 0 && (indent === undefined || indentSeq === undefined)) {
    const node = stack.shift();
    if (!isCollection(node) || node.flow) continue;
    for (const item of node.items) {
      if (!isPair(item)) {
        stack.push(item);
        continue;
      }
      const key = item.key as Node | null;
      const value = item.value as Node | null;
      if (!key?.range || !isCollection(value) || value.flow || !value.range) continue;
      const offset = columnOf(text, value.range[0]) - columnOf(text, key.range[0]);
      if (isMap(value) && indent === undefined && offset >= 1 && offset <= 8) indent = offset;
      if (isSeq(value) && indentSeq === undefined) indentSeq = offset > 0;
      stack.push(value);
    }
  }
  return { indent: indent ?? 2, indentSeq: indentSeq ?? true, eol };
}

/**
 * Characters never written raw into YAML output: tab and the other C0 controls but the line
 * feed, DEL, C1 controls, line and paragraph separators, bidirectional controls, the byte-order
 * mark, noncharacters. A string holding one is double-quoted, where each is an escape.
 */
const NEEDS_ESCAPE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/;
const RAW_IN_QUOTES = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g;

/** YAML 1.1 quoting (`"yes"`, `"on"`, `"0755"` stay strings for kubectl), one line per scalar. */
const RENDER: ToStringOptions = { lineWidth: 0, doubleQuotedAsJSON: true, flowCollectionPadding: false };

function safeDocument(value: unknown, flow: boolean): Document {
  const document = new Document(value, { version: '1.1' });
  visit(document, {
    Collection(_, node) {
      // An empty collection is always `{}`/`[]`.
      node.flow = flow || node.items.length === 0;
    },
    Scalar(_, node) {
      if (typeof node.value === 'string' && NEEDS_ESCAPE.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return document;
}

/** `doubleQuotedAsJSON` leaves these raw inside the quotes: as `\u` escapes they stay the same string. */
function escapeRest(text: string): string {
  return text.replace(RAW_IN_QUOTES, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as block YAML lines (no final empty line), in the document's style. */
export function renderBlock(value: unknown, style: Pick<YamlStyle, 'indent' | 'indentSeq'>): string[] {
  const text = escapeRest(safeDocument(value, false).toString({ ...RENDER, indent: style.indent, indentSeq: style.indentSeq }));
  return text.replace(/\n$/, '').split('\n');
}

/** A whole document's value as block YAML text (JSON input, or a document rebuilt), with `eol` line breaks. */
export function renderDocumentValue(value: unknown, style: YamlStyle): string {
  return renderBlock(value, style).join(style.eol);
}

/** A value on one line, in flow style: `48`, `{a: b}`. */
export function renderFlow(value: unknown): string {
  return escapeRest(safeDocument(value, true).toString(RENDER)).replace(/\n$/, '');
}

function renderFlowMember(key: string, value: unknown): string {
  return renderFlow({ [key]: value }).slice(1, -1);
}
