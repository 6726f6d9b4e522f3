import { isCollection, isMap, isScalar, isSeq, Pair, type Document, type Node } from 'yaml';
import type { PatchOperation } from '../core/patch.js';

/**
 * Applies the webhook's JSON Patch operations (`add`, `replace`; RFC 6902 semantics) to a `yaml`
 * Document in place, so that the comments, key order and styles of everything the patch does not
 * touch survive. New values are appended as block collections.
 *
 * Strict like fast-json-patch with validation: a missing parent, a `replace` of a missing member
 * or a path through an alias or a merge key throws an `UnpatchableError` (the caller then falls
 * back to the plain-object result).
 */
export class UnpatchableError extends Error {
  override readonly name = 'UnpatchableError';
}

export function applyToDocument(document: Document, operations: readonly PatchOperation[]): void {
  for (const operation of operations) applyOperation(document, operation);
}

/** RFC 6901 tokens of a JSON Pointer: `~1` is `/`, `~0` is `~` (in that order). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new UnpatchableError(`not a JSON Pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function applyOperation(document: Document, operation: PatchOperation): void {
  const tokens = pointerTokens(operation.path);
  const last = tokens.pop();
  if (last === undefined) throw new UnpatchableError('cannot replace the whole document');
  const path = resolve(document.contents as Node | null, tokens, operation.path);
  const parent = path[path.length - 1];
  // Inside a flow collection (`metadata: {name: a}`) a new probe would be one long line: the
  // collections on the way down become block style (a block node cannot sit inside a flow one).
  if (isCollection(parent) && parent.flow) {
    for (const node of path) if (isCollection(node)) node.flow = false;
  }
  const value = document.createNode(operation.value);

  if (isMap(parent)) {
    if (operation.op === 'replace' && !parent.has(last)) throw new UnpatchableError(`${operation.path}: no such member to replace`);
    const spec = parent.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === 'spec');
    if (last === 'metadata' && !parent.has(last) && spec >= 0) {
      parent.items.splice(spec, 0, new Pair(last, value)); // a new `metadata` reads best before `spec`
    } else {
      parent.set(last, value);
    }
    return;
  }
  if (isSeq(parent)) {
    const length = parent.items.length;
    if (last === '-' && operation.op === 'add') {
      parent.items.push(value);
      return;
    }
    const index = arrayIndex(last, operation.path);
    if (operation.op === 'add') {
      if (index > length) throw new UnpatchableError(`${operation.path}: index out of range`);
      parent.items.splice(index, 0, value);
    } else {
      if (index >= length) throw new UnpatchableError(`${operation.path}: index out of range`);
      parent.items[index] = value;
    }
    return;
  }
  throw new UnpatchableError(`${operation.path}: the parent is not a mapping or a list`);
}

/** The nodes from the root down to the parent the pointer's last token is in. */
function resolve(root: Node | null, tokens: readonly string[], path: string): unknown[] {
  let node: unknown = root;
  const nodes: unknown[] = [root];
  for (const token of tokens) {
    if (isMap(node)) {
      // Only real keys: a member that comes from a `<<` merge key is not in this mapping.
      node = node.get(token, true);
    } else if (isSeq(node)) {
      node = node.items[arrayIndex(token, path)];
    } else {
      node = undefined;
    }
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      throw new UnpatchableError(`${path}: no such parent`);
    }
    nodes.push(node);
  }
  return nodes;
}

function arrayIndex(token: string, path: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new UnpatchableError(`${path}: ${JSON.stringify(token)} is not an array index`);
  return Number(token);
}
