/**
 * Leader election (src/kube/leader-election.ts) against the real kube-apiserver: separate `node`
 * processes running the built module (test/e2e/support/elector.mjs), killed with SIGKILL, stopped
 * with SIGTERM, or cut off from the API server by a TCP proxy that turns into a black hole; and
 * in-process electors for odd Leases, RBAC and the order of stop(). Short timings, as client-go's
 * own tests use: lease 3 s, renew deadline 2 s, retry 0.5 s. Every case reads back the Lease the API
 * server stored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLeaderElection, type LeaderElection, type LeaderElectionOptions } from '../../src/kube/leader-election.js';
import { ROOT } from '../support/process.js';
import { closeClient, createNamespace, env, kube, ok, waitUntil, type Json } from './support/kube.js';
import { runDirPath } from './support/webhook-process.js';

const NS = 'e2e-leader-election';
const LEASE_MS = 3000;
const RENEW_MS = 2000;
const RETRY_MS = 500;
/** The acquire loop waits retryPeriod × [1, 2.2) between attempts (client-go's jitter). */
const MAX_ACQUIRE_WAIT = RETRY_MS * 2.2;
/**
 * A follower takes over a dead leader's lease at most this long after the leader's last write: it
 * may first see that write one acquire wait late, then waits leaseDuration from that sighting, and
 * notices the expiry at its next attempt.
 */
const MAX_TAKEOVER = MAX_ACQUIRE_WAIT + LEASE_MS + MAX_ACQUIRE_WAIT;
/** Scheduling and process noise on 2 shared cores. */
const SLACK = 1000;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ELECTOR = path.join(ROOT, 'test', 'e2e', 'support', 'elector.mjs');

const leasePath = (name: string) => `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${name}`;
const getLease = async (name: string): Promise<Json> => ok(kube('GET', leasePath(name)), `get Lease ${name}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What a handover took, for the README's table: one JSON line per measure in <run dir>/leader-election/timings.jsonl. */
const measure = (what: string, ms: number) => appendFileSync(runDirPath('leader-election', 'timings.jsonl'), `${JSON.stringify({ what, ms })}\n`);

// ---------------------------------------------------------------------------------- processes
interface ElectorProcess {
  readonly identity: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: any[];
  /** The first line (past or future) that matches. */
  waitFor(match: (line: any) => boolean, timeoutMs?: number): Promise<any>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  events(name: string): any[];
}

const children: ElectorProcess[] = [];

/** `node elector.mjs` with the kubeconfig of the run dir (so run.sh's leftover check sees it), pid recorded for run.sh. */
function spawnElector(identity: string, lease: string, kubeconfig = env.kubeconfig): ElectorProcess {
  const child = spawn(process.execPath, [ELECTOR, kubeconfig, NS, lease, identity, String(LEASE_MS), String(RENEW_MS), String(RETRY_MS)], { cwd: ROOT });
  if (child.pid) appendFileSync(path.join(env.runDir, 'webhook.pids'), `${child.pid}\n`);
  const lines: any[] = [];
  const waiters: { match: (line: any) => boolean; resolve: (line: any) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let line: any;
      try {
        line = JSON.parse(text);
      } catch {
        line = { event: 'text', text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const elector: ElectorProcess = {
    identity,
    child,
    lines,
    exited,
    events: (name) => lines.filter((line) => line.event === name),
    waitFor: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const found = lines.find(match);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`${identity}: timed out after ${timeoutMs} ms; output: ${lines.map((l) => JSON.stringify(l)).join('\n')}\n${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      }),
  };
  children.push(elector);
  return elector;
}

const event = (name: string, fields: Record<string, unknown> = {}) => (line: any) => line.event === name && Object.entries(fields).every(([k, v]) => line[k] === v);

