// V8 CPU profiles (`node --cpu-prof`): the format, and the walk from a sample to its stack.

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** What `--cpu-prof` writes: the call tree, and for each sample its leaf node and the µs since the previous one. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The call tree, walkable from a leaf to the root. */
export interface ProfileTree {
  frame(id: number): CallFrame;
  /** The node ids from `id` up to the root. */
  stack(id: number): number[];
}

export function profileTree(profile: CpuProfile): ProfileTree {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  return {
    frame: (id) => {
      const node = byId.get(id);
      if (!node) throw new Error(`CPU profile: no node ${id}`);
      return node.callFrame;
    },
    stack: (id) => {
      const ids: number[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) ids.push(at);
      return ids;
    },
  };
}

/**
 * Each sample with its time (µs, V8's clock: CLOCK_MONOTONIC like process.hrtime) and weight (µs
 * until the next sample).
 */
export function* samples(profile: CpuProfile): Generator<{ id: number; at: number; weightUs: number }> {
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    yield { id: profile.samples[i] ?? 0, at: t, weightUs: profile.timeDeltas[i + 1] ?? 0 };
  }
}

/** The npm package a frame belongs to (`@scope/name` or `name`), if any. */
export const packageOf = (url: string): string | undefined => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

/** `probe-injector dist/x/y.js` for a frame of the webhook's own code, if it is one. */
export function distFileOf(url: string): string | undefined {
  const at = url.indexOf('/dist/');
  return at >= 0 && packageOf(url) === undefined ? `probe-injector ${url.slice(at + 1)}` : undefined;
}
