import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { httpsGet, ROOT, runCli } from './support/process.js';
import { basePod, reviewOf, testCertFiles, type TestCertFiles } from './support/webhook.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function plain(port: number, method: string, pathName: string): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathName }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dist/cli.js serve --metrics-port: Prometheus over plain HTTP', () => {
  let files: TestCertFiles;
  let ca: string;
  let certArgs: readonly string[];
  beforeAll(async () => {
    files = await testCertFiles('metrics');
    ({ ca, certArgs } = files);
  });
  afterAll(() => files.remove());

  it('GET /metrics (also still on the HTTPS port), /healthz and /readyz; anything else a JSON 404/405', async () => {
    const metricsPort = await freePort();
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', String(metricsPort), ...certArgs]);
    try {
      const listening = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
      expect(listening.metricsPort).toBe(metricsPort);
      await run.waitFor((line) => line.kubernetesVersion !== undefined);
      const review = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }));
      expect((await httpsGet(listening.port, ca, '/mutate', JSON.stringify(review))).status).toBe(200);

      const metrics = await plain(metricsPort, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.type).toMatch(/^text\/plain/);
      const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
      expect(metrics.text).toContain(`probe_injector_build_info{version="${version}"} 1`);
      expect(metrics.text).toMatch(/^probe_injector_admission_requests_total\{endpoint="mutate",outcome="patched"\} 1$/m);
      expect(metrics.text).toMatch(/^probe_injector_kubernetes_version_info\{version="unknown",source="unknown",git_version=""\} 1$/m);
      expect(metrics.text).toMatch(/^probe_injector_request_body_budget_bytes 33554432$/m);
      expect((await httpsGet(listening.port, ca, '/metrics')).text).toContain('probe_injector_build_info');

      expect(await plain(metricsPort, 'GET', '/healthz')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
      expect((await plain(metricsPort, 'GET', '/readyz')).status).toBe(200);
      const missing = await plain(metricsPort, 'GET', '/mutate');
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.text)).toMatchObject({ code: 404, error: expect.stringMatching(/this port serves GET \/metrics/) });
      expect((await plain(metricsPort, 'POST', '/metrics')).status).toBe(405);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });

  it('a metrics port already in use: logged, and the webhook serves anyway (metrics stay on the HTTPS port)', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', String(port), ...certArgs]);
    try {
      const error = await run.waitFor((line) => line.msg === 'cannot serve metrics on the metrics port: they stay on the HTTPS port only');
      expect(error).toMatchObject({ level: 50, metricsPort: port, error: expect.stringMatching(/EADDRINUSE/) });
      const listening = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
      expect(listening.metricsPort).toBeNull();
      expect((await httpsGet(listening.port, ca, '/metrics')).status).toBe(200);
    } finally {
      run.child.kill('SIGTERM');
      taken.close();
    }
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });
});
