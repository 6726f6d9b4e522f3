import { isCollection, type Document } from 'yaml';
import { DEFAULT_YAML_LIMITS, readBoundedYaml, type DuplicateKey, type YamlLimits } from './bounded-yaml.js';
import { renderDocumentValue, styleOf, type TextEdit } from './yaml-edit.js';

/**
 * A stream of manifests (YAML, or JSON: JSON is YAML), read within bounds, one document at a time.
 * Each document knows the span of the text it owns, so the output is the input text with edits:
 * a document nobody changed is written back byte for byte (a byte-order mark, CRLF line breaks and
 * a missing final line break included).
 */
export interface StreamDocument {
  /** 1-based position in the stream, as users count `---` separated documents. */
  readonly number: number;
  readonly document: Document.Parsed;
  /** The document as plain data (aliases and `<<` merge keys resolved, as kubectl reads them). */
  readonly value: unknown;
  /**
   * The text this document owns: from the end of the previous document to the end of this one
   * (leading comments and directives included; a `...` marker after it included).
   */
  readonly start: number;
  readonly end: number;
  /** The root is a flow collection (`{…}`/`[…]`): JSON input. It is written as block YAML. */
  readonly flow: boolean;
  /** Keys given twice in one mapping: kubectl reads the last one, and so does `mutate`. */
  readonly duplicates: readonly DuplicateKey[];
}

/** Manifests are read as kubectl reads them: `<<` merge keys, and the last of duplicate keys wins. */
export function* manifestDocuments(text: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): Generator<StreamDocument, void, undefined> {
  let start = 0;
  for (const entry of readBoundedYaml(text, limits, { merge: true, duplicateKeys: 'last-wins' })) {
    const { document } = entry;
    yield { ...entry, start, flow: isCollection(document.contents) && document.contents.flow === true };
    start = entry.end;
  }
}

/**
 * The edit that writes a document's content anew, as block YAML with `value` (JSON input, or a
 * document whose change cannot be made by inserting lines). Comments and markers around the
 * content stay; comments inside it are lost.
 */
export function rewriteContent(text: string, entry: StreamDocument, value: unknown): TextEdit {
  const contents = entry.document.contents;
  const range = contents?.range;
  if (!range) throw new Error(`document ${entry.number} has no content to rewrite`);
  const style = styleOf(text.slice(entry.start, entry.end), entry.document);
  const lineStart = text.lastIndexOf('\n', range[0] - 1) + 1;
  const before = text.slice(lineStart, range[0]);
  // Block YAML starts a line: on its own line after `--- `, from the line's start after indentation.
  const onOwnLine = /^[ \t]*$/.test(before);
  const start = onOwnLine ? lineStart : range[0];
  const rendered = renderDocumentValue(value, style);
  return { start, end: range[1], text: onOwnLine ? rendered : `${style.eol}${rendered}` };
}
