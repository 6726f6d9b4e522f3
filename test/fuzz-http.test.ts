import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import https from 'node:https';
import tls from 'node:tls';
import { makeInjectionConfig } from '../src/core/config.js';
import { createMetrics, type LoadedMetrics } from '../src/metrics.js';
import { startWebhook, type Webhook } from '../src/webhook.js';
import { basePod, clone, reviewOf, startTestWebhook, testTls, type HttpResult, type TestWebhook } from './support/webhook.js';

/**
 * Fuzzing at the HTTP edge, through the real HTTPS server: random and mutated AdmissionReviews and
 * hostile transport. Every answer must be a 4xx JSON error or a valid AdmissionReview that echoes
 * the uid — never a 5xx, a hang (each request has a deadline) or a crash — and no input may
 * pollute a prototype. FC_SEED=<n> replays a run; FC_RUNS=<n> scales the number of runs.
 */
const RUNS = Number(process.env['FC_RUNS'] ?? 1500);
const seed = process.env['FC_SEED'] === undefined ? {} : { seed: Number(process.env['FC_SEED']) };
const params = (numRuns: number) => ({ numRuns, ...seed });
const DEADLINE_MS = 10_000;
const JSON_TYPE = { 'Content-Type': 'application/json' };
const P = 'probe-injector.io/';

const OBJECT_PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const ARRAY_PROTO_KEYS = Object.getOwnPropertyNames(Array.prototype).sort();

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS} ms (a hang): ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An opted-in pod that gets a patch: spring-boot probes, the Nacos hook, a gate. */
function richReview(): Record<string, any> {
  const pod = basePod({
    [`${P}inject`]: 'true',
    [`${P}profile`]: 'spring-boot',
    [`${P}nacos-deregister`]: 'true',
    [`${P}readiness-gates`]: 'nacos.io/registered',
    [`${P}nacos-service`]: 'orders',
  });
  pod.spec.containers.push({ name: 'sidecar', image: 'busybox', ports: [{ name: 'metrics', containerPort: 2020 }] });
  return reviewOf(pod);
}

/**
 * The contract for any answer. `sent` is the parsed body (when it was JSON): a 200 must echo its
 * uid, and a patch must apply strictly to its object.
 */
