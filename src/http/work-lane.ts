/**
 * One lane for expensive work: jobs run one per turn of the event loop, in order. A large request
 * costs tens of milliseconds to parse and admit; run inline, several that arrive together make
 * one long turn, and a TLS handshake (three turns) or a health probe waits behind all of them. In
 * the lane, each turn does at most one such job, so everything else, kubelet's probes included,
 * keeps moving between them.
 */
export interface WorkLane {
  run(job: () => void): void;
  /** Jobs waiting. */
  pending(): number;
}

export function createWorkLane(): WorkLane {
  const queue: (() => void)[] = [];
  let scheduled = false;
  const next = () => {
    scheduled = false;
    const job = queue.shift();
    if (queue.length > 0) {
      scheduled = true;
      setImmediate(next);
    }
    job?.();
  };
  return {
    run(job) {
      queue.push(job);
      if (!scheduled) {
        scheduled = true;
        setImmediate(next);
      }
    },
    pending: () => queue.length,
  };
}
