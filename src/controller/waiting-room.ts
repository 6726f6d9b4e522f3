import type { NacosAnswer } from './gate.js';
import { serviceKey, type NacosServiceRef } from './nacos-lister.js';

/**
 * Which pods wait for which Nacos service, and when each service was last asked: the polling
 * plan of SPEC §8 (one instance-list call per service per `pollSeconds`, only while it has pods
 * waiting). No I/O; the controller starts the calls it is told are due and reports their answers.
 */
interface ServiceEntry {
  readonly key: string;
  readonly ref: NacosServiceRef;
  /** Pod key → the Nacos cluster it must be in (undefined: any). */
  readonly waiting: Map<string, string | undefined>;
  /** When the last call started (calls are spaced start to start). */
  lastCallAt?: number | undefined;
  inFlight: boolean;
  answer?: NacosAnswer | undefined;
}

export interface DueService {
  readonly key: string;
  readonly ref: NacosServiceRef;
  /**
   * The clusters to ask for, when every waiting pod names one (Nacos then filters); undefined when
   * some pod takes any cluster.
   */
  readonly clusters?: readonly string[] | undefined;
}

export class WaitingRoom {
  private readonly services = new Map<string, ServiceEntry>();
  private readonly podService = new Map<string, string>();

  /**
   * The pod waits for `ref` (moved there if it waited for another service). Returns whether it
   * just started waiting, and the service's latest answer to check it against right away.
   */
  wait(podKey: string, ref: NacosServiceRef, cluster?: string | undefined): { readonly added: boolean; readonly answer?: NacosAnswer | undefined } {
    const key = serviceKey(ref);
    const previous = this.podService.get(podKey);
    if (previous === key) {
      const entry = this.services.get(key)!;
      entry.waiting.set(podKey, cluster);
      return { added: false, answer: entry.answer };
    }
    if (previous !== undefined) this.leave(podKey);
    let entry = this.services.get(key);
    if (!entry) {
      entry = { key, ref: { namespace: ref.namespace, group: ref.group, service: ref.service }, waiting: new Map(), inFlight: false };
      this.services.set(key, entry);
    }
    entry.waiting.set(podKey, cluster);
    this.podService.set(podKey, key);
    return { added: true, answer: entry.answer };
  }

  /** The pod no longer waits (its gate is set, it is gone, or it is not eligible any more). */
  leave(podKey: string): void {
    const key = this.podService.get(podKey);
    if (key === undefined) return;
    this.podService.delete(podKey);
    this.services.get(key)?.waiting.delete(podKey);
  }

  isWaiting(podKey: string): boolean {
    return this.podService.has(podKey);
  }

  /** The latest answer of the service the pod waits for. */
  answerFor(podKey: string): NacosAnswer | undefined {
    const key = this.podService.get(podKey);
    return key === undefined ? undefined : this.services.get(key)?.answer;
  }

  /**
   * Services to ask now: some pod waits, no call is in flight, and the last call started at least
   * `periodMs` ago (or there was none). Services nobody waits for are forgotten once their last
   * call is a period old, so a pod that comes back at once cannot cause a second call early.
   */
  due(now: number, periodMs: number): DueService[] {
    const due: DueService[] = [];
    for (const entry of this.services.values()) {
      const fresh = entry.lastCallAt !== undefined && now - entry.lastCallAt < periodMs;
      if (entry.waiting.size === 0) {
        if (!fresh && !entry.inFlight) this.services.delete(entry.key);
        continue;
      }
      if (!entry.inFlight && !fresh) due.push({ key: entry.key, ref: entry.ref, clusters: clustersOf(entry.waiting) });
    }
    return due;
  }

  /** When the next service falls due (undefined: none waits, or all are in flight). */
  nextDueAt(periodMs: number): number | undefined {
    let next: number | undefined;
    for (const entry of this.services.values()) {
      if (entry.waiting.size === 0 || entry.inFlight) continue;
      const at = entry.lastCallAt === undefined ? 0 : entry.lastCallAt + periodMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  started(key: string, now: number): void {
    const entry = this.services.get(key);
    if (!entry) return;
    entry.inFlight = true;
    entry.lastCallAt = now;
  }

  /** Stores the answer; returns the pods waiting for it. */
  answered(key: string, answer: NacosAnswer): readonly string[] {
    const entry = this.services.get(key);
    if (!entry) return [];
    entry.inFlight = false;
    entry.answer = answer;
    return [...entry.waiting.keys()];
  }

  /** Pods waiting, over all services. */
  get waitingCount(): number {
    return this.podService.size;
  }

  /** Services with at least one pod waiting. */
  get servicesWaiting(): number {
    let count = 0;
    for (const entry of this.services.values()) if (entry.waiting.size > 0) count++;
    return count;
  }

  waitingPods(): IterableIterator<string> {
    return this.podService.keys();
  }
}

function clustersOf(waiting: ReadonlyMap<string, string | undefined>): string[] | undefined {
  const clusters = new Set<string>();
  for (const cluster of waiting.values()) {
    if (cluster === undefined) return undefined;
    clusters.add(cluster);
  }
  return [...clusters].sort();
}
