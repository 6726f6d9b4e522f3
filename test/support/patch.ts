import jsonpatch from 'fast-json-patch';
import { clone, type Pod } from './pod.js';

/** RFC 6902 application with validation: an operation on a missing parent throws. */
export function applyStrict(pod: Pod, patch: readonly any[]): Pod {
  if (patch.length === 0) return clone(pod);
  return jsonpatch.applyPatch(clone(pod), clone(patch) as jsonpatch.Operation[], true, false).newDocument as Pod;
}
