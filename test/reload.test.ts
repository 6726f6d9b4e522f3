import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '../src/commands/serve.js';
import type { Logger } from '../src/logger.js';
import { startReloadLoop } from '../src/serve/reload-loop.js';
import { createCertificateAuthority, createServingCertificate } from '../src/tls/certificates.js';
import { runCli } from './support/process.js';
import { testTls, testCertFiles, type TestCertFiles } from './support/webhook.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

function recorder(): Logger & { lines: { fields: any; message?: string | undefined }[] } {
  const lines: { fields: any; message?: string | undefined }[] = [];
  const at = (fields: object, message?: string) => void lines.push({ fields, message });
  return { lines, info: at, warn: at, error: at };
}

describe('the reload loop', () => {
  it('a failed load keeps the last value and is retried with backoff until it succeeds, without any file change', async () => {
    const applied: string[] = [];
    const failures: [number, number][] = [];
    let calls = 0;
    const loop = startReloadLoop({
      files: [],
      intervalMs: 1000,
      watch: () => () => {}, // no file ever changes: only the retries can succeed
      backoff: { initialMs: 20, maxMs: 60 },
      load: async () => {
        calls++;
        if (calls <= 4) throw new Error(`not yet (${calls})`);
        return `value ${calls}`;
      },
      apply: (value) => applied.push(value),
      onFailure: (_error, attempt, retryInMs) => failures.push([attempt, retryInMs]),
    });
    loop.reloadNow();
    await waitFor(() => applied.length > 0);
    expect(applied).toEqual(['value 5']);
    expect(failures).toEqual([
      [1, 20],
      [2, 40],
      [3, 60],
      [4, 60],
    ]);
    expect(loop.failing()).toBe(false);
    loop.stop();
  });

  it('loads never overlap: a change during a load loads again after it; stop() cancels a pending retry', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const loop = startReloadLoop({
      files: [],
      intervalMs: 1000,
      watch: () => () => {},
      backoff: { initialMs: 30, maxMs: 30 },
      load: async () => {
        calls++;
        most = Math.max(most, ++running);
        await sleep(30);
        running--;
        if (calls >= 2) throw new Error('broken');
        return calls;
      },
      apply: () => {},
      onFailure: () => {},
    });
    loop.reloadNow();
    loop.reloadNow();
    loop.reloadNow();
    await waitFor(() => calls >= 2);
    expect(most).toBe(1);
    await sleep(40);
    expect(loop.failing()).toBe(true);
    loop.stop();
    const after = calls;
    await sleep(120);
    expect(calls).toBe(after);
  });
});

