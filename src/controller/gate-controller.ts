import type { Pod } from '../core/pod.js';
import type { Logger } from '../logger.js';
import type { Clock } from './clock.js';
import { EventRecorder } from './event-recorder.js';
import { decideGate, EVENT_REASONS, EVENT_TYPES, type GateDecision, type GateIdentity, type GateMemory, type GateSettings, type NacosAnswer } from './gate.js';
import { viewPod, type GatedPod } from './gated-pod.js';
import { printable } from './message-text.js';
import type { ControllerMetrics } from './metrics.js';
import { serviceName, type NacosLister } from './nacos-lister.js';
import { statusOf, type PodStatusApi } from './pod-status-api.js';
import { gateStatusPatch } from './status-patch.js';
import { WaitingRoom, type DueService } from './waiting-room.js';
import { WorkQueue } from './work-queue.js';

/**
 * The Nacos gate controller's shell (SPEC §8). It is fed pods by the informer (`upsert`,
 * `remove`, `resync`), keeps which ready pods wait for which Nacos service, asks Nacos once per
 * service per `pollSeconds` while some pod waits (`tick`, driven by a timer), and for each waiting
 * pod lets the functional core (`decideGate`) say what to write; a work queue keyed by pod writes
 * it to `pods/status` and emits the Events. Only the leader asks Nacos and writes; every replica
 * keeps its view of the pods warm, so a new leader starts at once.
 */

export interface IdentityProblem {
  readonly key: string;
  readonly value?: string | undefined;
  readonly message: string;
}
/** The core's `Result<NacosIdentity>` (src/core/nacos-identity.ts). */
export type IdentityResult = { readonly ok: true; readonly value: GateIdentity } | { readonly ok: false; readonly problems: readonly IdentityProblem[] };

/** What the current configuration says, as the controller uses it. */
export interface ControllerSettings {
  readonly gate: GateSettings;
  /** The core's `resolveNacosIdentity`, bound to the configuration. */
  identify(pod: Pod): IdentityResult;
}

export interface GateControllerOptions {
  /** Read at every use: a reloaded configuration applies at once. */
  readonly settings: () => ControllerSettings;
  readonly nacos: NacosLister;
  readonly api: PodStatusApi;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  /** This replica's name, in Events. */
  readonly instance: string;
  /** Pods handled at once (status writes in flight). Default 8. */
  readonly workers?: number | undefined;
  /** Nacos calls in flight at once. Default 32. */
  readonly maxNacosCalls?: number | undefined;
  readonly events?: { readonly perSecond?: number; readonly burst?: number } | undefined;
  readonly random?: (() => number) | undefined;
  /**
   * Asked right before each Nacos call and each write: the election's own view (false as soon as
   * the renew deadline has passed), in case it is not yet reported through `setLeader(false)`.
   */
  readonly stillLeading?: (() => boolean) | undefined;
}

interface Tracked {
  view: GatedPod;
  identity?: GateIdentity | undefined;
  problems?: readonly IdentityProblem[] | undefined;
  identityWarned: boolean;
  memory: GateMemory;
  /** When this controller first saw it ready (when ContainersReady carries no time). */
  firstReadyAt?: number | undefined;
  /** The resourceVersion our last successful write replaced: a copy of it is older than what we know. */
  patchedFrom?: string | undefined;
  /** The gate is True (seen or written): nothing more to do for this pod. */
  done: boolean;
}

/** Conflicting writes in a row before a pod is retried later through the queue's backoff. */
const CONFLICT_ATTEMPTS = 5;
/** A Nacos failure of one service is logged at most this often. */
const NACOS_LOG_INTERVAL_MS = 60_000;

export class GateController {
  private leader = false;
  private stopped = false;
  private readonly pods = new Map<string, Tracked>();
  private readonly room = new WaitingRoom();
  private readonly queue: WorkQueue;
  private readonly recorder: EventRecorder;
  private readonly calls = new Set<Promise<void>>();
  private readonly nacosLoggedAt = new Map<string, number>();
  private readonly invalidLogged = new Set<string>();