function expectValidAnswer(result: HttpResult, sent: unknown): void {
  const context = `HTTP ${result.status}: ${result.text.slice(0, 300)}`;
  expect([result.status, context]).toEqual([expect.any(Number), context]);
  if (result.status >= 500 || result.status < 200 || (result.status > 200 && result.status < 400)) {
    throw new Error(`unexpected status: ${context}`);
  }
  expect(result.headers['content-type']).toMatch(/^application\/json/);
  expect(result.text).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack trace
  if (result.status !== 200) {
    expect(typeof result.json?.error).toBe('string');
    return;
  }
  const body = result.json;
  expect(body.apiVersion).toBe('admission.k8s.io/v1');
  expect(body.kind).toBe('AdmissionReview');
  const request = (sent as any)?.request;
  expect(typeof request?.uid).toBe('string');
  expect(body.response.uid).toBe(request.uid);
  expect(typeof body.response.allowed).toBe('boolean');
  for (const warning of body.response.warnings ?? []) expect(warning).not.toMatch(/[\r\n]/);
  if (body.response.allowed === false) {
    expect(typeof body.response.status?.message).toBe('string');
    expect(body.response.patch).toBeUndefined();
  }
  if (body.response.patch !== undefined) {
    expect(body.response.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'));
    expect(Array.isArray(ops) && ops.length > 0).toBe(true);
    expect(() => jsonpatch.applyPatch(clone(request.object), ops, true)).not.toThrow();
  }
}

function expectNoPollution(): void {
  expect(({} as any).polluted).toBeUndefined();
  expect(([] as any).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTO_KEYS);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(ARRAY_PROTO_KEYS);
}

/** Every path (as key lists) to a value inside `value`, objects and arrays included. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      pathsOf(child, path, out);
    }
  }
  return out;
}

/** Sets (as an own data property, so `__proto__` stays a plain key) or deletes the value at `path`. */
function edit(root: any, path: (string | number)[], change: { value: unknown } | 'delete'): any {
  const copy = clone(root);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1] as string | number;
  if (change === 'delete') {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    Object.defineProperty(node, last, { value: change.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

const WRONG_TYPES: unknown[] = [null, 0, -1, 1.5, 1e308, -0, true, false, '', 'x', 'true', 'CREATE', 'pods', [], {}, [null], [{}], { '': null }, 'A'.repeat(2000), 2 ** 53 + 1];

const wrongValue = fc.oneof(
  { arbitrary: fc.constantFrom(...WRONG_TYPES), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
);

describe('fuzz: the HTTP edge', () => {
  let hook: TestWebhook;
  const base = richReview();
  const basePaths = pathsOf(base);

  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(async () => {
    await hook.close();
  });

  const post = (body: string | Buffer, headers: Record<string, string> = JSON_TYPE, path?: string) =>
    deadline(hook.post(body, headers, path), typeof body === 'string' ? body.slice(0, 120) : `${body.length} bytes`);

  it('the unmodified review is patched (the mutations below start from a real, patched request)', async () => {
    const result = await post(JSON.stringify(base));
    expectValidAnswer(result, base);
    expect(result.json.response.patch).toBeDefined();
  });

  it('mutated AdmissionReviews (wrong types anywhere, deleted fields, __proto__/constructor keys): a 4xx JSON error or a valid review', async () => {
    const mutation = fc.oneof(
      fc.record({ path: fc.constantFrom(...basePaths), change: wrongValue.map((value) => ({ value })) }),
      fc.record({ path: fc.constantFrom(...basePaths), change: fc.constant<'delete'>('delete') }),
      fc.record({
        path: fc
          .tuple(fc.constantFrom<(string | number)[]>([], ...basePaths.filter((p) => typeof p[p.length - 1] === 'string')), fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toJSON'))
          .map(([parent, key]) => [...parent, key]),
        change: fc.constantFrom({ value: { polluted: 'yes' } }, { value: { prototype: { polluted: 'yes' } } }, { value: 'polluted' }, { value: null }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let review = base;
        for (const { path, change } of mutations) {
          try {
            review = edit(review, path, change);
          } catch {
            // the path no longer exists after an earlier mutation
          }
        }
        const result = await post(JSON.stringify(review));
        expectValidAnswer(result, review);
        expectNoPollution();
      }),
      params(Math.round(RUNS / 3)),
    );
  });

  it('null everywhere: each value of the review replaced by null, one at a time, and all at once', async () => {
    for (const path of basePaths) {
      const review = edit(base, path, { value: null });
      expectValidAnswer(await post(JSON.stringify(review)), review);
    }
    const nulls = { apiVersion: null, kind: null, request: null };
    expectValidAnswer(await post(JSON.stringify(nulls)), nulls);
    expectNoPollution();
  });

  it('random JSON documents and random bytes: 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b))), async (body) => {
        const result = await post(body);
        expect(result.status).toBe(400);
        expectValidAnswer(result, undefined);
      }),
      params(Math.round(RUNS / 10)),
    );
  });

  it('truncated JSON: 400', async () => {
    const text = JSON.stringify(base);
    const cuts = new Set([0, 1, 2, text.length - 1, ...Array.from({ length: 60 }, (_, i) => Math.floor(((i + 1) * text.length) / 62))]);
    for (const cut of cuts) {
      const result = await post(text.slice(0, cut));
      expect([cut, result.status]).toEqual([cut, 400]);
      expectValidAnswer(result, undefined);
    }
  });

  it('100 000-deep nesting, at the top, inside request.object and inside an annotation: no crash, a valid answer', async () => {
    const depth = 100_000;
    const deepArray = '['.repeat(depth) + ']'.repeat(depth);
    const deepObject = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    for (const body of [deepArray, deepObject, `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":${deepObject}}`]) {
      const result = await post(body);
      expect(result.status).toBe(400);
      expectValidAnswer(result, undefined);
    }
    // Deep junk where the webhook never looks (a container's env): the review is still served.
    const text = JSON.stringify(base);
    for (const junk of [deepArray, deepObject]) {
      const body = text.replace('"image":"busybox"', `"image":"busybox","env":${junk}`);
      const result = await post(body);
      expect(result.status).toBeLessThan(500);
      if (result.status === 200) expect(result.json.response.uid).toBe(base['request'].uid);
      else expectValidAnswer(result, undefined);
    }
    // As an annotation value that the core parses as JSON ({probe}-probe, {probe}-command).
    for (const key of ['readiness-probe', 'liveness-command']) {
      const review = clone(base);
      review['request'].object.metadata.annotations[P + key] = deepArray;
      const result = await post(JSON.stringify(review));
      expectValidAnswer(result, review);
      expect(result.json.response.allowed).toBe(false);
    }
    expectNoPollution();
  });

  it('__proto__ and constructor as annotation keys, label keys and container names: served, nothing polluted', async () => {
    const review = clone(base);
    const object = review['request'].object;
    const own = (target: any, key: string, value: unknown) => Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
    own(object.metadata.annotations, '__proto__', 'x');
    own(object.metadata.annotations, 'constructor', 'y');
    own(object.metadata.labels, '__proto__', 'z');
    object.spec.containers.push({ name: '__proto__', image: 'busybox', ports: [{ containerPort: 8080 }] }, { name: 'constructor', image: 'busybox', ports: [{ containerPort: 8081 }] });
    object.metadata.annotations[`${P}containers`] = 'app,__proto__,constructor';
    const first = await post(JSON.stringify(review));
    expectValidAnswer(first, review);
    expect(first.json.response.patch).toBeDefined();
    // And back again, as kube-apiserver reinvokes: the status annotation names `__proto__`.
    const ops = JSON.parse(Buffer.from(first.json.response.patch, 'base64').toString('utf8'));
    const again = clone(review);
    again['request'].object = jsonpatch.applyPatch(clone(object), ops, true).newDocument;
    const second = await post(JSON.stringify(again));
    expectValidAnswer(second, again);
    expect(second.json.response.patch).toBeUndefined();
    expectNoPollution();
  });

  it('invalid UTF-8 anywhere: 400', async () => {
    const text = JSON.stringify(base);
    const bad = [[0xff], [0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];
    const anchors = ['"uid":"', '"probe-injector.io/inject":"', '"annotations":{"', '"name":"', text.slice(-3)];
    for (const bytes of bad) {
      for (const anchor of anchors) {
        const at = text.indexOf(anchor) + anchor.length;
        const body = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
        const result = await post(body);
        expect(result.status).toBe(400);
        expectValidAnswer(result, undefined);
      }
    }
  });

  it('wrong content types: 415; application/json in any case and with parameters: served', async () => {
    const body = JSON.stringify(base);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/jsonx', 'json', '', 'application/yaml']) {
      const result = await post(body, type === '' ? {} : { 'Content-Type': type });
      expect([type, result.status]).toEqual([type, 415]);
      expectValidAnswer(result, undefined);
    }
    for (const type of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']) {
      const result = await post(body, { 'Content-Type': type });
      expect([type, result.status]).toEqual([type, 200]);
      expectValidAnswer(result, base);
    }
  });

  it('AdmissionReview v1beta1 (and other versions): 400 that says only v1 is served', async () => {
    for (const apiVersion of ['admission.k8s.io/v1beta1', 'admission.k8s.io/v2', 'v1', '']) {
      const review = { ...clone(base), apiVersion };
      const result = await post(JSON.stringify(review));
      expect(result.status).toBe(400);
      expectValidAnswer(result, undefined);
    }
  });

  it('random methods and paths (the express side): a JSON 4xx or 200, never a 5xx', async () => {
    const pathArb = fc.oneof(
      fc.constantFrom('/', '/mutate', '/mutate/', '/mutate?', '/mutate?timeout=1s&x', '/Mutate', '/mutate%00', '/%', '/%zz', '/%E0%A4%A', '//', '/..', '/healthz/', '/readyz?x=1', '/metrics/x', `/${'a'.repeat(4000)}`),
      fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), pathArb, async (method, path) => {
        // A body always with its Content-Length: Node's client sends DELETE/OPTIONS bodies without
        // one, which is malformed HTTP (Node itself then answers a bare 400).
        const body = method === 'GET' ? undefined : '{}';
        const headers = body === undefined ? JSON_TYPE : { ...JSON_TYPE, 'Content-Length': String(body.length) };
        const result = await deadline(hook.request(method, path, body, headers), `${method} ${path}`);
        expect([method, path, result.status < 500]).toEqual([method, path, true]);
        if (!(method === 'POST' && /^\/mutate(\?|$)/.test(path))) {
          expect(result.status === 200 || (result.status >= 400 && result.status < 500)).toBe(true);
          if (path !== '/metrics') expect(result.headers['content-type']).toMatch(/^application\/json/);
        }
      }),
      params(Math.round(RUNS / 10)),
    );
  });

  it('20 MB bodies (with Content-Length, chunked, and a 20 MB valid review): 413, and the server keeps serving', async () => {
    const big = clone(base);
    big['request'].object.spec.containers[0].env = [{ name: 'BIG', value: 'x'.repeat(20 * 1024 * 1024) }];
    const bodies: [string, Buffer, boolean][] = [
      ['20 MB of spaces, Content-Length', Buffer.alloc(20 * 1024 * 1024, 0x20), false],
      ['20 MB of spaces, chunked', Buffer.alloc(20 * 1024 * 1024, 0x20), true],
      ['a 20 MB AdmissionReview, Content-Length', Buffer.from(JSON.stringify(big)), false],
    ];
    for (const [name, body, chunked] of bodies) {
      const status = await deadline(stream(hook.webhook.port, hook.ca, body, chunked), name);
      expect([name, status]).toEqual([name, 413]);
    }
    expectValidAnswer(await post(JSON.stringify(base)), base);
  });

  it('after all of it: still serving, nothing polluted', async () => {
    const result = await post(JSON.stringify(base));
    expectValidAnswer(result, base);
    expect(result.json.response.patch).toBeDefined();
    expectNoPollution();
  });
});

/**
 * Streams a large body on a fresh connection and resolves with the status as soon as the answer
 * arrives (the server may answer, and close, before the body is sent; the rest is then dropped).
 */
function stream(port: number, ca: string, body: Buffer, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (chunked) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = body.length;
    const req = https.request({ host: 'localhost', port, ca, method: 'POST', path: '/mutate', headers, agent: false }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        try {
          expect(JSON.parse(text).error).toMatch(/larger than/);
          resolve(res.statusCode ?? 0);
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error) => {
      if (!answered) reject(new Error(`connection failed before any answer: ${error.message}`));
    });
    let offset = 0;
    const write = () => {
      while (!answered && offset < body.length) {
        const chunk = body.subarray(offset, offset + 256 * 1024);
        offset += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/**
 * The transport under a small body budget: concurrent requests with random declared and actual
 * sizes, chunked or not, cut off or slow. Each gets an answer (200, 400, 413, 415 or 429, all
 * JSON) or, when the client itself broke the framing or left, nothing; none hangs; and once they
 * are done, every reserved byte is back in the budget.
 */
describe('fuzz: framing, sizes and the body budget', () => {
  let webhook: Webhook;
  let metrics: LoadedMetrics;
  let ca: string;
  beforeAll(async () => {
    const tls = await testTls();
    ca = tls.ca.cert;
    metrics = createMetrics();
    webhook = await startWebhook({
      port: 0,
      host: '127.0.0.1',
      tls: tls.serving,
      config: () => makeInjectionConfig(),
      logger: { info: () => {}, warn: () => {}, error: () => {} },
      metrics,
      bodyLimit: 256 * 1024,
      bodyBudget: { totalBytes: 512 * 1024, largeBodyBytes: 32 * 1024, reservedForSmallBytes: 128 * 1024 },
      timeouts: { requestMs: 3000, headersMs: 2000 },
    });
  });
  afterAll(() => webhook.shutdown());

  const valid = JSON.stringify(reviewOf(basePod({ [`${P}inject`]: 'true' })));
  const shape = fc.record({
    body: fc.oneof(fc.constant(valid), fc.nat({ max: 400 * 1024 }).map((n) => ' '.repeat(n)), fc.string({ maxLength: 200 })),
    framing: fc.constantFrom('length', 'chunked', 'short', 'long'),
    contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain'),
    cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 4 }),
    pauseMs: fc.constantFrom(0, 0, 0, 20),
  });

  /** One request on a raw TLS connection; resolves with the status line's code, or 0 when the connection ended without an answer. */
  const send = (request: { body: string; framing: string; contentType: string; cut: number | null; pauseMs: number }) =>
    new Promise<{ status: number; json: unknown }>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port: webhook.port, servername: 'localhost', ca });
      let received = '';
      const timer = setTimeout(() => finish(-1), DEADLINE_MS);
      const finish = (status: number) => {
        clearTimeout(timer);
        socket.destroy();
        const text = received.slice(received.indexOf('\r\n\r\n') + 4);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status, json });
      };
      socket.on('data', (chunk) => {
        received += chunk;
        const head = /^HTTP\/1\.1 (\d{3}) /.exec(received);
        const length = /\r\ncontent-length: (\d+)\r\n/i.exec(received);
        if (head && length && received.length >= received.indexOf('\r\n\r\n') + 4 + Number(length[1])) finish(Number(head[1]));
      });
      socket.on('error', () => {});
      socket.on('close', () => finish(/^HTTP\/1\.1 (\d{3}) /.exec(received) ? Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)![1]) : 0));
      socket.once('secureConnect', async () => {
        const bytes = Buffer.byteLength(request.body);
        const declared = request.framing === 'short' ? Math.max(0, bytes - 10) : request.framing === 'long' ? bytes + 10 : bytes;
        const framing = request.framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
        socket.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${request.contentType}\r\n${framing}\r\n\r\n`);
        let payload = request.framing === 'chunked' ? `${bytes.toString(16)}\r\n${request.body}\r\n0\r\n\r\n` : request.body;
        if (request.cut !== null) payload = payload.slice(0, Math.floor(payload.length * request.cut));
        if (request.pauseMs > 0) await new Promise((r) => setTimeout(r, request.pauseMs));
        socket.write(payload);
        if (request.cut !== null || request.framing === 'long') setTimeout(() => socket.end(), 50); // the client gives up
      });
    });

  it('concurrent random requests: a JSON answer from the allowed set or none, never a hang; the budget is whole again afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(shape, { minLength: 1, maxLength: 8 }), async (requests) => {
        const answers = await Promise.all(requests.map(send));
        for (const [index, answer] of answers.entries()) {
          const context = { request: { ...requests[index], body: `${requests[index]!.body.length} chars` }, answer };
          expect({ ...context, hang: answer.status === -1 }).toEqual({ ...context, hang: false });
          if (answer.status !== 0) {
            expect([200, 400, 408, 413, 415, 429]).toContain(answer.status);
            expect(typeof answer.json).toBe('object');
          }
        }
        const deadline = Date.now() + 5000;
        let buffered = -1;
        while (Date.now() < deadline) {
          buffered = Number(/^probe_injector_request_body_buffered_bytes (\S+)$/m.exec(await metrics.registry.metrics())?.[1]);
          if (buffered === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(buffered).toBe(0);
      }),
      params(Math.max(20, Math.round(RUNS / 30))),
    );
    const result = await hookless(valid);
    expect(result).toBe(200);
  }, 180_000);

  const hookless = async (body: string) => (await send({ body, framing: 'length', contentType: 'application/json', cut: null, pauseMs: 0 })).status;
});
