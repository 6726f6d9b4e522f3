import { CST, isCollection, parseAllDocuments, Parser, visit, type Document, type ToStringOptions } from 'yaml';

/**
 * A stream of manifests (YAML, or JSON: JSON is YAML), parsed by the `yaml` library so that
 * comments and key order survive. Each document keeps the exact source text it came from: a
 * document nobody changed is written back byte for byte.
 */
export interface StreamDocument {
  /** 1-based position in the stream, as users count `---` separated documents. */
  readonly number: number;
  readonly document: Document.Parsed;
  /**
   * The source text this document owns: from the end of the previous document to the end of this
   * one (leading comments and directives included, as the parser attaches them to this document;
   * a `...` marker after it included). Concatenating every document's source gives the input back.
   */
  readonly source: string;
  /** The root is a flow collection (`{…}`/`[…]`): JSON input. It is always written as block YAML. */
  readonly flow: boolean;
}

export interface ManifestStream {
  readonly documents: readonly StreamDocument[];
  /** Source text after the last document (or the whole text when there is none): comments only. */
  readonly trailer: string;
}

/** Why the input could not be read, with the position (1-based) when there is one. */
export interface StreamError {
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly message: string;
}

/** Same options as the config file loader (duplicate keys are an error), plus `<<` merge keys as kubectl reads them. */
const PARSE_OPTIONS = { uniqueKeys: true, merge: true, prettyErrors: true } as const;

export function parseManifestStream(text: string): ManifestStream | { readonly error: StreamError } {
  const parsed = [...parseAllDocuments(text, PARSE_OPTIONS)];
  for (const document of parsed) {
    const error = document.errors[0];
    if (error) {
      const position = error.linePos?.[0];
      // prettyErrors appends " at line L, column C:" and a code frame: keep the first clause only.
      const message = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
      return { error: { line: position?.line, column: position?.col, message } };
    }
  }
  const ends = documentEnds(text);
  if (ends.length !== parsed.length) {
    // Cannot happen (the composer makes one document per CST document): refuse rather than guess.
    throw new Error(`yaml: ${parsed.length} documents but ${ends.length} document tokens`);
  }
  let start = 0;
  const documents = parsed.map((document, index): StreamDocument => {
    const end = index === parsed.length - 1 ? text.length : (ends[index] as number);
    const source = text.slice(start, end);
    start = end;
    return { number: index + 1, document, source, flow: isCollection(document.contents) && document.contents.flow === true };
  });
  return { documents, trailer: documents.length === 0 ? text : '' };
}

/** Where each document of the stream ends in the text, a `...` marker right after it included. */
function documentEnds(text: string): number[] {
  const ends: number[] = [];
  let previous: string | undefined;
  for (const token of new Parser().parse(text)) {
    const end = token.offset + CST.stringify(token).length;
    if (token.type === 'document') ends.push(end);
    else if (token.type === 'doc-end' && previous === 'document') ends[ends.length - 1] = end;
    previous = token.type;
  }
  return ends;
}

/**
 * Writes one document back. Untouched YAML is its source, byte for byte; a changed document (or
 * JSON input) is printed by the library, keeping comments and key order, in the document's own
 * indentation style where it can be read from the source.
 */
export function renderDocument(entry: StreamDocument, changed: boolean): string {
  if (!changed && !entry.flow) return entry.source;
  const document = entry.document;
  if (entry.flow) {
    // JSON in, YAML out: block collections (an empty one stays `{}`/`[]`) and the library's choice
    // of quotes. Strings are quoted by YAML 1.1 rules too, as kubectl reads YAML: `"on"`, `"yes"`.
    visit(document, {
      Collection(_, node) {
        if (node.items.length > 0) node.flow = false;
      },
      Scalar(_, node) {
        node.type = undefined;
      },
    });
    document.setSchema('1.1');
  }
  return document.toString(formatOf(entry.source, entry.flow));
}

function formatOf(source: string, json: boolean): ToStringOptions {
  const options: { lineWidth: number; indent: number; indentSeq: boolean } = { lineWidth: 0, indent: 2, indentSeq: true };
  if (json) return options;
  // A sequence at the same column as its key (`containers:\n- name: app`, kubectl's style).
  const sequence = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n\1- /m.exec(source);
  if (sequence) options.indentSeq = false;
  // The indentation of the first nested mapping key.
  const nested = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n\1( +)[^\s#-]/m.exec(source);
  const width = nested?.[2]?.length;
  if (width !== undefined && width >= 2 && width <= 8) options.indent = width;
  return options;
}
