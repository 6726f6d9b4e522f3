import { afterEach, describe, expect, it } from '@jest/globals';
import https from 'node:https';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { makeInjectionConfig } from '../src/core/config.js';
import { createBodyBudget } from '../src/http/body-budget.js';
import type { Logger } from '../src/logger.js';
import { createMetrics, type LoadedMetrics } from '../src/metrics.js';
import { startWebhook, type Webhook } from '../src/webhook.js';
import { runCli } from './support/process.js';
import { basePod, reviewOf, testTls, testCertFiles } from './support/webhook.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the body budget (pure accounting)', () => {
  const limits = { totalBytes: 1000, largeBodyBytes: 100, reservedForSmallBytes: 300 };

  it('large bodies share what is not kept for small ones; small ones may use everything', () => {
    const budget = createBodyBudget(limits);
    const big = [budget.reserve(350), budget.reserve(350)];
    expect(big.every(Boolean)).toBe(true);
    expect(budget.reserve(101)).toBeUndefined(); // 700 + 101 > 1000 - 300
    const small = Array.from({ length: 3 }, () => budget.reserve(100));
    expect(small.every(Boolean)).toBe(true); // 1000 in all
    expect(budget.reserve(1)).toBeUndefined();
    expect(budget.used()).toBe(1000);
    small[0]!.release();
    small[0]!.release(); // a second release gives nothing back twice
    expect(budget.used()).toBe(900);
    for (const reservation of [...big, ...small]) reservation!.release();
    expect(budget.used()).toBe(0);
  });

  it('a chunked body grows its share until it becomes large, then the large-body bound applies', () => {
    const budget = createBodyBudget(limits);
    const hog = budget.reserve(600)!;
    const chunked = budget.reserve(0)!;
    expect(chunked.grow(100)).toBe(true); // small: 700 ≤ 1000
    expect(chunked.grow(50)).toBe(false); // now 150 bytes, large: 750 > 700
    expect(chunked.bytes).toBe(100);
    hog.release();
    expect(chunked.grow(50)).toBe(true);
    chunked.release();
    expect(chunked.grow(10)).toBe(false); // released for good
    expect(budget.used()).toBe(0);
  });

  it('refuses limits where the reserve exceeds the total', () => {
    expect(() => createBodyBudget({ totalBytes: 10, largeBodyBytes: 1, reservedForSmallBytes: 11 })).toThrow(/reservedForSmallBytes/);
  });
});

interface Recorder extends Logger {
  readonly lines: { fields: any; message?: string | undefined }[];
}
function recorder(): Recorder {
  const lines: Recorder['lines'] = [];
  const at = (fields: object, message?: string) => void lines.push({ fields, message });
  return { lines, info: at, warn: at, error: at };
}

/** Opens a POST /mutate, sends its headers and the first `sent` bytes of a `declared`-byte body, and waits. */
function slowUpload(port: number, ca: string, declared: number, sent: number) {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => {});
  const answered = new Promise<string>((resolve) => {
    socket.on('data', () => received.includes('\r\n\r\n') && resolve(received));
    socket.on('close', () => resolve(received));
  });
  socket.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
  socket.write(' '.repeat(sent));
  return { socket, answered, finish: () => socket.write(' '.repeat(declared - sent)) };
}

function post(port: number, ca: string, body: string): Promise<{ status: number; headers: Record<string, any>; json: any; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request({ host: 'localhost', port, path: '/mutate', method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text), ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(port: number, ca: string, path: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    https
      .get({ host: 'localhost', port, path, ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      })
      .on('error', reject);
  });
}

