import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import fc from 'fast-check';
import { logFields } from '../src/http/admission-handler.js';
import { boundLogLine, LOG_LIMITS, logText } from '../src/serve/log-line.js';
import { CLI, ROOT } from './support/process.js';
import { basePod, reviewOf, startTestWebhook, testCertFiles, type TestCertFiles } from './support/webhook.js';

const UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const bytes = (text: string) => Buffer.byteLength(text);

describe('one log line: bounded and escaped', () => {
  it('an ordinary line passes unchanged', () => {
    const line = `${JSON.stringify({ level: 30, time: '2030-01-01T00:00:00.000Z', outcome: 'patched', pod: 'orders-7d9c-*', msg: 'admission' })}\n`;
    expect(boundLogLine(line)).toBe(line);
  });

  it('DEL, C1 controls, line separators and bidi overrides are escaped in the raw line; the JSON still reads back the same', () => {
    const value = 'a\u007fb\u009bc\u2028d\u2029e\u202ef\u2066g';
    const line = `${JSON.stringify({ pod: value, msg: 'admission' })}\n`;
    const bounded = boundLogLine(line);
    expect(bounded).not.toMatch(UNSAFE);
    expect(JSON.parse(bounded).pod).toBe(value);
  });

  it('a line over 4 KiB: strings cut, arrays shortened, marked truncated, still one JSON line', () => {
    const problems = Array.from({ length: 10_000 }, (_, i) => `profiles.p${i}.type: must be one of http, tcp, grpc, exec`);
    const line = `${JSON.stringify({ level: 50, time: 't', file: '/etc/x.yaml', problems, big: 'x'.repeat(1_000_000), msg: 'config not reloaded' })}\n`;
    const bounded = boundLogLine(line);
    expect(bytes(bounded)).toBeLessThanOrEqual(LOG_LIMITS.lineBytes);
    expect(bounded.endsWith('\n')).toBe(true);
    expect(bounded.indexOf('\n')).toBe(bounded.length - 1);
    const parsed = JSON.parse(bounded);
    expect(parsed).toMatchObject({ level: 50, msg: 'config not reloaded', truncated: true, bytes: bytes(line) });
    expect(parsed.problems).toHaveLength(LOG_LIMITS.arrayItems + 1);
    expect(parsed.problems.at(-1)).toBe('… (9990 more)');
  });

  it('property: whatever the fields, the line is at most 4 KiB, parses as JSON and has no unsafe character', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 30 }), fc.string({ unit: 'binary', maxLength: 5000 }), (fields, msg) => {
        const line = `${JSON.stringify({ level: 30, time: 't', ...fields, msg })}\n`;
        const bounded = boundLogLine(line);
        expect(bytes(bounded)).toBeLessThanOrEqual(LOG_LIMITS.lineBytes);
        expect(bounded).not.toMatch(UNSAFE);
        expect(() => JSON.parse(bounded)).not.toThrow();
        if (bytes(line) <= LOG_LIMITS.lineBytes) expect(JSON.parse(bounded)).toEqual(JSON.parse(line));
      }),
      { numRuns: 500 },
    );
  });

  it('logText cuts a request field to a Kubernetes name\'s length and says how long it was', () => {
    expect(logText('short')).toBe('short');
    expect(logText(undefined)).toBeUndefined();
    expect(logText('x'.repeat(1_000_000))).toBe(`${'x'.repeat(253)}… (1000000 characters)`);
  });

  it('the admission line: every field from the request is cut', () => {
    const long = 'n'.repeat(100_000);
    const fields = logFields({ endpoint: 'mutate', outcome: 'patched', httpStatus: 200, uid: long, namespace: long, pod: long, reason: long, error: long, operations: 3, durationSeconds: 0.0012345 });
    expect(bytes(JSON.stringify(fields))).toBeLessThan(2048);
    expect(fields['durationMs']).toBe(1.235);
  });
});

