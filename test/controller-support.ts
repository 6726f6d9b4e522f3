/**
 * Test support for the gate controller's unit tests (test/controller-*.test.ts): a manual clock,
 * an in-memory double of the three API-server calls the controller makes besides its watch
 * (faithful to what kube-apiserver does with them: strategic merge of `status.conditions` by
 * `type`, the `metadata.resourceVersion` precondition answered 409, 404 for a missing pod — the
 * real server is exercised in test/e2e/controller.e2e.ts), gated pods as the webhook stores them,
 * and a recording logger.
 */
import type { Clock } from '../src/controller/clock.js';
import type { CoreEvent } from '../src/controller/pod-event.js';
import { KubeApiError, type PodStatusApi } from '../src/controller/pod-status-api.js';
import type { StatusPatch } from '../src/controller/status-patch.js';
import type { Logger } from '../src/logger.js';

export const T0 = Date.parse('2026-03-01T10:00:00Z');

export class ManualClock implements Clock {
  private timers: { at: number; run: () => void; seq: number }[] = [];
  private seq = 0;
  constructor(public time = T0) {}
  now(): number {
    return this.time;
  }
  after(ms: number, run: () => void): () => void {
    const timer = { at: this.time + ms, run, seq: this.seq++ };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  /** Moves time on, running the timers that fall due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.run();
    }
    this.time = end;
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
}

export type Json = Record<string, any>;

export interface RecordedPatch {
  readonly key: string;
  readonly patch: StatusPatch;
  readonly result: 'applied' | 'conflict' | 'not_found' | 'error';
}

/** The API server as the controller's PodStatusApi sees it. */
export class FakeApiServer implements PodStatusApi {
  readonly pods = new Map<string, Json>();
  readonly patches: RecordedPatch[] = [];
  readonly events: CoreEvent[] = [];
  readonly reads: string[] = [];
  private rv = 100;
  private failures: { status: number | undefined; times: number }[] = [];
  /** Called before a patch is applied: lets a test change the pod in between (a kubelet write). */
  beforePatch: ((key: string) => void) | undefined;

  /** Stores a pod (a new resourceVersion) and returns a copy, as a watch event would carry it. */
  put(pod: Json): Json {
    const stored = structuredClone(pod);
    stored.metadata.resourceVersion = String(++this.rv);
    this.pods.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
    return structuredClone(stored);
  }

  /** Changes a stored pod as another writer would (the kubelet); returns the new copy. */
  change(key: string, mutate: (pod: Json) => void): Json {
    const pod = this.pods.get(key);
    if (!pod) throw new Error(`no pod ${key}`);
    mutate(pod);
    pod.metadata.resourceVersion = String(++this.rv);
    return structuredClone(pod);
  }

  get(key: string): Json | undefined {
    const pod = this.pods.get(key);
    return pod && structuredClone(pod);
  }

  condition(key: string, type = 'nacos.io/registered'): Json | undefined {
    return this.pods.get(key)?.status?.conditions?.find((c: Json) => c.type === type);
  }

  /** The next `times` patches fail with this HTTP status (undefined: a network error). */
  failPatches(status: number | undefined, times = 1): void {
    this.failures.push({ status, times });
  }

  async readPod(namespace: string, name: string): Promise<unknown> {
    await Promise.resolve();
    this.reads.push(`${namespace}/${name}`);
    return this.get(`${namespace}/${name}`);
  }

  async patchPodStatus(namespace: string, name: string, patch: StatusPatch): Promise<unknown> {
    await Promise.resolve();
    const key = `${namespace}/${name}`;
    this.beforePatch?.(key);
    const failure = this.failures[0];
    if (failure) {
      if (--failure.times <= 0) this.failures.shift();
      this.patches.push({ key, patch, result: 'error' });
      throw new KubeApiError(`injected failure ${failure.status ?? 'network'}`, failure.status);
    }
    const pod = this.pods.get(key);
    if (!pod) {
      this.patches.push({ key, patch, result: 'not_found' });
      throw new KubeApiError(`pods "${name}" not found`, 404);
    }
    if (patch.metadata.resourceVersion !== pod.metadata.resourceVersion) {
      this.patches.push({ key, patch, result: 'conflict' });
      throw new KubeApiError('Operation cannot be fulfilled on pods: the object has been modified; please apply your changes to the latest version and try again', 409);
    }
    // Strategic merge of status.conditions, patchMergeKey "type": merge into the element of the same type, null deletes.
    pod.status ??= {};
    pod.status.conditions ??= [];
    for (const entry of patch.status.conditions) {
      let target = pod.status.conditions.find((c: Json) => c.type === entry.type);
      if (!target) {
        target = {};
        pod.status.conditions.push(target);
      }
      for (const [field, value] of Object.entries(entry)) {
        if (value === null) delete target[field];
        else target[field] = value;
      }
    }
    pod.metadata.resourceVersion = String(++this.rv);
    this.patches.push({ key, patch, result: 'applied' });
    return structuredClone(pod);
  }

  async createEvent(namespace: string, event: CoreEvent): Promise<void> {
    await Promise.resolve();
    if (event.metadata.namespace !== namespace || event.involvedObject.namespace !== namespace) throw new KubeApiError('event namespace mismatch', 422);
    this.events.push(event);
  }

  writes(key?: string): RecordedPatch[] {
    return this.patches.filter((p) => p.result === 'applied' && (key === undefined || p.key === key));
  }
}

export interface PodOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly service?: string;
  readonly ip?: string | undefined;
  readonly ips?: string[];
  /** ContainersReady True since (ms); undefined: not ready. */
  readonly readyAt?: number | undefined;
  readonly port?: number;
  readonly annotations?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly gate?: boolean;
  readonly uid?: string;
}

/** A gated pod as the webhook stores it (label, readiness gate), with the status a kubelet would set. */
export function gatedPod(options: PodOptions): Json {
  const ips = options.ips ?? (options.ip ? [options.ip] : []);
  const readyAt = options.readyAt;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name,
      namespace: options.namespace ?? 'shop',
      uid: options.uid ?? `uid-${options.name}`,
      labels: { 'probe-injector.io/nacos-gate': 'true', ...(options.service !== undefined && { app: options.service }), ...options.labels },
      annotations: { 'probe-injector.io/inject': 'true', ...options.annotations },
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: options.port ?? 8080 }], readinessProbe: { tcpSocket: { port: options.port ?? 8080 } } }],
      readinessGates: options.gate === false ? [] : [{ conditionType: 'nacos.io/registered' }],
    },
    status: {
      phase: 'Pending',
      ...(ips.length > 0 && { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) }),
      conditions: [
        { type: 'Initialized', status: 'True', lastTransitionTime: new Date(T0 - 60_000).toISOString() },
        { type: 'ContainersReady', status: readyAt === undefined ? 'False' : 'True', lastTransitionTime: new Date(readyAt ?? T0 - 60_000).toISOString() },
        { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady' },
      ],
    },
  };
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg?: string | undefined;
  readonly [field: string]: unknown;
}

export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: object, msg?: string) => lines.push({ level, ...fields, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}
