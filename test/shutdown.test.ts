import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { httpsGet, runCli } from './support/process.js';
import { basePod, reviewOf, testTls } from './support/webhook.js';

describe('dist/cli.js serve: start-up and SIGTERM', () => {
  let dir: string;
  let ca: string;
  let certArgs: string[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-shutdown-'));
    const tls = await testTls();
    ca = tls.ca.cert;
    writeFileSync(path.join(dir, 'tls.crt'), tls.serving.cert);
    writeFileSync(path.join(dir, 'tls.key'), tls.serving.key);
    certArgs = ['--tls-cert-file', path.join(dir, 'tls.crt'), '--tls-key-file', path.join(dir, 'tls.key')];
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGTERM with a request in flight: /readyz turns 503, the request is answered, the process exits 0', async () => {
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', ...certArgs, '--shutdown-delay-seconds', '1']);
    const { port } = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
    const idle = new https.Agent({ ca, keepAlive: true });
    expect((await httpsGet(port, ca, '/readyz')).status).toBe(200);
    await new Promise<void>((resolve) => https.get({ host: 'localhost', port, path: '/healthz', agent: idle }, (res) => res.resume().on('end', resolve)));

    // A request whose body is still arriving when SIGTERM comes.
    const body = JSON.stringify(reviewOf(basePod({ 'probe-injector.io/inject': 'true' })));
    const answer = new Promise<{ status: number; json: any }>((resolve, reject) => {
      const req = https.request({ host: 'localhost', port, path: '/mutate', method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 100));
      setTimeout(() => req.end(body.slice(100)), 1500);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill('SIGTERM');
    await run.waitFor((line) => line.signal === 'SIGTERM');
    expect((await httpsGet(port, ca, '/readyz')).status).toBe(503);

    const result = await answer;
    expect(result.status).toBe(200);
    expect(result.json.response.allowed).toBe(true);
    expect(result.json.response.patch).toBeDefined();
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.lines.filter((line) => line.msg === 'admission')).toHaveLength(1);
    expect(run.lines.some((line) => line.msg === 'stopped')).toBe(true);
    idle.destroy();
  });

  it('an invalid config file: refuses to start, lists every problem, exit 1', async () => {
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, 'injectByDefault: "yes"\nshutdownSeconds: -1\nnacos: { mode: grpc, path: "/x;id" }\nprofile: {}\n');
    const run = runCli(['serve', '--port', '0', ...certArgs, '--config', config]);
    expect((await run.exited).code).toBe(1);
    const stderr = run.stderr.join('');
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `probe-injector: invalid config ${config}:`,
      expect.stringMatching(/^ {2}- injectByDefault: /),
      expect.stringMatching(/^ {2}- shutdownSeconds: must be an integer from 0 to 3600$/),
      expect.stringMatching(/^ {2}- nacos\.mode: must be exec or http$/),
      expect.stringMatching(/^ {2}- nacos\.path: must be an absolute path/),
      expect.stringMatching(/^ {2}- profile: /),
    ]);
  });
});