describe('the admission log line through HTTPS', () => {
  it('a pod with a 1 MiB generateName and a 300-character uid: one line, fields cut', async () => {
    const hook = await startTestWebhook();
    try {
      const pod = basePod({ 'probe-injector.io/inject': 'true' }, (p) => {
        delete p.metadata.name;
        p.metadata.generateName = `${'g'.repeat(1024 * 1024)}-`;
      });
      const result = await hook.post(reviewOf(pod, { uid: 'u'.repeat(300) }));
      expect(result.status).toBe(200);
      const lines = hook.logs.filter((line) => line.message === 'admission');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields.pod).toMatch(/^g{253}… \(\d+ characters\)$/);
      expect(lines[0]!.fields.uid).toBe(`${'u'.repeat(253)}… (300 characters)`);
      expect(bytes(JSON.stringify(lines[0]!.fields))).toBeLessThan(2048);
    } finally {
      await hook.close();
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

const rssMiB = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

describe('dist/cli.js serve with stdout stalled', () => {
  let files: TestCertFiles;
  beforeAll(async () => {
    files = await testCertFiles('logs');
  });
  afterAll(() => files.remove());

  it('admissions are answered, memory stays bounded (lines beyond 4 MiB are dropped and counted), every line written is ≤ 4 KiB, SIGTERM still exits', async () => {
    const { ca, certArgs } = files;
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--metrics-port', String(metricsPort), '--shutdown-delay-seconds', '0',
        ...certArgs],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    child.stdout.pause(); // nobody reads: the pipe fills and stays full
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const scrape = () =>
      new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: metricsPort, path: '/metrics' }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
    const deadline = Date.now() + 20_000;
    while (!(await scrape().then((text) => text.includes('probe_injector_build_info'), () => false))) {
      if (Date.now() > deadline) throw new Error('serve did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const idle = rssMiB(child.pid!);

    const agent = new https.Agent({ ca: ca, keepAlive: true, maxSockets: 16 });
    const post = (body: string) =>
      new Promise<number>((resolve) => {
        const req = https.request({ host: 'localhost', port, path: '/mutate', method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end(body);
      });
    // 300 admissions of a pod with a 1 MiB generateName (a 1 MiB line each, before lines were bounded),
    // then 8 000 with long names, ~700 bytes of log each: more than the 4 MiB stdout buffer.
    const huge = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }, (p) => {
      delete p.metadata.name;
      p.metadata.generateName = `${'g'.repeat(1024 * 1024)}-`;
    }));
    const long = reviewOf(basePod({ 'probe-injector.io/inject': 'true' }, (p) => (p.metadata.name = 'n'.repeat(253))), { uid: 'u'.repeat(253) });
    const statuses: number[] = [];
    const drive = async (body: string, count: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next++ < count) statuses.push(await post(body));
      }));
    };
    await drive(JSON.stringify(huge), 300);
    const before = rssMiB(child.pid!); // the heap has grown for the 1 MiB bodies; from here on, only log lines pile up
    await drive(JSON.stringify(long), 8000);
    agent.destroy();
    const after = rssMiB(child.pid!);
    const metrics = await scrape();
    const dropped = Number(/^probe_injector_log_lines_dropped_total (\S+)$/m.exec(metrics)?.[1]);
    process.stdout.write(`stalled stdout: RSS idle ${idle.toFixed(0)} MiB, after 300 × 1 MiB pods ${before.toFixed(0)} MiB, after 8 000 more admissions ${after.toFixed(0)} MiB; ${dropped} lines dropped\n`);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(dropped).toBeGreaterThan(0);
    // Before lines were bounded, the first phase alone queued 300 MiB of log lines (424 MB RSS measured).
    expect(before).toBeLessThan(200);
    expect(after - before).toBeLessThan(64);
    expect(after).toBeLessThan(256); // the Deployment's memory limit

    // SIGTERM while stdout is still stalled: the process must not wait on it for long.
    const stopping = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 15 s'), 15_000))]);
    const exitMs = Date.now() - stopping;
    // Then read what was written.
    let output = '';
    child.stdout.setEncoding('utf8');
    const closed = new Promise((resolve) => child.stdout.once('close', resolve));
    child.stdout.on('data', (chunk: string) => (output += chunk));
    child.stdout.resume();
    if (code !== 0) child.kill('SIGKILL');
    await closed;
    expect({ code, exitMs: exitMs < 10_000 }).toEqual({ code: 0, exitMs: true });
    const lines = output.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.filter((line) => bytes(line) + 1 > LOG_LIMITS.lineBytes)).toEqual([]);
    expect(lines.filter((line) => UNSAFE.test(line))).toEqual([]);
    for (const line of lines) JSON.parse(line);
  }, 120_000);
});
