import { looksLikeOurs } from './annotation-keys.js';
import { BOUNDS } from './bounds.js';
import { isRecord } from './json.js';

/** The annotations under the prefix (in any letter case), found in the one pass over a pod's annotations. */
export interface AnnotationScan {
  readonly ours: readonly (readonly [key: string, value: string])[];
  /** The annotations take more than `BOUNDS.annotationBytes`: kube-apiserver refuses the pod anyway. */
  readonly overBound: boolean;
}

/**
 * A pod may carry tens of thousands of annotations, and enumerating the keys of such an object is
 * most of what it costs to read them: so they are gone through once, when the pod's shape is
 * checked at the edge, and what the core needs of them is kept with the object.
 */
const scans = new WeakMap<object, AnnotationScan>();

/**
 * Checks that every value is a string and, in the same pass, sums the size as Kubernetes counts it
 * (keys and values in UTF-8) and collects the keys under our prefix — until the size is over the
 * bound, after which nothing more is collected. `undefined`: not a map of strings.
 */
export function scanAnnotationMap(input: unknown): AnnotationScan | undefined {
  if (!isRecord(input)) return undefined;
  const known = scans.get(input);
  if (known) return known;
  const ours: [string, string][] = [];
  let bytes = 0;
  for (const key in input) {
    const value = input[key];
    if (typeof value !== 'string') return undefined;
    if (bytes > BOUNDS.annotationBytes) continue;
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (looksLikeOurs(key)) ours.push([key, value]);
  }
  const scan = bytes > BOUNDS.annotationBytes ? { ours: [], overBound: true } : { ours, overBound: false };
  scans.set(input, scan);
  return scan;
}

/** The scan of a pod's (already checked) annotations. */
export function scanAnnotations(annotations: Readonly<Record<string, string>>): AnnotationScan {
  return scanAnnotationMap(annotations) ?? { ours: [], overBound: false };
}