  constructor(private readonly options: GateControllerOptions) {
    this.queue = new WorkQueue((key) => this.handle(key), {
      concurrency: options.workers ?? 32,
      clock: options.clock,
      backoff: { baseMs: 200, maxMs: 60_000 },
      random: options.random,
      onError: (key, error, attempt) =>
        options.logger.warn({ pod: key, attempt, error: error instanceof Error ? error.message : String(error) }, 'gate not written; retrying with backoff'),
    });
    this.recorder = new EventRecorder({
      api: options.api,
      clock: options.clock,
      metrics: options.metrics,
      logger: options.logger,
      instance: options.instance,
      perSecond: options.events?.perSecond,
      burst: options.events?.burst,
    });
  }

  get isLeader(): boolean {
    return this.leading();
  }

  private leading(): boolean {
    return this.leader && !this.stopped && (this.options.stillLeading?.() ?? true);
  }

  /** Pods waiting for Nacos (ready, gate not yet True). */
  get pendingPods(): number {
    return this.room.waitingCount;
  }

  setLeader(isLeader: boolean): void {
    if (this.stopped || isLeader === this.leader) return;
    this.leader = isLeader;
    this.options.metrics.leader(isLeader);
    if (!isLeader) {
      this.queue.clear();
      return;
    }
    // Waiting pods are checked once their services are asked (at once: this replica never asked);
    // pods whose identity does not resolve get their Warning now.
    for (const [key, tracked] of this.pods) if (!tracked.done && tracked.problems && !tracked.identityWarned) this.queue.add(key);
    this.tick();
  }

  /** A pod added or changed (informer), or read back after a conflict. */
  upsert(raw: unknown): void {
    if (this.stopped) return;
    const settings = this.options.settings();
    const view = viewPod(raw, settings.gate.conditionType);
    if (!view.ok) {
      this.options.metrics.invalidPod();
      if (view.key !== undefined) this.drop(view.key);
      const id = `${view.key ?? ''}\u0000${view.reason}`;
      if (!this.invalidLogged.has(id) && this.invalidLogged.size < 1000) {
        this.invalidLogged.add(id);
        this.options.logger.warn({ pod: view.key, problem: view.reason }, 'pod skipped: cannot read it');
      }
      return;
    }
    const pod = view.pod;
    if (!pod.labelled || !pod.gated || pod.over) {
      this.drop(pod.key);
      return;
    }
    let tracked = this.pods.get(pod.key);
    if (tracked && tracked.view.uid !== pod.uid) {
      this.drop(pod.key); // the same name, a new pod
      tracked = undefined;
    }
    if (!tracked) {
      tracked = { view: pod, identityWarned: false, memory: {}, done: false };
      this.pods.set(pod.key, tracked);
    } else if (tracked.patchedFrom === pod.resourceVersion) {
      return; // a copy older than the one our write produced
    }
    tracked.view = pod;
    if (tracked.done || pod.gate?.status === 'True') {
      tracked.done = true; // never set back (SPEC §8)
      this.room.leave(pod.key);
      this.queue.forget(pod.key);
      this.gauges();
      return;
    }
    const identity = settings.identify(pod.pod);
    if (!identity.ok) {
      tracked.identity = undefined;
      tracked.problems = identity.problems;
      this.room.leave(pod.key);
      if (this.leader && !tracked.identityWarned) this.queue.add(pod.key);
      this.gauges();
      return;
    }
    tracked.identity = identity.value;
    tracked.problems = undefined;
    if (pod.ips.length === 0 || !pod.containersReady) {
      // Asking earlier is wasted (SPEC §8): it waits only once it has an IP and its containers are ready.
      tracked.firstReadyAt = undefined;
      this.room.leave(pod.key);
      this.gauges();
      return;
    }
    const now = this.options.clock.now();
    tracked.firstReadyAt ??= now;
    const { added, answer } = this.room.wait(pod.key, identity.value, identity.value.cluster);
    // Newly waiting: checked at once against an answer of this period, else its service is due now.
    if (added && answer && now - answer.at < settings.gate.pollSeconds * 1000 && this.leader) {
      const decision = this.decide(tracked, answer, settings.gate, now);
      if (decision && (decision.write !== undefined || decision.events.length > 0 || decision.done)) this.queue.add(pod.key);
    }
    this.gauges();
    this.tick();
  }

