import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '../src/commands/serve.js';
import type { Logger } from '../src/logger.js';
import { detectKubernetesVersion, interpret, type DetectedVersion } from '../src/serve/kubernetes-version.js';
import { ROOT } from './support/process.js';
import { basePod, reviewOf, testTls } from './support/webhook.js';

const PROBE = path.join(ROOT, 'dist', 'serve', 'kubernetes-version-probe.js');

describe("the version check's answer", () => {
  it.each<[string, object, DetectedVersion]>([
    ['major and minor', { ok: true, info: { major: '1', minor: '20', gitVersion: 'v1.20.2' } }, { version: { major: 1, minor: 20 }, gitVersion: 'v1.20.2', server: undefined, source: undefined }],
    ['GKE/EKS minor "27+"', { ok: true, server: 'https://x', info: { major: '1', minor: '27+', gitVersion: 'v1.27.4-gke.900' } }, { version: { major: 1, minor: 27 }, gitVersion: 'v1.27.4-gke.900', server: 'https://x', source: undefined }],
    ['only gitVersion', { ok: true, info: { gitVersion: 'v1.30.1+k3s1' } }, { version: { major: 1, minor: 30 }, gitVersion: 'v1.30.1+k3s1', server: undefined, source: undefined }],
    ['no version in it', { ok: true, info: { platform: 'linux/amd64' } }, { error: expect.stringMatching(/holds no version/) as unknown as string }],
    ['an error', { ok: false, error: 'connect ECONNREFUSED 10.0.0.1:443' }, { error: 'connect ECONNREFUSED 10.0.0.1:443' }],
    ['fields of the wrong type', { ok: true, info: { major: 1, minor: 20 } }, { error: 'the version check wrote an unexpected answer' }],
  ])('%s', (_name, answer, expected) => {
    expect(interpret(JSON.stringify(answer))).toEqual(expected);
  });

  it('property: any line gives a version or an error, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.record({ ok: fc.boolean(), info: fc.dictionary(fc.string(), fc.jsonValue()), error: fc.string() }).map((r) => JSON.stringify(r))), (line) => {
        const answer = interpret(line);
        expect(answer.version !== undefined || typeof (answer as { error?: unknown }).error === 'string').toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

/** A stand-in for kube-apiserver's `GET /version` over TLS (the only call the check makes). */
async function fakeApiServer(answer: (res: import('node:http').ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const { serving } = await testTls();
  const server = https.createServer(serving, (req, res) => {
    if (req.url === '/version') answer(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('detectKubernetesVersion: GET /version through @kubernetes/client-node, in a child process', () => {
  // An empty home: no ~/.kube/config, no $KUBECONFIG, not in a cluster.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-version-'));
  const env = { PATH: process.env['PATH'], HOME: path.join(dir, 'home') };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function kubeconfigFor(url: string): Promise<string> {
    const { ca } = await testTls();
    const file = path.join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    const caData = Buffer.from(ca.cert).toString('base64');
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${url}", certificate-authority-data: ${caData}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    return file;
  }

  it("reads the API server's version", async () => {
    const api = await fakeApiServer((res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ major: '1', minor: '20', gitVersion: 'v1.20.2', platform: 'linux/amd64' })));
    try {
      const answer = await detectKubernetesVersion({ kubeconfig: await kubeconfigFor(api.url), script: PROBE, env });
      expect(answer).toEqual({ version: { major: 1, minor: 20 }, gitVersion: 'v1.20.2', server: api.url, source: expect.stringMatching(/^--kubeconfig /) });
    } finally {
      await api.close();
    }
  });

  it('an API server that answers something else: an error that says so', async () => {
    const api = await fakeApiServer((res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"Status"}'));
    try {
      const answer = await detectKubernetesVersion({ kubeconfig: await kubeconfigFor(api.url), script: PROBE, env });
      expect(answer).toEqual({ error: expect.stringMatching(/holds no version/) });
    } finally {
      await api.close();
    }
  });

  it('an API server that never answers: given up after the timeout', async () => {
    const api = await fakeApiServer(() => {});
    try {
      const started = Date.now();
      const answer = await detectKubernetesVersion({ kubeconfig: await kubeconfigFor(api.url), script: PROBE, env, timeoutMs: 3000 });
      expect(answer).toEqual({ error: 'no answer within 3 s' });
      expect(Date.now() - started).toBeLessThan(4500);
    } finally {
      await api.close();
    }
  });

  it('no configuration at all (not in a cluster, no $KUBECONFIG, no ~/.kube/config): an error, quickly (the client is not even loaded)', async () => {
    const started = Date.now();
    expect(await detectKubernetesVersion({ script: PROBE, env })).toEqual({ error: expect.stringMatching(/^no Kubernetes configuration/) });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('serve: the version the core gets', () => {
  const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
  const metricLine = async (registry: { metrics(): Promise<string> }) => /^probe_injector_kubernetes_version_info\{.*$/m.exec(await registry.metrics())?.[0];

  it('detected: passed to the core, exposed as a metric; /readyz waits for it', async () => {
    let settle!: (answer: DetectedVersion) => void;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-version-serve-'));
    const serving = await serve(
      { port: 0, host: '127.0.0.1', certDir: dir, watchIntervalMs: 1000, detectVersion: () => new Promise((resolve) => (settle = resolve)) },
      quiet,
    );
    try {
      expect(serving.webhook.isReady()).toBe(false);
      const readyz = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: serving.webhook.port, path: '/readyz', rejectUnauthorized: false }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        }).on('error', reject);
      });
      expect(readyz).toEqual({ status: 503, text: '{"status":"not ready","reason":"reading the Kubernetes version"}' });
      expect(serving.currentConfig().kubernetesVersion).toBeUndefined();
      settle({ version: { major: 1, minor: 29 }, gitVersion: 'v1.29.3' });
      await serving.versionSettled;
      expect(serving.webhook.isReady()).toBe(true);
      expect(serving.currentConfig().kubernetesVersion).toEqual({ major: 1, minor: 29 });
      expect(await metricLine(serving.metrics.registry)).toBe('probe_injector_kubernetes_version_info{version="1.29",source="detected",git_version="v1.29.3"} 1');
    } finally {
      await serving.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("unknown: the oldest behaviour, a warning, and the metric says so; the config's kubernetesVersion overrides detection, which then never runs", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-version-serve-'));
    const warnings: string[] = [];
    const logger: Logger = { ...quiet, warn: (_fields, message) => void warnings.push(message ?? '') };
    const unknown = await serve({ port: 0, host: '127.0.0.1', certDir: dir, watchIntervalMs: 1000, detectVersion: async () => ({ error: 'connect ECONNREFUSED' }) }, logger);
    await unknown.versionSettled;
    expect(unknown.currentConfig().kubernetesVersion).toBeUndefined();
    expect(await metricLine(unknown.metrics.registry)).toBe('probe_injector_kubernetes_version_info{version="unknown",source="unknown",git_version=""} 1');
    expect(warnings).toEqual([expect.stringMatching(/^cannot read the Kubernetes version: writing for the oldest supported version/)]);
    await unknown.stop();

    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'kubernetesVersion: "1.30"\n');
    let calls = 0;
    const pinned = await serve(
      { port: 0, host: '127.0.0.1', certDir: dir, config, watchIntervalMs: 1000, detectVersion: async () => (calls++, { error: 'unused' }) },
      quiet,
    );
    try {
      expect(pinned.webhook.isReady()).toBe(true);
      expect(pinned.currentConfig().kubernetesVersion).toEqual({ major: 1, minor: 30 });
      expect(await metricLine(pinned.metrics.registry)).toBe('probe_injector_kubernetes_version_info{version="1.30",source="config",git_version=""} 1');
      expect(calls).toBe(0);
      // The version reaches the core: on 1.30 a prestop-sleep-seconds hook is the sleep action.
      const body = JSON.stringify(reviewOf(basePod({ 'probe-injector.io/inject': 'true', 'probe-injector.io/prestop-sleep-seconds': '5' })));
      const answer = await new Promise<any>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: pinned.webhook.port, path: '/mutate', method: 'POST', rejectUnauthorized: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end(body);
      });
      const patch = JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));
      expect(JSON.stringify(patch)).toMatch(/"sleep":\{"seconds":5\}/);
    } finally {
      await pinned.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
