import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { sizeOf } from '../bench/fixtures.js';
import { healthz, HOST, makeCertificates, manifestMemoryLimitMiB, memory, sleep, startServer, type Certificates, type RunningServer } from '../bench/lib.js';
import { AMPLIFICATIONS, MiB, SHAPES, shapeNamed } from '../bench/shapes.js';

/**
 * Memory under a cgroup-like limit (issue 11): the real `dist/cli.js serve`, started with V8's heap
 * capped at three quarters of the Deployment's memory limit (read from
 * manifests/base/deployment.yaml) and its stdout a pipe nobody reads (a stalled log shipper), gets
 * what made it run out of memory before the bounds: the response-amplification pods, every
 * adversarial shape at kube-apiserver's 3 MiB limit four at a time, 60 slow uploads of 6 MiB
 * bodies with 20 chunked ones, and 300 pods with a 1 MiB generateName. Afterwards the process must
 * be alive and answering (/healthz, a normal admission patched), and its peak RSS (VmHWM, what a
 * cgroup's OOM killer compares with the limit) below the limit. The peaks are printed, so the
 * Deployment's limit is set from a measurement. No timing is asserted: deadlines are only there so
 * that a hang fails instead of blocking.
 */
const LIMIT_MIB = manifestMemoryLimitMiB();
const HEAP_MIB = Math.floor(LIMIT_MIB * 0.75);
const MUTATE = '/mutate?timeout=10s';

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** One POST on a new connection; a request the server answered early (and closed) still resolves with its status. */
function post(port: number, ca: string, body: Buffer | string, options: { chunkBytes?: number; everyMs?: number; chunked?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (!options.chunked) headers['Content-Length'] = payload.length;
    let answered = false;
    const req = https.request({ host: HOST, port, path: MUTATE, method: 'POST', ca, servername: 'localhost', agent: false, headers, timeout: 60_000 }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (!options.chunkBytes) {
      req.end(payload);
      return;
    }
    const { chunkBytes, everyMs = 100 } = options;
    void (async () => {
      for (let at = 0; at < payload.length && !answered && !req.destroyed; at += chunkBytes) {
        req.write(payload.subarray(at, at + chunkBytes));
        await sleep(everyMs);
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

const responseOf = (answer: Answer) => (JSON.parse(answer.text) as { response: { allowed: boolean; patch?: string; status?: { message: string } } }).response;

describe(`serve under a ${LIMIT_MIB} MiB memory limit (manifests/base/deployment.yaml; V8 heap capped at ${HEAP_MIB} MiB)`, () => {
  let dir: string;
  let certs: Certificates;
  let server: RunningServer;
  const peaks: [string, number][] = [];
  const peak = (step: string) => peaks.push([step, memory(server.pid).peakRssMiB]);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-memory-'));
    certs = await makeCertificates(dir);
    server = await startServer('webhook', certs, { extraNodeArgs: [`--max-old-space-size=${HEAP_MIB}`], stalledStdout: true, timeoutMs: 30_000 });
    peak('started');
  }, 60_000);

  afterAll(async () => {
    if (server?.alive()) peak('end');
    console.log(`peak RSS (VmHWM) of serve under a ${LIMIT_MIB} MiB limit, --max-old-space-size=${HEAP_MIB}, after each step:\n${peaks.map(([step, mib]) => `  ${step}: ${mib.toFixed(1)} MiB`).join('\n')}`);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("refuses issue 11's response-amplification pods, four at a time, before copying anything", async () => {
    for (const shape of AMPLIFICATIONS) {
      const body = Buffer.from(shape.build());
      const answers = await Promise.all(Array.from({ length: 4 }, () => post(server.port, certs.ca, body)));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(responseOf(answer)).toMatchObject({ allowed: false, status: { message: expect.stringMatching(/annotations take more than|more than 64 items|bound of an answer/) } });
        expect(answer.text.length).toBeLessThan(64 * 1024);
      }
    }
    peak('amplification');
  }, 120_000);

  it('answers every adversarial shape at 3 MiB, four at a time', async () => {
    for (const shape of SHAPES) {
      const body = Buffer.from(shape.build());
      expect(body.length).toBeLessThanOrEqual(3 * MiB);
      const answers = await Promise.all(Array.from({ length: 4 }, () => post(server.port, certs.ca, body)));
      for (const answer of answers) {
        expect([shape.name, answer.status]).toEqual([shape.name, 200]);
        expect(answer.text.length).toBeLessThan(512 * 1024);
      }
    }
    peak('3 MiB shapes');
  }, 300_000);

  it('takes 60 slow uploads of 6 MiB bodies and 20 chunked ones within its body budget (429 beyond), and small admissions still pass', async () => {
    const big = Buffer.from(shapeNamed('env vars (benign)').build(6 * MiB - 4096));
    const small = sizeOf('8 KB').body;
    const uploads = [
      ...Array.from({ length: 60 }, () => post(server.port, certs.ca, big, { chunkBytes: 256 * 1024, everyMs: 100 })),
      ...Array.from({ length: 20 }, () => post(server.port, certs.ca, big, { chunkBytes: 256 * 1024, everyMs: 100, chunked: true })),
    ].map((upload) => upload.catch((error: Error) => ({ status: 0, text: error.message })));
    const smallStatuses: number[] = [];
    let uploading = true;
    const all = Promise.all(uploads).finally(() => (uploading = false));
    while (uploading) {
      smallStatuses.push((await post(server.port, certs.ca, small)).status);
      await sleep(50);
    }
    const statuses = (await all).map((answer) => answer.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429 || s === 0)).toBe(true);
    expect(smallStatuses.length).toBeGreaterThan(0);
    expect(smallStatuses.every((s) => s === 200)).toBe(true);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    peak(`slow uploads (${count(200)} answered, ${count(429)} refused with 429, ${count(0)} reset; ${smallStatuses.length} small admissions meanwhile)`);
  }, 300_000);

  it('admits 300 pods with a 1 MiB generateName, ten at a time, while nobody reads its stdout', async () => {
    const body = Buffer.from(shapeNamed('1 MiB generateName').build(MiB + 64 * 1024));
    let patched = 0;
    for (let batch = 0; batch < 30; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => post(server.port, certs.ca, body)));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        if (responseOf(answer).patch) patched++;
      }
    }
    expect(patched).toBe(300);
    peak('1 MiB generateName');
  }, 300_000);

  it(`is alive and answering afterwards, and its peak RSS stayed under ${LIMIT_MIB} MiB`, async () => {
    expect(server.alive()).toBe(true);
    expect((await healthz(server.port, certs.ca, '/healthz', 10_000)).status).toBe(200);
    const answer = await post(server.port, certs.ca, sizeOf('8 KB').body);
    expect(answer.status).toBe(200);
    expect(responseOf(answer).patch).toBeDefined();
    expect(memory(server.pid).peakRssMiB).toBeLessThan(LIMIT_MIB);
  }, 60_000);
});