  /** A pod deleted (informer). */
  remove(raw: unknown): void {
    const metadata = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null | undefined)?.metadata;
    if (typeof metadata?.name === 'string' && typeof metadata.namespace === 'string') this.drop(`${metadata.namespace}/${metadata.name}`);
  }

  /** Every pod the informer holds (after a relist or a config reload): forgets the others. */
  resync(raws: readonly unknown[]): void {
    const seen = new Set<string>();
    for (const raw of raws) {
      const metadata = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null | undefined)?.metadata;
      if (typeof metadata?.name === 'string' && typeof metadata.namespace === 'string') seen.add(`${metadata.namespace}/${metadata.name}`);
      this.upsert(raw);
    }
    for (const key of [...this.pods.keys()]) if (!seen.has(key)) this.drop(key);
  }

  /** Starts the Nacos calls that are due (leader only). Cheap: the shell calls it often. */
  tick(): void {
    if (!this.leading()) return;
    const periodMs = this.options.settings().gate.pollSeconds * 1000;
    const now = this.options.clock.now();
    const max = this.options.maxNacosCalls ?? 32;
    for (const due of this.room.due(now, periodMs)) {
      if (this.calls.size >= max) break;
      this.room.started(due.key, now);
      const call: Promise<void> = this.ask(due).finally(() => {
        this.calls.delete(call);
        this.tick();
      });
      this.calls.add(call);
    }
  }

  /** Milliseconds until a service falls due (for the shell's timer); undefined when none waits. */
  nextDueIn(): number | undefined {
    const at = this.room.nextDueAt(this.options.settings().gate.pollSeconds * 1000);
    return at === undefined ? undefined : Math.max(0, at - this.options.clock.now());
  }

  /** Resolves when no Nacos call, write or Event is in flight (tests, shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      await Promise.all([...this.calls]);
      await this.queue.idle();
      await this.recorder.idle();
      if (this.calls.size === 0 && this.queue.busy === 0) return;
    }
  }

  /** Stops asking and writing; what is in flight finishes. */
  stop(): void {
    this.stopped = true;
    this.leader = false;
    this.options.metrics.leader(false);
    this.queue.stop();
  }

  private drop(key: string): void {
    this.pods.delete(key);
    this.room.leave(key);
    this.queue.forget(key);
    this.gauges();
  }

  private gauges(): void {
    this.options.metrics.pendingPods(this.room.waitingCount);
    this.options.metrics.servicesWaiting(this.room.servicesWaiting);
  }

  private async ask(due: DueService): Promise<void> {
    const { nacos, clock, metrics, logger } = this.options;
    let answer: NacosAnswer;
    try {
      const hosts = await nacos.listInstances(due.clusters === undefined ? due.ref : { ...due.ref, clusters: due.clusters });
      answer = { ok: true, hosts, at: clock.now() };
      metrics.nacosList('success');
      this.nacosLoggedAt.delete(due.key);
    } catch (error) {
      const now = clock.now();
      const message = error instanceof Error ? error.message : String(error);
      answer = { ok: false, error: message, at: now };
      metrics.nacosList('error');
      const last = this.nacosLoggedAt.get(due.key);
      if (last === undefined || now - last >= NACOS_LOG_INTERVAL_MS) {
        this.nacosLoggedAt.set(due.key, now);
        logger.warn({ service: serviceName(due.ref), error: printable(message, 300) }, 'Nacos instance list failed; its pods keep waiting');
      }
    }
    const waiting = this.room.answered(due.key, answer);
    if (!this.leader) return;
    // Decided here for every waiting pod (pure and cheap); only a pod with something to write or
    // say goes to the queue, so the workers spend their time on writes, not on "still waiting".
    const gate = this.options.settings().gate;
    const now = clock.now();
    for (const key of waiting) {
      const tracked = this.pods.get(key);
      if (!tracked || tracked.done) continue;
      const decision = this.decide(tracked, answer, gate, now);
      if (decision && (decision.write !== undefined || decision.events.length > 0 || decision.done)) this.queue.add(key);
    }
  }

  /**
   * The core's decision for a waiting pod, or undefined when there is nothing to decide: no
   * identity, or an answer from before the pod was ready that does not register it (saying why it
   * waits needs an answer of its own: the next call is at most a period away).
   */
  private decide(tracked: Tracked, answer: NacosAnswer, gate: GateSettings, now: number): GateDecision | undefined {
    if (!tracked.identity) return undefined;
    const view = tracked.view;
    const decision = decideGate({
      ips: view.ips,
      readySince: Math.min(now, view.containersReadyAt ?? tracked.firstReadyAt ?? now),
      current: view.gate,
      identity: tracked.identity,
      answer,
      memory: tracked.memory,
      settings: gate,
      now,
    });
    if (!decision.done && answer.at < (tracked.firstReadyAt ?? 0)) return undefined;
    return decision;
  }

  /** One pod, from the queue: decide with the latest answer, write, emit. */
  private async handle(key: string): Promise<void> {
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      if (!this.leading()) return;
      const tracked = this.pods.get(key);
      if (!tracked || tracked.done) return;
      const view = tracked.view;
      const settings = this.options.settings();
      if (tracked.problems) {
        if (!tracked.identityWarned) this.identityWarning(tracked, tracked.problems);
        return;
      }
      const answer = this.room.answerFor(key);
      if (!answer) return;
      const now = this.options.clock.now();
      const decision = this.decide(tracked, answer, settings.gate, now);
      if (!decision || !tracked.identity) return;
      const write = decision.write;
      if (write) {
        if (!this.leading()) return;
        let updated: unknown;
        const writeStart = this.options.clock.now();
        try {
          updated = await this.options.api.patchPodStatus(view.namespace, view.name, gateStatusPatch(settings.gate.conditionType, write, view.resourceVersion));
          this.options.metrics.statusWrite('success');
        } catch (error) {
          const status = statusOf(error);
          if (status === 409) {
            // The pod changed since we read it (the kubelet writes its status often): read it again, decide again.
            this.options.metrics.statusWrite('conflict');
            const fresh = await this.options.api.readPod(view.namespace, view.name);
            if (fresh === undefined) this.drop(key);
            else this.upsert(fresh);
            continue;
          }
          if (status === 404) {
            this.options.metrics.statusWrite('not_found');
            this.drop(key);
            return;
          }
          this.options.metrics.statusWrite('error');
          throw error;
        }
        tracked.patchedFrom = view.resourceVersion;
        const written = viewPod(updated, settings.gate.conditionType);
        tracked.view = written.ok && written.pod.uid === view.uid ? written.pod : { ...view, gate: { status: write.status, reason: write.reason, message: write.message } };
        this.options.metrics.gateChange(write.status, write.reason);
        this.options.logger.info(
          {
            pod: key,
            uid: view.uid,
            condition: settings.gate.conditionType,
            status: write.status,
            reason: write.reason,
            message: write.message,
            nacos: serviceName(tracked.identity),
            port: tracked.identity.port,
            waitedSeconds: Math.round(decision.waitedSeconds * 1000) / 1000,
            // Where the wait went: how old Nacos's answer was when decided on, how long the write took.
            answerAgeSeconds: (now - answer.at) / 1000,
            writeSeconds: (this.options.clock.now() - writeStart) / 1000,
          },
          'gate changed',
        );
        if (decision.done) this.options.metrics.gateSet(write.reason, decision.waitedSeconds);
      }
      if (decision.done) {
        tracked.done = true;
        this.room.leave(key);
        this.gauges();
      }
      tracked.memory = decision.memory;
      for (const event of decision.events) this.recorder.emit(tracked.view, event);
      return;
    }
    throw new Error(`the pod changed ${CONFLICT_ATTEMPTS} times in a row while its gate was being written`);
  }

  private identityWarning(tracked: Tracked, problems: readonly IdentityProblem[]): void {
    tracked.identityWarned = true;
    const text = problems
      .slice(0, 5)
      .map((problem) => `${printable(problem.key, 100)}${problem.value !== undefined ? ` ${JSON.stringify(printable(problem.value, 60))}` : ''}: ${printable(problem.message, 300)}`)
      .join('; ');
    const message = `cannot tell which Nacos instance this pod is, so its gate is left alone: ${text}`;
    this.options.logger.warn({ pod: tracked.view.key, uid: tracked.view.uid, problems: problems.slice(0, 5) }, 'gated pod without a Nacos identity');
    this.recorder.emit(tracked.view, { type: EVENT_TYPES.warning, reason: EVENT_REASONS.identity, message });
  }
}