/** Posts the bodies round-robin, `concurrency` at a time, until told to stop; answers with the statuses. */
const LOAD_GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const https = require('node:https');
const { port, ca, bodies, concurrency } = workerData;
let stop = false;
const statuses = [];
parentPort.on('message', () => (stop = true));
const post = (body) => new Promise((resolve) => {
  const req = https.request({ host: 'localhost', port, path: '/mutate', method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', (error) => resolve(error.message));
  req.end(body);
});
const loop = async (i) => { while (!stop) statuses.push(await post(bodies[i++ % bodies.length])); };
Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i))).then(() => parentPort.postMessage(statuses));
`;

const metric = async (metrics: LoadedMetrics, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await metrics.registry.metrics())?.[1]);

describe('the body budget at the HTTPS edge', () => {
  let webhook: Webhook | undefined;
  afterEach(async () => {
    await webhook?.shutdown();
    webhook = undefined;
  });

  it('slow uploads of large bodies get 429 with Retry-After once they fill their share; small admissions are still served', async () => {
    const { ca, serving } = await testTls();
    const logger = recorder();
    const metrics = createMetrics();
    webhook = await startWebhook({
      port: 0,
      host: '127.0.0.1',
      tls: serving,
      config: () => makeInjectionConfig(),
      logger,
      metrics,
      bodyBudget: { totalBytes: 2 * MiB, largeBodyBytes: 64 * KiB, reservedForSmallBytes: 512 * KiB },
    });
    const { port } = webhook;
    // Three 600 KiB uploads that stall after 1 KiB: two fit into the 1.5 MiB large bodies may use.
    const uploads = [slowUpload(port, ca.cert, 600 * KiB, KiB), slowUpload(port, ca.cert, 600 * KiB, KiB)];
    await sleep(200);
    expect(await metric(metrics, 'probe_injector_request_body_buffered_bytes')).toBe(1200 * KiB);
    const third = slowUpload(port, ca.cert, 600 * KiB, KiB);
    const refused = await third.answered;
    expect(refused).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    expect(refused).toMatch(/\r\nRetry-After: 1\r\n/);
    expect(refused).toMatch(/\r\nConnection: keep-alive\r\n/); // its body is drained, not kept: the connection stays usable
    const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({ code: 429, error: expect.stringMatching(/^the webhook is busy: 1\.2 MiB of request bodies are being processed \(budget 2\.0 MiB\)/), details: [] });

    // An ordinary admission meanwhile: answered from the part kept for small bodies.
    const review = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }));
    const small = await post(port, ca.cert, JSON.stringify(review));
    expect(small.status).toBe(200);
    expect(small.json.response.uid).toBe(review.request.uid);

    // The stalled uploads finish: they are answered (their bodies are spaces: not JSON) and give their share back.
    for (const upload of uploads) upload.finish();
    const answers = await Promise.all(uploads.map((upload) => upload.answered));
    expect(answers.map((answer) => answer.slice(0, 24))).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request']);
    for (const upload of [...uploads, third]) upload.socket.destroy();
    await sleep(50);
    expect(await metric(metrics, 'probe_injector_request_body_buffered_bytes')).toBe(0);
    expect(await metric(metrics, 'probe_injector_admission_requests_total{endpoint="mutate",outcome="busy"}')).toBe(1);
    expect(logger.lines.filter((line) => line.fields.outcome === 'busy').map((line) => line.fields)).toEqual([
      expect.objectContaining({ endpoint: 'mutate', httpStatus: 429, error: expect.stringMatching(/^the webhook is busy/) }),
    ]);
  });

  it('a chunked body that outgrows the budget mid-stream gets 429; an abandoned upload gives its share back', async () => {
    const { ca, serving } = await testTls();
    const metrics = createMetrics();
    webhook = await startWebhook({
      port: 0,
      host: '127.0.0.1',
      tls: serving,
      config: () => makeInjectionConfig(),
      logger: recorder(),
      metrics,
      bodyBudget: { totalBytes: 256 * KiB, largeBodyBytes: 64 * KiB, reservedForSmallBytes: 64 * KiB },
    });
    const socket = tls.connect({ host: '127.0.0.1', port: webhook.port, servername: 'localhost', ca: ca.cert });
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = ' '.repeat(32 * KiB);
    for (let i = 0; i < 8 && !received; i++) {
      socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      await sleep(30);
    }
    expect(received).toMatch(/^HTTP\/1\.1 429 /);
    socket.destroy();

    const abandoned = slowUpload(webhook.port, ca.cert, 100 * KiB, KiB);
    await sleep(100);
    expect(await metric(metrics, 'probe_injector_request_body_buffered_bytes')).toBe(100 * KiB);
    abandoned.socket.destroy();
    await sleep(100);
    expect(await metric(metrics, 'probe_injector_request_body_buffered_bytes')).toBe(0);
  });

  it('/healthz and /readyz answer within a second while the heaviest legal requests are being served (measured, generous bound)', async () => {
    // The server in its own process (as deployed), the load from another thread: what is measured is the server's event loop.
    const files = await testCertFiles('budget');
    const { ca } = files;
    const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', ...files.certArgs]);
    const { port } = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
    await run.waitFor((line) => line.kubernetesVersion !== undefined);
    // Bodies at the 6 MiB limit: an opted-in pod with large environment values (parsed, validated, patched),
    // and kube-apiserver's largest request (3 MiB) as thousands of containers.
    const heavy = basePod({ 'probe-injector.io/inject': 'true' });
    heavy.spec.containers[0].env = [{ name: 'BIG', value: '' }];
    const room = 6 * MiB - JSON.stringify(reviewOf(heavy)).length - 16;
    heavy.spec.containers[0].env = Array.from({ length: 6 }, (_, i) => ({ name: `V${i}`, value: 'x'.repeat(Math.floor(room / 6) - 30) }));
    const wide = basePod({ 'probe-injector.io/inject': 'true' });
    const template = wide.spec.containers[0];
    wide.spec.containers = Array.from({ length: Math.floor((3 * MiB) / (JSON.stringify(template).length + 8)) }, (_, i) => ({ ...template, name: `c${i}` }));
    const bodies = [JSON.stringify(reviewOf(heavy)), JSON.stringify(reviewOf(wide))];
    expect(bodies.map((body) => body.length <= 6 * MiB)).toEqual([true, true]);

    // The load comes from another thread (the other core), so that what is measured here is the
    // server's event loop, not the client's work of encrypting 6 MiB bodies.
    const loader = new Worker(LOAD_GENERATOR, { eval: true, workerData: { port, ca: ca, bodies, concurrency: 8 } });
    const served = new Promise<(number | string)[]>((resolve) => loader.once('message', resolve));
    await sleep(500);
    const health: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (const probe of ['/healthz', '/readyz']) {
        const answer = await get(port, ca, probe);
        expect(answer.status).toBe(200);
        health.push(answer.ms);
      }
      await sleep(50);
    }
    loader.postMessage('stop');
    const statuses = await served;
    await loader.terminate();
    expect(statuses.length).toBeGreaterThan(8);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    const worst = Math.max(...health);
    const busy = statuses.filter((status) => status === 429).length;
    process.stdout.write(`health under load: p50 ${health.sort((a, b) => a - b)[health.length >> 1]!.toFixed(1)} ms, max ${worst.toFixed(1)} ms; ${statuses.length} heavy requests (${busy} × 429)\n`);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    files.remove();
    expect(worst).toBeLessThan(1000);
  }, 60_000);
});
