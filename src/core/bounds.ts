/**
 * The bounds that keep one pod from hurting every other (issue 11): what kube-apiserver would
 * refuse anyway is refused early, before any per-container work, and no answer grows beyond a
 * size kube-apiserver and etcd handle comfortably. Each bound is far above any real pod.
 */
export const BOUNDS = {
  /** Kubernetes' own limit on a pod's annotations, keys and values together (TotalAnnotationSizeLimitB). */
  annotationBytes: 256 * 1024,
  /** A `{probe}-probe`, `{probe}-command` or `{probe}-grpc-service` value: a real one is well under 1 KiB. */
  copiedValueBytes: 16 * 1024,
  /** Containers one pod may name in `containers` (a real pod has a handful). */
  targetContainers: 64,
  /** Condition types in `readiness-gates`. */
  readinessGates: 64,
  /** The JSON Patch of one answer (etcd stores objects up to 1.5 MiB). */
  patchBytes: 256 * 1024,
  /** Problems listed one by one in a denial; the rest are counted. */
  listedProblems: 50,
  /** Unknown keys that get a nearest-key suggestion (a fuzzy search each). */
  suggestions: 20,
  /** Warnings in one answer (kube-apiserver truncates beyond 4 KiB of warnings in all). */
  warnings: 20,
  /** One warning, in characters (kube-apiserver cuts each to 256 when they are many). */
  warningLength: 240,
  /** A whole denial message, in characters. */
  denialLength: 16 * 1024,
} as const;