async function killAll(): Promise<void> {
  for (const elector of children.splice(0)) {
    if (elector.child.exitCode === null && elector.child.signalCode === null) elector.child.kill('SIGKILL');
    await elector.exited;
    writeFileSync(runDirPath('leader-election', `${elector.identity}.log`), elector.lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  }
}

// ---------------------------------------------------------------------------------- a TCP proxy to the API server
interface Proxy {
  readonly port: number;
  /** Stops forwarding: open connections are dropped, new ones accepted and never answered. */
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const target = new URL(env.apiserverUrl);
  let forwarding = true;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    if (!forwarding) return; // accepted, then silence
    const upstream = net.connect(Number(target.port), target.hostname);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: () => {
      forwarding = false;
      dropAll();
    },
    restore: () => {
      forwarding = true;
      dropAll(); // the silent ones
    },
    close: async () => {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The run's kubeconfig, pointed at another port of 127.0.0.1 (the apiserver's certificate names that IP). */
function kubeconfigVia(port: number, name: string): string {
  const text = readFileSync(env.kubeconfig, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`);
  const file = runDirPath('leader-election', `${name}.kubeconfig`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

// ---------------------------------------------------------------------------------- in-process electors
interface Recorded {
  readonly level: string;
  readonly msg: string;
  readonly fields: any;
}

function inProcess(
  identity: string,
  lease: string,
  options: Partial<LeaderElectionOptions> & { kubeConfig?: KubeConfig; leaseDurationMs?: number } = {},
): { elector: LeaderElection; logs: Recorded[]; started: number[]; stopped: number[] } {
  const kubeConfig = options.kubeConfig ?? adminConfig();
  const logs: Recorded[] = [];
  const record = (level: string) => (fields: object, msg?: string) => logs.push({ level, msg: msg ?? '', fields });
  const started: number[] = [];
  const stopped: number[] = [];
  const elector = startLeaderElection({
    api: kubeConfig.makeApiClient(CoordinationV1Api),
    namespace: NS,
    name: lease,
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    onStartedLeading: () => void started.push(Date.now()),
    onStoppedLeading: () => void stopped.push(Date.now()),
    ...options,
  });
  electors.push(elector);
  return { elector, logs, started, stopped };
}

const electors: LeaderElection[] = [];

function adminConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfig);
  return kubeConfig;
}

async function createLease(name: string, spec: Json | undefined): Promise<Json> {
  return ok(kube('POST', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, ...(spec && { spec }) }), `create Lease ${name}`);
}

// ---------------------------------------------------------------------------------- the suite
describe('leader election on a coordination.k8s.io/v1 Lease (real kube-apiserver)', () => {
  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'kube', 'leader-election.js'))) throw new Error('dist/kube/leader-election.js is missing: run `npm run build` first');
    await createNamespace(NS, { 'probe-injector-e2e': 'leader-election' });
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((elector) => elector.stop()));
    await killAll();
  });
  afterAll(async () => {
    await kube('DELETE', `/api/v1/namespaces/${NS}`);
    await closeClient();
  });

  it('two processes started together: exactly one leads; the Lease names it and is renewed every retryPeriod', async () => {
    const a = spawnElector('pair-a', 'pair');
    const b = spawnElector('pair-b', 'pair');
    const first = await Promise.race([a.waitFor(event('started')), b.waitFor(event('started'))]);
    const [leader, follower] = first.identity === 'pair-a' ? [a, b] : [b, a];
    await follower.waitFor(event('new-leader', { leader: leader.identity }));
    const before = (await getLease('pair')).spec;
    await sleep(2 * LEASE_MS);
    const after = (await getLease('pair')).spec;

    expect(leader.events('started')).toHaveLength(1);
    expect(leader.events('stopped')).toHaveLength(0);
    expect(follower.events('started')).toHaveLength(0);
    expect(follower.events('is-leader')).toHaveLength(0);
    expect(leader.events('is-leader').map((line) => line.value)).toEqual([true]);
    expect(after).toEqual({
      holderIdentity: leader.identity,
      leaseDurationSeconds: 3,
      acquireTime: before.acquireTime,
      renewTime: expect.stringMatching(MICRO_TIME),
      leaseTransitions: 0,
    });
    expect(after.acquireTime).toMatch(MICRO_TIME);
    // renewed: 6 s later the renewTime moved by about 6 s (every 0.5 s)
    const renewedBy = Date.parse(after.renewTime) - Date.parse(before.renewTime);
    expect(renewedBy).toBeGreaterThan(2 * LEASE_MS - 2 * RETRY_MS - SLACK);
  });

  it('handovers: kill -9 of the leader → the follower takes over once the lease ran out; SIGTERM → released, taken over at once; leaseTransitions counts each', async () => {
    const a = spawnElector('chain-a', 'chain');
    await a.waitFor(event('started'));
    const b = spawnElector('chain-b', 'chain');
    await b.waitFor(event('new-leader', { leader: 'chain-a' }));
    const held = (await getLease('chain')).spec;
    expect(held).toMatchObject({ holderIdentity: 'chain-a', leaseTransitions: 0 });

    // kill -9: nothing is released; B must wait out leaseDuration from the last renewal it saw
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const bStarted = await b.waitFor(event('started'), MAX_TAKEOVER + 10_000);
    const takeover = bStarted.at - killedAt;
    measure('kill -9 → takeover', takeover);
    expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100);
    expect(takeover).toBeLessThanOrEqual(MAX_TAKEOVER + SLACK);
    const afterKill = (await getLease('chain')).spec;
    expect(afterKill).toMatchObject({ holderIdentity: 'chain-b', leaseDurationSeconds: 3, leaseTransitions: 1 });
    expect(afterKill.acquireTime).not.toBe(held.acquireTime);

    // SIGTERM: B stops leading, releases the Lease, exits 0; C takes over at its next attempt
    const c = spawnElector('chain-c', 'chain');
    await c.waitFor(event('new-leader', { leader: 'chain-b' }));
    b.child.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    const order = b.lines.filter((line) => ['sigterm', 'stopped', 'exit'].includes(line.event) || line.msg === 'leader election: released the Lease').map((line) => line.event === 'log' ? 'released' : line.event);
    expect(order).toEqual(['sigterm', 'stopped', 'released', 'exit']);
    const releasedAt = b.lines.find((line) => line.msg === 'leader election: released the Lease').at;
    const cStarted = await c.waitFor(event('started'), 10_000);
    measure('release → takeover', cStarted.at - releasedAt);
    measure('SIGTERM → exit 0', (await b.waitFor(event('exit'))).at - (await b.waitFor(event('sigterm'))).at);
    expect(cStarted.at - releasedAt).toBeLessThanOrEqual(MAX_ACQUIRE_WAIT + SLACK);
    expect(cStarted.at - releasedAt).toBeLessThan(LEASE_MS); // the release, not the expiry
    expect((await getLease('chain')).spec).toMatchObject({ holderIdentity: 'chain-c', leaseDurationSeconds: 3, leaseTransitions: 2 });
  });

  it('a lone leader on SIGTERM hands the Lease back: holderIdentity "", leaseDurationSeconds 1, transitions kept', async () => {
    const d = spawnElector('lone-d', 'lone');
    await d.waitFor(event('started'));
    d.child.kill('SIGTERM');
    expect(await d.exited).toEqual({ code: 0, signal: null });
    const spec = (await getLease('lone')).spec;
    expect(spec).toEqual({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: spec.renewTime, renewTime: expect.stringMatching(MICRO_TIME), leaseTransitions: 0 });
  });

  it('a leader cut off from the API server (black hole) gives up within renewDeadline, before the other takes over; back online, it follows', async () => {
    const proxy = await startProxy();
    try {
      const a = spawnElector('cut-a', 'cut', kubeconfigVia(proxy.port, 'cut-a'));
      await a.waitFor(event('started'));
      const b = spawnElector('cut-b', 'cut');
      await b.waitFor(event('new-leader', { leader: 'cut-a' }));

      const cutAt = Date.now();
      proxy.blackhole();
      const aStopped = await a.waitFor(event('stopped'), 15_000);
      const aNotLeader = await a.waitFor(event('is-leader', { value: false }));
      const bStarted = await b.waitFor(event('started'), 15_000);
      measure('cut → old leader stops', aStopped.at - cutAt);
      measure('old leader stops → new leader starts', bStarted.at - aStopped.at);
      measure('cut → takeover', bStarted.at - cutAt);
      // the old leader gives up within one retryPeriod + renewDeadline (+ noise) ...
      expect(aStopped.at - cutAt).toBeLessThanOrEqual(RETRY_MS + RENEW_MS + SLACK);
      // ... and both it and isLeader() before the new one starts: never two leaders
      expect(aStopped.at).toBeLessThan(bStarted.at);
      expect(aNotLeader.at).toBeLessThan(bStarted.at);
      expect(bStarted.at - cutAt).toBeLessThanOrEqual(MAX_TAKEOVER + SLACK);
      // requests that hang are bounded (max(1 s, renewDeadline/2)) and the failure is logged once, not per attempt
      const warnings = a.lines.filter((line) => line.event === 'log' && line.level === 'warn');
      const lost = warnings.find((line) => line.msg === 'leader election: could not renew the Lease within the renew deadline; leadership lost');
      expect(lost?.lastError).toMatch(/no answer within/);
      expect(warnings.filter((line) => line.msg === 'leader election: the Lease API call failed; retrying every period').length).toBeLessThanOrEqual(3);

      proxy.restore();
      await a.waitFor(event('new-leader', { leader: 'cut-b' }), 10_000);
      await a.waitFor((line) => line.msg === 'leader election: the Lease API answers again', 10_000);
      await sleep(LEASE_MS);
      expect(a.events('started')).toHaveLength(1);
      expect((await getLease('cut')).spec).toMatchObject({ holderIdentity: 'cut-b', leaseTransitions: 1 });
    } finally {
      await proxy.close();
    }
  });

  describe('odd Leases', () => {
    it('a Lease with no spec at all is taken at once (client-go: "acquire from object without annotations")', async () => {
      await createLease('empty', undefined);
      const startedAt = Date.now();
      const x = inProcess('empty-x', 'empty');
      await waitUntil('empty-x leads', async () => x.started.length > 0, 10_000, 50);
      expect(x.started[0]! - startedAt).toBeLessThan(SLACK);
      expect(x.elector.isLeader()).toBe(true);
      expect((await getLease('empty')).spec).toMatchObject({ holderIdentity: 'empty-x', leaseDurationSeconds: 3, leaseTransitions: 1 });
    });

    it('clock skew: a holder whose renewTime says 2100 but that stopped renewing is taken over after its leaseDurationSeconds by our clock', async () => {
      const future = '2100-01-01T00:00:00.000000Z';
      await createLease('future', { holderIdentity: 'ghost', leaseDurationSeconds: 2, acquireTime: future, renewTime: future, leaseTransitions: 4 });
      const startedAt = Date.now();
      const x = inProcess('future-x', 'future');
      await waitUntil('future-x leads', async () => x.started.length > 0, 15_000, 50);
      expect(x.elector.leader()).toBe('future-x');
      const waited = x.started[0]! - startedAt;
      expect(waited).toBeGreaterThanOrEqual(2000);
      expect(waited).toBeLessThanOrEqual(2000 + MAX_ACQUIRE_WAIT + SLACK);
      expect((await getLease('future')).spec).toMatchObject({ holderIdentity: 'future-x', leaseTransitions: 5 });
    });

    it('clock skew: a holder whose renewTime says 1970 but that keeps renewing is never taken over; once it stops, it is', async () => {
      await createLease('past', { holderIdentity: 'ghost', leaseDurationSeconds: 2, renewTime: '1970-01-01T00:00:00.000000Z', leaseTransitions: 0 });
      const x = inProcess('past-x', 'past');
      const renewUntil = Date.now() + 2 * LEASE_MS;
      for (let i = 1; Date.now() < renewUntil; i++) {
        const lease = await getLease('past');
        lease.spec.renewTime = `1970-01-01T00:00:00.${String(i).padStart(6, '0')}Z`;
        await ok(kube('PUT', leasePath('past'), lease), 'renew as ghost');
        await sleep(300);
      }
      expect(x.started).toHaveLength(0);
      expect(x.elector.leader()).toBe('ghost');
      const stoppedRenewing = Date.now();
      await waitUntil('past-x leads', async () => x.started.length > 0, 15_000, 50);
      expect(x.started[0]! - stoppedRenewing).toBeGreaterThanOrEqual(2000 - 400);
      expect((await getLease('past')).spec).toMatchObject({ holderIdentity: 'past-x', leaseTransitions: 1 });
    });
  });

  it('stop(): isLeader() turns false at once, onStartedLeading\'s signal aborts, onStoppedLeading is awaited while the Lease is still ours, then it is released', async () => {
    let signal: AbortSignal | undefined;
    const seen: { holder?: string; isLeader?: boolean; aborted?: boolean } = {};
    let elector: LeaderElection | undefined;
    const x = inProcess('order-x', 'order', {
      onStartedLeading: (s) => void (signal = s),
      onStoppedLeading: async () => {
        seen.isLeader = elector!.isLeader();
        seen.aborted = signal?.aborted;
        await sleep(500);
        seen.holder = (await getLease('order')).spec.holderIdentity;
      },
    });
    elector = x.elector;
    await waitUntil('order-x leads', async () => x.elector.isLeader(), 10_000, 50);
    expect(signal?.aborted).toBe(false);
    const stopping = x.elector.stop();
    expect(x.elector.isLeader()).toBe(false);
    await stopping;
    expect(seen).toEqual({ isLeader: false, aborted: true, holder: 'order-x' });
    expect((await getLease('order')).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(x.logs.filter((line) => line.level !== 'info')).toEqual([]);
  });

  it('RBAC: without rights it logs the 403 once and keeps trying, never leading; with get/update on the Lease and create on leases it leads', async () => {
    if (!env.controllerManager) return; // no ServiceAccount tokens without the controller manager (envtest)
    await ok(kube('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'elector' } }), 'create ServiceAccount');
    const token = await waitUntil('the ServiceAccount token', async () => {
      const secrets = (await ok(kube('GET', `/api/v1/namespaces/${NS}/secrets`))).items as Json[];
      const secret = secrets.find((s) => s.type === 'kubernetes.io/service-account-token' && s.metadata.annotations?.['kubernetes.io/service-account.name'] === 'elector');
      return secret?.data?.token ? Buffer.from(secret.data.token, 'base64').toString('utf8') : undefined;
    });
    const admin = adminConfig();
    const cluster = admin.getCurrentCluster()!;
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'elector', token }],
      contexts: [{ name: 'elector', cluster: cluster.name, user: 'elector' }],
      currentContext: 'elector',
    });
    const x = inProcess('rbac-x', 'rbac', { kubeConfig });
    await sleep(4 * RETRY_MS * 2.2);
    expect(x.started).toHaveLength(0);
    const failures = x.logs.filter((line) => line.msg === 'leader election: the Lease API call failed; retrying every period');
    const forbidden = failures.filter((line) => / HTTP 403: /.test(line.fields.error));
    expect(forbidden).toHaveLength(1); // several attempts, one line
    expect(forbidden[0]!.fields.error).toMatch(/^read the Lease: HTTP 403: leases.coordination.k8s.io "rbac" is forbidden: User "system:serviceaccount:e2e-leader-election:elector" cannot get resource "leases"/);

    // the least privilege the controller needs (create cannot be restricted by resourceNames)
    await ok(
      kube('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'elector' },
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['rbac'], verbs: ['get', 'update'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        ],
      }),
      'create Role',
    );
    await ok(
      kube('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'elector' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'elector' },
        subjects: [{ kind: 'ServiceAccount', name: 'elector', namespace: NS }],
      }),
      'create RoleBinding',
    );
    await waitUntil('rbac-x leads', async () => x.started.length > 0, 15_000, 50);
    expect(x.logs.map((line) => line.msg)).toContain('leader election: the Lease API answers again');
    await x.elector.stop();
    expect((await getLease('rbac')).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
  });
});
