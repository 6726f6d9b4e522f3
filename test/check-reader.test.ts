import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { ClusterReader, CheckReadError, makeCheckApis } from '../src/check/cluster-reader.js';
import { EXIT, runCheck } from '../src/commands/check.js';
import { createCertificateAuthority, createServingCertificate } from '../src/tls/certificates.js';

/**
 * The reading shell of `check` over HTTPS, through @kubernetes/client-node, against a small double
 * of kube-apiserver's list API (`limit` and `continue` as documented in the API concepts: a
 * `metadata.continue` token until the last page; `Status` bodies for errors). Proves pagination,
 * the schema at the edge, and that every failed call is named in one line.
 */

interface Seen {
  path: string;
  limit: string | null;
  continue: string | null;
}

const seen: Seen[] = [];
let server: https.Server;
let caData = '';
let base = '';
let dir = '';

function deployment(name: string, namespace: string): unknown {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, creationTimestamp: '2024-05-01T10:00:00Z' },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { annotations: { 'probe-injector.io/inject': 'true' } }, spec: { containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 8080 }] }] } } },
  };
}

const SHOP = ['a', 'b', 'c', 'd', 'e'].map((name) => deployment(name, 'shop'));

function status(res: http.ServerResponse, code: number, message: string, reason: string) {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

/** One page of `items` for the query's limit and continue token (the token is the next index). */
function page(res: http.ServerResponse, url: URL, kind: string, items: readonly unknown[]) {
  const limit = Number(url.searchParams.get('limit') ?? items.length) || items.length;
  const start = Number(url.searchParams.get('continue') ?? 0);
  const end = Math.min(items.length, start + limit);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind, apiVersion: kind === 'CronJobList' ? 'batch/v1beta1' : 'apps/v1', metadata: { resourceVersion: '7', ...(end < items.length && { continue: String(end) }) }, items: items.slice(start, end) }));
}

beforeAll(async () => {
  const ca = await createCertificateAuthority('check-reader test CA', { days: 1 });
  const serving = await createServingCertificate(ca, { dnsNames: [], ipAddresses: ['127.0.0.1'] }, { days: 1 });
  caData = Buffer.from(ca.cert).toString('base64');
  server = https.createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://double');
    seen.push({ path: url.pathname, limit: url.searchParams.get('limit'), continue: url.searchParams.get('continue') });
    switch (url.pathname) {
      case '/version':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ major: '1', minor: '20', gitVersion: 'v1.20.2' }));
      case '/apis/apps/v1/namespaces/shop/deployments':
        return page(res, url, 'DeploymentList', SHOP);
      case '/apis/apps/v1/namespaces/bad/deployments':
        return page(res, url, 'DeploymentList', [deployment('fine', 'bad'), { metadata: { name: 'no-uid', namespace: 'bad' }, spec: {} }]);
      case '/apis/apps/v1/namespaces/denied/deployments':
        return status(res, 403, 'deployments.apps is forbidden: User "dev" cannot list resource "deployments" in API group "apps" in the namespace "denied"', 'Forbidden');
      case '/apis/apps/v1/namespaces/slow/deployments':
        return; // never answers
      case '/apis/batch/v1beta1/namespaces/shop/cronjobs':
        return page(res, url, 'CronJobList', [1, 2, 3].map((n) => ({ metadata: { name: `c${n}`, namespace: 'shop', uid: `c${n}` }, spec: { jobTemplate: { spec: { template: { spec: { containers: [] } } } } } })));
      case '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations':
        return page(res, url, 'MutatingWebhookConfigurationList', []);
      case '/api/v1/namespaces/shop':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'shop', labels: { team: 'shop' } } }));
      case '/api/v1/namespaces/shop/pods':
        return status(res, 403, 'pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "shop"', 'Forbidden');
      default:
        if (url.pathname.startsWith('/api') && url.pathname.startsWith('/api/v1/namespaces/shop/') || url.pathname.startsWith('/apis/')) return page(res, url, 'List', []);
        return status(res, 404, `the server could not find the requested resource (${url.pathname})`, 'NotFound');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  dir = mkdtempSync(path.join(os.tmpdir(), 'check-reader-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function reader(options: ConstructorParameters<typeof ClusterReader>[1] = {}): ClusterReader {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'double', server: base, caData, skipTLSVerify: false }],
    users: [{ name: 'dev', token: 'secret' }],
    contexts: [{ name: 'double', cluster: 'double', user: 'dev', namespace: 'shop' }],
    currentContext: 'double',
  });
  return new ClusterReader(makeCheckApis(k8s, kubeConfig), options);
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function failure(run: () => Promise<unknown>): Promise<CheckReadError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckReadError);
    return error as CheckReadError;
  }
  throw new Error('expected a CheckReadError');
}

