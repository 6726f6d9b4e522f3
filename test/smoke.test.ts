import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, httpsGet, ROOT, runCli } from './support/process.js';
import { basePod, reviewOf, testCertFiles } from './support/webhook.js';

/** The packaging: the compiled dist/ run with plain Node, as `npm start` and the image do. */
describe('dist/cli.js with plain Node', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-smoke-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the subcommands', () => {
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/serve/);
  });

  it('serve without certificate files makes a self-signed one, says where the CA is, and serves /healthz and /mutate', async () => {
    const certDir = path.join(dir, 'self-signed');
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', '--cert-dir', certDir]);
    try {
      const bootstrap = await run.waitFor((line) => line.caFile !== undefined);
      expect(bootstrap.caFile).toBe(path.join(certDir, 'ca.crt'));
      const listening = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
      const { port } = listening;
      expect(listening.version).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
      const ca = readFileSync(bootstrap.caFile, 'utf8');
      expect(await httpsGet(port, ca, '/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
      const review = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }));
      const answer = await httpsGet(port, ca, '/mutate', JSON.stringify(review));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).response).toMatchObject({ uid: review.request.uid, allowed: true, patchType: 'JSONPatch' });
      const log = await run.waitFor((line) => line.msg === 'admission');
      expect(log).toMatchObject({ uid: review.request.uid, namespace: 'wh-demo', pod: 'app', outcome: 'patched', operations: 4 });
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });

  it('serve with --tls-cert-file/--tls-key-file uses them; SIGTERM exits 0', async () => {
    const files = await testCertFiles('smoke-tls');
    const { ca } = files;
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', ...files.certArgs]);
    const { port } = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
    await run.waitFor((line) => line.kubernetesVersion !== undefined); // /readyz waits for the version check
    expect((await httpsGet(port, ca, '/readyz')).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.lines.some((line) => line.caFile !== undefined)).toBe(false);
    files.remove();
  });

  it('a missing key file is a one-line error and exit 1, no stack trace', async () => {
    const run = runCli(['serve', '--port', '0', '--tls-cert-file', path.join(dir, 'nope.crt')]);
    expect((await run.exited).code).toBe(1);
    const stderr = run.stderr.join('');
    expect(stderr).toMatch(/^probe-injector: --tls-cert-file and --tls-key-file go together/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
