import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import https from 'node:https';
import tls from 'node:tls';
import { basePod, reviewOf, startTestWebhook, type TestWebhook } from './support/webhook.js';

const JSON_TYPE = { 'Content-Type': 'application/json' };
const review = () => reviewOf(basePod({ 'probe-injector.io/inject': 'true' }));

describe('the HTTP edge: every malformed request gets its own 4xx with a JSON error', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook({}, 1024 * 1024);
  });
  afterAll(() => hook.close());

  const without = (path: string[]) => {
    const body = review();
    let node: any = body;
    for (const key of path.slice(0, -1)) node = node[key];
    delete node[path.at(-1) as string];
    return JSON.stringify(body);
  };

  it.each(([
    ['not JSON', '{"kind":', 400, /not valid JSON/],
    ['empty body', '', 400, /not valid JSON/],
    ['a JSON array', '[]', 400, /expected an AdmissionReview JSON object/],
    ['JSON null', 'null', 400, /expected an AdmissionReview JSON object/],
    ['a string', '"AdmissionReview"', 400, /expected an AdmissionReview JSON object/],
    ['admission.k8s.io/v1beta1', JSON.stringify({ ...review(), apiVersion: 'admission.k8s.io/v1beta1' }), 400, /only admission\.k8s\.io\/v1 is served/],
    ['kind is not AdmissionReview', JSON.stringify({ ...review(), kind: 'Pod' }), 400, /AdmissionReview/],
    ['no request', without(['request']), 400, /AdmissionReview with a request/],
    ['no request.uid', without(['request', 'uid']), 400, /AdmissionReview/],
    ['empty request.uid', JSON.stringify({ ...review(), request: { ...review().request, uid: '' } }), 400, /AdmissionReview/],
    ['request.uid is a number', JSON.stringify({ ...review(), request: { ...review().request, uid: 7 } }), 400, /uid/],
    ['no request.object on a pod CREATE', without(['request', 'object']), 400, /request\.object is required/],
    ['request.object is not a pod', JSON.stringify({ ...review(), request: { ...review().request, object: { spec: { containers: 'app' } } } }), 400, /not a Pod/],
    ['an annotation value that is not a string', JSON.stringify(reviewOf(basePod({ 'probe-injector.io/inject': true as unknown as string }))), 400, /not a Pod/],
  ] as [string, string, number, RegExp][]).map(([name, body, status, error]) => ({ name, body, status, error })))('$name → $status', async ({ body, status, error }) => {
    const result = await hook.post(body);
    expect(result.status).toBe(status);
    expect(result.headers['content-type']).toMatch(/^application\/json/);
    expect(result.json.error).toMatch(error);
    expect(result.text).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack trace
  });

  it('invalid UTF-8 → 400', async () => {
    const body = Buffer.concat([Buffer.from('{"kind":"AdmissionReview","x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const result = await hook.post(body);
    expect(result.status).toBe(400);
    expect(result.json.error).toMatch(/not valid UTF-8/);
  });

  it.each([
    ['text/plain', { 'Content-Type': 'text/plain' }],
    ['no content type', {} as Record<string, string>],
    ['application/jsonx', { 'Content-Type': 'application/jsonx' }],
  ])('content type %s → 415', async (_name, headers) => {
    const result = await hook.post(JSON.stringify(review()), headers);
    expect(result.status).toBe(415);
    expect(result.json.error).toMatch(/Content-Type application\/json/);
  });

  it('application/json; charset=utf-8 is accepted', async () => {
    const result = await hook.post(JSON.stringify(review()), { 'Content-Type': 'application/json; charset=utf-8' });
    expect(result.status).toBe(200);
  });

  it('a body over the limit → 413, with Content-Length', async () => {
    const result = await hook.post(Buffer.alloc(1024 * 1024 + 1, 0x20), JSON_TYPE);
    expect(result.status).toBe(413);
    expect(result.json.error).toMatch(/larger than 1048576 bytes/);
  });

  it('a body over the limit → 413, chunked (no Content-Length)', async () => {
    const result = await hook.post(Buffer.alloc(2 * 1024 * 1024, 0x20), { ...JSON_TYPE, 'Transfer-Encoding': 'chunked' });
    expect(result.status).toBe(413);
  });

  it('bodies refused before they are read (413, 415), sent at full speed: the client gets the answer, not a reset; a drained connection is reused', async () => {
    const agent = new https.Agent({ ca: hook.ca, keepAlive: true, maxSockets: 1 });
    const upload = (body: Buffer, headers: Record<string, string>) =>
      new Promise<{ status: number; port: number | undefined }>((resolve, reject) => {
        const req = https.request({ host: 'localhost', port: hook.webhook.port, path: '/mutate', method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, port: res.socket?.localPort }));
        });
        req.on('error', reject); // ECONNRESET / EPIPE before the answer fails the test
        req.end(body);
      });
    try {
      for (let i = 0; i < 10; i++) {
        expect((await upload(Buffer.alloc(7 * 1024 * 1024, 0x20), JSON_TYPE)).status).toBe(413);
      }
      // A client that closes after each request (Connection: close): the body is read to its end before the connection goes.
      for (let i = 0; i < 10; i++) {
        expect((await upload(Buffer.alloc(900 * 1024, 0x20), { 'Content-Type': 'text/plain', Connection: 'close' })).status).toBe(415);
      }
      const first = await upload(Buffer.alloc(512 * 1024, 0x20), { 'Content-Type': 'text/plain' });
      expect(first.status).toBe(415);
      const next = await upload(Buffer.from(JSON.stringify(review())), JSON_TYPE);
      expect(next).toEqual({ status: 200, port: first.port }); // the same connection
    } finally {
      agent.destroy();
    }
  });

  it('a pod just under the limit is served', async () => {
    const pod = basePod({ 'probe-injector.io/inject': 'true' });
    pod.spec.containers[0].env = [{ name: 'BIG', value: 'x'.repeat(1000 * 1000) }];
    const result = await hook.post(reviewOf(pod));
    expect(result.status).toBe(200);
    expect(result.json.response.patch).toBeDefined();
  });

  it.each([
    ['GET', '/nope', 404],
    ['POST', '/mutate/extra', 404],
    ['POST', '/Mutate', 404],
    ['GET', '/mutate', 405],
    ['PUT', '/mutate', 405],
  ])('%s %s → %i', async (method, path, status) => {
    const result = await hook.request(method, path, method === 'GET' ? undefined : '{}', JSON_TYPE);
    expect(result.status).toBe(status);
    expect(result.json.code).toBe(status);
  });

  it('GET /healthz and /readyz answer 200', async () => {
    expect((await hook.request('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await hook.request('GET', '/readyz')).status).toBe(200);
  });

  it('keeps serving after every kind of bad request', async () => {
    for (const body of ['{', '[]', 'null', Buffer.alloc(2 * 1024 * 1024)]) await hook.post(body);
    const result = await hook.post(review());
    expect(result.status).toBe(200);
    expect(result.json.response.allowed).toBe(true);
  });

  it('answers deeply nested JSON and __proto__ keys without crashing or polluting prototypes', async () => {
    const deep = '{"kind":"AdmissionReview","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    expect((await hook.post(deep)).status).toBe(400);
    const body = JSON.stringify(review()).replace('"metadata":{', '"metadata":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},');
    const result = await hook.post(body);
    expect(result.status).toBe(200);
    expect(({} as any).polluted).toBeUndefined();
  });

  it('logs one JSON-able line per admission with uid, namespace, pod, outcome, operations, duration', async () => {
    hook.logs.length = 0;
    await hook.post(review());
    const lines = hook.logs.filter((l) => l.message === 'admission');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ uid: review().request.uid, namespace: 'wh-demo', pod: 'app', outcome: 'patched', operations: 4, httpStatus: 200 });
    expect(typeof lines[0]?.fields.durationMs).toBe('number');
    expect(() => JSON.stringify(lines[0]?.fields)).not.toThrow();
  });
});

describe('requests node:http cannot parse', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  const raw = (payload: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: hook.webhook.port, servername: 'localhost', ca: hook.ca }, () => socket.write(payload));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it.each([
    ['garbage instead of a request line', 'NOT HTTP AT ALL\r\n\r\n', 400],
    ['a bad chunked body', 'POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['headers over the limit', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('%s → a JSON %i', async (_name, payload, status) => {
    const answer = await raw(payload);
    expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: status });
    expect((await hook.request('GET', '/healthz')).status).toBe(200);
  });
});
