import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { serve, type Serving } from '../src/commands/serve.js';
import type { Logger } from '../src/logger.js';
import { createCertificateAuthority, createServingCertificate, type KeyPair } from '../src/tls/certificates.js';
import { basePod, reviewOf, testTls } from './support/webhook.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** No API server here: the version check answers at once that it cannot tell. */
const noCluster = async () => ({ error: 'no Kubernetes configuration (test)' });

function recorder(): Logger & { lines: { level: string; fields: any; message?: string | undefined }[] } {
  const lines: { level: string; fields: any; message?: string | undefined }[] = [];
  const at = (level: string) => (fields: object, message?: string) => void lines.push({ level, fields, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** POSTs a review; resolves with the status, the parsed body and the certificate the server presented. */
function post(port: number, agent: https.Agent, body: object): Promise<{ status: number; json: any; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, path: '/mutate', method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), fingerprint }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function get(port: number, ca: string | string[], pathName: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: 'localhost', port, path: pathName, ca, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

/** A Secret volume as kubelet writes it: files are symlinks through `..data`, swapped atomically. */
function secretVolume(dir: string) {
  let generation = 0;
  const write = (pair: KeyPair) => {
    const version = path.join(dir, `..${++generation}`);
    mkdirSync(version);
    writeFileSync(path.join(version, 'tls.crt'), pair.cert);
    writeFileSync(path.join(version, 'tls.key'), pair.key);
    symlinkSync(path.basename(version), path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  };
  return {
    write,
    init(pair: KeyPair) {
      write(pair);
      symlinkSync('..data/tls.crt', path.join(dir, 'tls.crt'));
      symlinkSync('..data/tls.key', path.join(dir, 'tls.key'));
    },
  };
}

describe('probe-injector serve: rotation, config reload, metrics', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-serve-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rotates to a certificate from another CA under load: every request succeeds, new connections see the new certificate', async () => {
    const { ca: oldCa, serving: oldPair } = await testTls();
    const newCa = await createCertificateAuthority('rotated CA', { days: 2 });
    const newPair = await createServingCertificate(newCa, { dnsNames: ['localhost'] }, { days: 2 });
    const volume = path.join(dir, 'tls');
    mkdirSync(volume);
    const secret = secretVolume(volume);
    secret.init(oldPair);
    const logger = recorder();
    const serving = await serve(
      { port: 0, host: '127.0.0.1', tlsCertFile: path.join(volume, 'tls.crt'), tlsKeyFile: path.join(volume, 'tls.key'), certDir: dir, watchIntervalMs: 25, detectVersion: noCluster },
      logger,
    );
    const port = serving.webhook.port;
    const trustBoth = [oldCa.cert, newCa.cert];
    const keepAlive = new https.Agent({ ca: trustBoth, keepAlive: true, maxSockets: 4 });
    // No TLS session cache: every new connection does a full handshake and shows its certificate.
    const fresh = new https.Agent({ ca: trustBoth, keepAlive: false, maxCachedSessions: 0 });
    const review = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }));
    const oldPrint = new X509Certificate(oldPair.cert).fingerprint256;
    const newPrint = new X509Certificate(newPair.cert).fingerprint256;
    try {
      let stop = false;
      const results: { status: number; fingerprint: string }[] = [];
      const loop = async (agent: https.Agent) => {
        while (!stop) results.push(await post(port, agent, review));
      };
      const loops = [loop(keepAlive), loop(keepAlive), loop(fresh), loop(fresh)];
      await sleep(150);
      secret.write(newPair);
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (await post(port, fresh, review)).fingerprint !== newPrint) await sleep(20);
      await sleep(150);
      stop = true;
      await Promise.all(loops);

      expect(results.length).toBeGreaterThan(20);
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(new Set(results.map((r) => r.fingerprint))).toEqual(new Set([oldPrint, newPrint]));
      expect((await post(port, fresh, review)).fingerprint).toBe(newPrint);
      expect(logger.lines.some((l) => l.message === 'serving certificate reloaded')).toBe(true);
      const metrics = await serving.metrics.registry.metrics();
      const expiry = Number(/^probe_injector_serving_certificate_expiry_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      expect(expiry).toBe(new Date(new X509Certificate(newPair.cert).validTo).getTime() / 1000);
    } finally {
      keepAlive.destroy();
      fresh.destroy();
      await serving.stop();
    }
  });

  describe('config file', () => {
    let serving: Serving;
    let file: string;
    let ca: string;
    const logger = recorder();
    const answer = async (annotations: Record<string, string>) => {
      const agent = new https.Agent({ ca, keepAlive: false });
      const result = await post(serving.webhook.port, agent, reviewOf(basePod({ 'probe-injector.io/inject': 'true', ...annotations })));
      return { ...result.json.response, ops: result.json.response.patch ? JSON.parse(Buffer.from(result.json.response.patch, 'base64').toString()) : [] };
    };
    const waitFor = async (condition: () => Promise<boolean>) => {
      const deadline = Date.now() + 5000;
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await sleep(25);
      }
    };

    beforeAll(async () => {
      const tls = await testTls();
      ca = tls.ca.cert;
      writeFileSync(path.join(dir, 'c.crt'), tls.serving.cert);
      writeFileSync(path.join(dir, 'c.key'), tls.serving.key);
      file = path.join(dir, 'config.yaml');
      writeFileSync(
        file,
        `# team presets\nprofiles:\n  quarkus:\n    type: http\n    readiness: { path: /q/health/ready, periodSeconds: 7 }\n    liveness: { path: /q/health/live }\n    startup: { enabled: false }\n`,
      );
      serving = await serve(
        { port: 0, host: '127.0.0.1', tlsCertFile: path.join(dir, 'c.crt'), tlsKeyFile: path.join(dir, 'c.key'), certDir: dir, config: file, watchIntervalMs: 25, detectVersion: noCluster },
        logger,
      );
    });
    afterAll(() => serving.stop());

    it('a profile from the file applies', async () => {
      const { ops } = await answer({ 'probe-injector.io/profile': 'quarkus' });
      expect(ops.map((op: any) => op.path)).toEqual(['/spec/containers/0/readinessProbe', '/spec/containers/0/livenessProbe', '/metadata/annotations/probe-injector.io~1status']);
      expect(ops[0].value).toEqual({ httpGet: { path: '/q/health/ready', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 0, periodSeconds: 7, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 });
    });

    it('a changed file applies without a restart', async () => {
      writeFileSync(file, 'errorPolicy: warn\nprofiles:\n  quarkus:\n    type: tcp\n');
      await waitFor(async () => (await answer({ 'probe-injector.io/profile': 'quarkus' })).ops[0]?.value.tcpSocket !== undefined);
      const warned = await answer({ 'probe-injector.io/type': 'udp' });
      expect(warned.allowed).toBe(true);
      expect(warned.warnings).toHaveLength(1);
    });

    it('an invalid file is ignored (the last good one stays), logged and counted', async () => {
      writeFileSync(file, 'errorPolicy: sometimes\nprofiles:\n  quarkus:\n    type: udp\n    liveness: { successThreshold: 2 }\n');
      await waitFor(async () => (await serving.metrics.registry.metrics()).includes('probe_injector_config_reloads_total{result="failure"} 1'));
      const error = logger.lines.find((l) => l.message === 'config not reloaded: keeping the last good one');
      expect(error?.fields.problems).toEqual([
        expect.stringMatching(/^errorPolicy: .*reject/),
        expect.stringMatching(/^profiles\.quarkus\.type: .*http, tcp, grpc, exec/),
        expect.stringMatching(/^profiles\.quarkus\.liveness\.successThreshold: must be 1/),
      ]);
      expect((await answer({ 'probe-injector.io/profile': 'quarkus' })).ops[0].value.tcpSocket).toBeDefined();
      writeFileSync(file, 'key: [unclosed\n');
      await waitFor(async () => (await serving.metrics.registry.metrics()).includes('probe_injector_config_reloads_total{result="failure"} 2'));
      expect(logger.lines.filter((l) => l.message === 'config not reloaded: keeping the last good one').at(-1)?.fields.problems).toEqual([expect.stringMatching(/^not valid YAML at line \d+, column \d+: /)]);
    });

    it('GET /metrics: counters move with requests', async () => {
      const before = await get(serving.webhook.port, ca, '/metrics');
      const count = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
      await answer({});
      await answer({ 'probe-injector.io/inject': 'false' });
      const after = await get(serving.webhook.port, ca, '/metrics');
      expect(after.status).toBe(200);
      expect(count(after.text, 'probe_injector_admission_requests_total{endpoint="mutate",outcome="patched"}') - count(before.text, 'probe_injector_admission_requests_total{endpoint="mutate",outcome="patched"}')).toBe(1);
      expect(count(after.text, 'probe_injector_admission_requests_total{endpoint="mutate",outcome="skipped"}') - count(before.text, 'probe_injector_admission_requests_total{endpoint="mutate",outcome="skipped"}')).toBe(1);
      expect(count(after.text, 'probe_injector_injections_total{kind="readinessProbe"}') - count(before.text, 'probe_injector_injections_total{kind="readinessProbe"}')).toBe(1);
      expect(count(after.text, 'probe_injector_admission_duration_seconds_count{endpoint="mutate",outcome="patched"}')).toBeGreaterThanOrEqual(1);
      expect(count(after.text, 'probe_injector_admission_requests_in_flight')).toBe(0);
      expect(after.text).toMatch(/^process_resident_memory_bytes \d+/m);
      expect(after.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    });
  });
});