describe('serve: certificate reloads', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-reload-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The fingerprint of the certificate a fresh TLS connection is served. */
  const served = (port: number, ca: string[]) =>
    new Promise<string>((resolve, reject) => {
      https
        .get({ host: 'localhost', port, path: '/healthz', ca, agent: false }, (res) => {
          resolve((res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
          res.resume();
        })
        .on('error', reject);
    });

  it('an emptied or mismatched pair keeps the old one served; a fix that the file watcher cannot see is picked up by the retry', async () => {
    const { ca, serving } = await testTls();
    const otherCa = await createCertificateAuthority('other', { days: 1 });
    const next = await createServingCertificate(otherCa, { dnsNames: ['localhost'] }, { days: 1 });
    const certFile = path.join(dir, 'tls.crt');
    const keyFile = path.join(dir, 'tls.key');
    writeFileSync(certFile, serving.cert);
    writeFileSync(keyFile, serving.key);
    const logger = recorder();
    const serving$ = await serve(
      {
        port: 0,
        host: '127.0.0.1',
        tlsCertFile: certFile,
        tlsKeyFile: keyFile,
        certDir: dir,
        watchIntervalMs: 25,
        reloadBackoff: { initialMs: 100, maxMs: 200 },
        detectVersion: async () => ({ error: 'no cluster (test)' }),
      },
      logger,
    );
    const port = serving$.webhook.port;
    const trust = [ca.cert, otherCa.cert];
    const metric = async (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await serving$.metrics.registry.metrics())?.[1]);
    const oldPrint = new X509Certificate(serving.cert).fingerprint256;
    try {
      // A writer that truncates, then writes: while the file is empty, the old pair is served.
      writeFileSync(certFile, '');
      await waitFor(async () => (await metric('probe_injector_certificate_reloads_total{result="failure"}')) >= 1);
      expect(await metric('probe_injector_reload_failing{kind="certificate"}')).toBe(1);
      expect(await served(port, trust)).toBe(oldPrint);
      expect(logger.lines.find((line) => line.message === 'serving certificate not reloaded: keeping the current one')?.fields).toMatchObject({
        problems: [expect.stringMatching(/tls\.crt: empty: no PEM certificate found/)],
        attempt: 1,
        retryInSeconds: 0.1,
      });

      // The new certificate, with the old key: a mismatch, refused.
      writeFileSync(certFile, next.cert);
      await waitFor(() => logger.lines.some((line) => /is not the private key of the certificate/.test(line.fields.problems?.[0] ?? '')));
      expect(await served(port, trust)).toBe(oldPrint);

      // The key arrives, written so that stat sees no change (same size, inode and mtime): only the retry can find it.
      const key = statSync(keyFile);
      writeFileSync(keyFile, next.key.padEnd(key.size, '\n').slice(0, Math.max(key.size, next.key.length)));
      if (statSync(keyFile).size !== key.size) throw new Error('test set-up: the keys differ in length');
      utimesSync(keyFile, key.atime, key.mtime);
      await waitFor(async () => (await metric('probe_injector_reload_failing{kind="certificate"}')) === 0);
      expect(await served(port, trust)).toBe(new X509Certificate(next.cert).fingerprint256);
      expect(await metric('probe_injector_serving_certificate_expiry_timestamp_seconds')).toBe(new Date(new X509Certificate(next.cert).validTo).getTime() / 1000);
    } finally {
      await serving$.stop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

describe('dist/cli.js serve: config reloads never crash', () => {
  let files: TestCertFiles;
  beforeAll(async () => {
    files = await testCertFiles('config-reload');
  });
  afterAll(() => files.remove());

  it('100 000-deep nesting (reloaded five times), and a file over 1 MiB: each refused, logged and counted; the last good config stays; the process serves on', async () => {
    const { dir, certArgs } = files;
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'errorPolicy: warn\n');
    const metricsPort = await freePort();
    const run = runCli([
      'serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', String(metricsPort), '--watch-interval-ms', '25',
      ...certArgs, '--config', config,
    ]);
    await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
    const failures = async () => Number(/^probe_injector_config_reloads_total\{result="failure"\} (\S+)$/m.exec(await scrape(metricsPort))?.[1]);
    try {
      for (let i = 1; i <= 5; i++) {
        // A different file each time (the watcher sees a change; the reader sees it whole).
        writeFileSync(config, `profiles: ${'['.repeat(100_000 + i)}${']'.repeat(100_000 + i)}\n`);
        await waitFor(async () => (await failures()) >= i, 15_000);
      }
      writeFileSync(config, `# ${'x'.repeat(1024 * 1024)}\nerrorPolicy: reject\n`);
      await waitFor(async () => (await failures()) >= 6, 15_000);
      // Log lines are written in batches (at least every second): wait for the last one.
      await run.waitFor((line) => /larger than 1048576 bytes/.test(line.problems?.[0] ?? ''));
      const errors = run.lines.filter((line) => line.msg === 'config not reloaded: keeping the last good one');
      // Six changes, each refused (a retry of a refused file after its backoff adds a line of the same kind).
      expect(errors.length).toBeGreaterThanOrEqual(6);
      expect(errors.filter((line) => /nest|deep/i.test(line.problems[0])).length).toBeGreaterThanOrEqual(5);
      expect(run.child.exitCode).toBeNull();
      expect(await scrape(metricsPort)).toMatch(/^probe_injector_reload_failing\{kind="config"\} 1$/m);

      writeFileSync(config, 'errorPolicy: reject\n');
      // (writeFileSync truncates first: the watcher may also see the empty file, a valid config too)
      await waitFor(async () => /^probe_injector_config_reloads_total\{result="success"\} [1-9]/m.test(await scrape(metricsPort)), 15_000);
      expect(await scrape(metricsPort)).toMatch(/^probe_injector_reload_failing\{kind="config"\} 0$/m);
      expect(run.lines.every((line) => JSON.stringify(line).length <= 4096)).toBe(true);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
