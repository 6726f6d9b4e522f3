import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ACTUATOR_DOWN_BODY, deregisterScript } from '../src/core/pre-stop.js';
import type { DeregisterSettings } from '../src/core/settings.js';

/** Runs the hook the way kubelet does: `/bin/sh -c SCRIPT`, with PATH limited to `bin`. */
function runHook(script: string, bin: string): Promise<{ code: number; stderr: string; seconds: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script], { env: { PATH: bin } }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    });
  });
}

const settings = (overrides: Partial<DeregisterSettings> = {}): DeregisterSettings => ({
  mode: 'exec',
  via: 'endpoint',
  path: '/api/nacos/deregister?group=a&x=%20',
  method: 'GET',
  timeoutSeconds: 2,
  sleepSeconds: 1,
  ...overrides,
});

describe('the exec-mode preStop script under a real /bin/sh', () => {
  let dir: string;
  let server: http.Server;
  let port: number;
  const seen: string[] = [];
  const requests: { method?: string | undefined; url?: string | undefined; contentType?: string | undefined; body: string }[] = [];
  const tool = (name: string) => ['/usr/bin', '/bin'].map((d) => path.join(d, name)).find((p) => existsSync(p));

  /** A PATH directory with `sleep` and the named tools (real or fake). */
  function bin(name: string, tools: Record<string, string | undefined>): string {
    const dirPath = path.join(dir, name);
    mkdirSync(dirPath);
    symlinkSync(tool('sleep') as string, path.join(dirPath, 'sleep'));
    for (const [tool, target] of Object.entries(tools)) {
      if (target?.startsWith('#!')) {
        writeFileSync(path.join(dirPath, tool), target);
        chmodSync(path.join(dirPath, tool), 0o755);
      } else if (target) symlinkSync(target, path.join(dirPath, tool));
    }
    return dirPath;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prestop-'));
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        requests.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = tool('curl');
  (curl ? it : it.skip)('with curl: calls the endpoint with the method, then sleeps', async () => {
    seen.length = 0;
    const result = await runHook(deregisterScript(settings({ method: 'DELETE' }), port), bin('curl', { curl }));
    expect(result.code).toBe(0);
    expect(seen).toEqual(['DELETE /api/nacos/deregister?group=a&x=%20']);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  (curl ? it : it.skip)('with curl and nobody listening: the call fails, the sleep still runs, the hook exits 0', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    const result = await runHook(deregisterScript(settings(), deadPort), bin('curl-dead', { curl }));
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/curl/);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  const wget = tool('wget');
  (wget ? it : it.skip)('without curl, with a real wget: POST reaches the endpoint, then the sleep', async () => {
    seen.length = 0;
    const result = await runHook(deregisterScript(settings({ method: 'POST' }), port), bin('real-wget', { wget }));
    expect(result.code).toBe(0);
    expect(seen).toEqual(['POST /api/nacos/deregister?group=a&x=%20']);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  it('without curl: wget is used (GET), then the sleep', async () => {
    const log = path.join(dir, 'wget.log');
    const fakeWget = `#!/bin/sh\necho "$@" > ${log}\nexit 4\n`;
    const result = await runHook(deregisterScript(settings(), 8080), bin('wget', { wget: fakeWget }));
    expect(result.code).toBe(0);
    expect(readFileSync(log, 'utf8').trim()).toBe("-q -T 2 -O /dev/null http://127.0.0.1:8080/api/nacos/deregister?group=a&x=%20");
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  it('without curl: POST goes through wget --post-data', async () => {
    const log = path.join(dir, 'wget-post.log');
    const fakeWget = `#!/bin/sh\necho "$@" > ${log}\n`;
    await runHook(deregisterScript(settings({ method: 'POST', sleepSeconds: 0 }), 8080), bin('wget-post', { wget: fakeWget }));
    expect(readFileSync(log, 'utf8')).toContain('--post-data  http://127.0.0.1:8080/');
  });

  it('with neither curl nor wget: says so on stderr, still sleeps, exits 0', async () => {
    const result = await runHook(deregisterScript(settings(), 8080), bin('none', {}));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('probe-injector: neither curl nor wget found');
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  it('PUT without curl: explains that curl is needed, still sleeps', async () => {
    const result = await runHook(deregisterScript(settings({ method: 'PUT' }), 8080), bin('put-wget', { wget: '#!/bin/sh\nexit 0\n' }));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('PUT needs curl in the image');
  });

  // --- nacos-deregister-via: actuator (Spring Cloud's serviceregistry endpoint) ----------------------
  const actuator = settings({ via: 'actuator', method: 'POST', path: '/actuator/serviceregistry', sleepSeconds: 1 });
  /** A stub that records its arguments, one per line, and its standard input. */
  const recorder = (name: string) => `#!/bin/sh\nprintf '%s\\n' "$@" > ${path.join(dir, `${name}.args`)}\ncat > ${path.join(dir, `${name}.stdin`)}\n`;

  it('actuator via curl: POST with Content-Type application/json and the body {"status":"DOWN"}, then the sleep', async () => {
    const result = await runHook(deregisterScript(actuator, 8081), bin('actuator-curl', { curl: recorder('curl') }));
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'curl.args'), 'utf8').split('\n').slice(0, -1)).toEqual([
      '-sS', '-m', '2', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', ACTUATOR_DOWN_BODY, '-o', '/dev/null', 'http://127.0.0.1:8081/actuator/serviceregistry',
    ]);
    expect(readFileSync(path.join(dir, 'curl.stdin'), 'utf8')).toBe('');
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  it('actuator via BusyBox-style wget (no curl): --header and --post-data, then the sleep', async () => {
    const result = await runHook(deregisterScript(actuator, 8081), bin('actuator-wget', { wget: recorder('wget') }));
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'wget.args'), 'utf8').split('\n').slice(0, -1)).toEqual([
      '-q', '-T', '2', '-O', '/dev/null', '--header', 'Content-Type: application/json', '--post-data', ACTUATOR_DOWN_BODY, 'http://127.0.0.1:8081/actuator/serviceregistry',
    ]);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  (curl ? it : it.skip)('actuator with a real curl against a real HTTP server: exactly the method, header and body Spring expects', async () => {
    requests.length = 0;
    const result = await runHook(deregisterScript(actuator, port), bin('actuator-real-curl', { curl }));
    expect(result.code).toBe(0);
    expect(requests).toEqual([{ method: 'POST', url: '/actuator/serviceregistry', contentType: 'application/json', body: '{"status":"DOWN"}' }]);
  });

  (wget ? it : it.skip)('actuator with a real wget against a real HTTP server', async () => {
    requests.length = 0;
    const result = await runHook(deregisterScript(actuator, port), bin('actuator-real-wget', { wget }));
    expect(result.code).toBe(0);
    expect(requests).toEqual([{ method: 'POST', url: '/actuator/serviceregistry', contentType: 'application/json', body: '{"status":"DOWN"}' }]);
  });
});