describe('ClusterReader: paginated, checked, every failure named', () => {
  it('reads a list a page at a time with limit, following continue tokens to the end', async () => {
    seen.length = 0;
    const pages: number[] = [];
    const items = await all(reader({ pageSize: 2, onPage: (_what, count) => pages.push(count) }).deployments({ namespace: 'shop' }));
    expect(items.map((item) => item.metadata.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen).toEqual([
      { path: '/apis/apps/v1/namespaces/shop/deployments', limit: '2', continue: null },
      { path: '/apis/apps/v1/namespaces/shop/deployments', limit: '2', continue: '2' },
      { path: '/apis/apps/v1/namespaces/shop/deployments', limit: '2', continue: '4' },
    ]);
  });

  it('asks for 500 per page by default', async () => {
    seen.length = 0;
    await all(reader().deployments({ namespace: 'shop' }));
    expect(seen).toEqual([{ path: '/apis/apps/v1/namespaces/shop/deployments', limit: '500', continue: null }]);
  });

  it('batch/v1beta1 CronJobs (before 1.21) are read as custom objects, paginated the same way', async () => {
    seen.length = 0;
    const items = await all(reader({ pageSize: 2 }).cronJobs({ namespace: 'shop' }, 'v1beta1'));
    expect(items.map((item) => item.metadata.name)).toEqual(['c1', 'c2', 'c3']);
    expect(seen.map((s) => s.continue)).toEqual([null, '2']);
  });

  it('an item that is not what the API documents ends the run, naming the call and the item', async () => {
    const error = await failure(() => all(reader().deployments({ namespace: 'bad' })));
    expect(error.message).toMatch(/^list deployments in namespace bad: item 1 is not what the API documents: metadata\.uid: /);
  });

  it('a refused call: the call, the HTTP status and the API server\'s message', async () => {
    const error = await failure(() => all(reader().deployments({ namespace: 'denied' })));
    expect(error.message).toBe(
      'list deployments in namespace denied: HTTP 403: deployments.apps is forbidden: User "dev" cannot list resource "deployments" in API group "apps" in the namespace "denied"',
    );
  });

  it('a call that gets no answer is given up after the timeout', async () => {
    const error = await failure(() => all(reader({ timeoutMs: 300 }).deployments({ namespace: 'slow' })));
    expect(error.message).toBe('list deployments in namespace slow: no answer within 300 ms');
  });

  it('no server: the call and the network error', async () => {
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'none', server: 'https://127.0.0.1:1', caData }],
      users: [{ name: 'dev' }],
      contexts: [{ name: 'none', cluster: 'none', user: 'dev' }],
      currentContext: 'none',
    });
    const error = await failure(() => new ClusterReader(makeCheckApis(k8s, kubeConfig)).version());
    expect(error.message).toMatch(/^get the API server version \(GET \/version\): .*ECONNREFUSED/);
  });
});

describe('runCheck: the command over the same double', () => {
  function kubeconfigFile(): string {
    const file = path.join(dir, 'kubeconfig');
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster: {server: "${base}", certificate-authority-data: ${caData}}\nusers:\n- name: dev\n  user: {token: secret}\ncontexts:\n- name: double\n  context: {cluster: double, user: dev, namespace: shop}\ncurrent-context: double\n`,
    );
    return file;
  }

  async function run(options: Parameters<typeof runCheck>[0]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => (out += chunk));
    stderr.on('data', (chunk) => (err += chunk));
    const code = await runCheck(options, { stdout, stderr });
    return { code, out, err };
  }

  it('a list the user may not read: exit 2, nothing on stdout, one line on stderr naming the call', async () => {
    const result = await run({ kubeconfig: kubeconfigFile(), output: 'json' }); // the context's namespace: shop
    expect(result).toEqual({
      code: EXIT.unreadable,
      out: '',
      err: 'probe-injector check: list pods in namespace shop: HTTP 403: pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "shop"\n',
    });
  });

  it('-n and -A together: exit 2', async () => {
    const result = await run({ kubeconfig: kubeconfigFile(), namespace: 'shop', allNamespaces: true });
    expect(result.code).toBe(EXIT.unreadable);
    expect(result.err).toBe('probe-injector check: -n/--namespace and -A/--all-namespaces exclude each other\n');
  });

  it('an invalid --config: exit 2, the config error in one line', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'errorPolicy: maybe\n');
    const result = await run({ kubeconfig: kubeconfigFile(), config });
    expect(result.code).toBe(EXIT.unreadable);
    expect(result.err).toMatch(/^probe-injector check: invalid config .*config\.yaml: errorPolicy: .*\n$/);
  });

  it('a kubeconfig with control characters in its error is said on one clean line', async () => {
    const file = path.join(dir, 'broken');
    writeFileSync(file, 'clusters: [\u001b[31m\n');
    const result = await run({ kubeconfig: file });
    expect(result.code).toBe(EXIT.unreadable);
    expect(result.err).toMatch(/^probe-injector check: cannot load the Kubernetes configuration \(--kubeconfig .*broken\): [^\u0000-\u001f]*\n$/);
  });
});

describe('runCheck without any kubeconfig', () => {
  // (In a pod, loadFromDefault() finds the service account instead: nothing to test there.)
  const inPod = existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
  (inPod ? it.skip : it)('says so instead of calling http://localhost:8080 (client-node\'s last resort)', async () => {
    const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
    const home = mkdtempSync(path.join(os.tmpdir(), 'check-home-'));
    process.env.HOME = home;
    delete process.env.KUBECONFIG;
    try {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (chunk) => (err += chunk));
      const code = await runCheck({}, { stdout, stderr });
      expect(code).toBe(EXIT.unreadable);
      expect(err).toBe('probe-injector check: no Kubernetes configuration: not running in a cluster, and no --kubeconfig, $KUBECONFIG or ~/.kube/config\n');
    } finally {
      Object.assign(process.env, saved);
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
      rmSync(home, { recursive: true, force: true });
    }
  });
});
