import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { httpsGet, runCli, type Running } from './support/process.js';
import { basePod, reviewOf, testCertFiles, type TestCertFiles } from './support/webhook.js';

/** A port nobody listens on now (the test must poll it before serve logs which port it took). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `serve` from dist/ and waits until it is ready (listening, and the Kubernetes version settled). */
async function start(args: readonly string[]): Promise<{ run: Running; port: number }> {
  const run = runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', ...args]);
  const { port } = await run.waitFor((line) => line.msg === 'probe-injector webhook listening');
  await run.waitFor((line) => line.kubernetesVersion !== undefined);
  return { run, port };
}

/** A POST /mutate whose body trickles in: the first 100 bytes now, the rest after `restAfterMs`. */
function slowAdmission(port: number, ca: string, restAfterMs: number): Promise<{ status: number; connection: string | undefined; json: any }> {
  const body = JSON.stringify(reviewOf(basePod({ 'probe-injector.io/inject': 'true' })));
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: 'localhost', port, path: '/mutate', method: 'POST', ca, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 100));
    setTimeout(() => req.end(body.slice(100)), restAfterMs);
  });
}

describe('dist/cli.js serve: SIGTERM drains, SIGHUP re-reads', () => {
  let files: TestCertFiles;
  let dir: string;
  let ca: string;
  let certArgs: readonly string[];
  beforeAll(async () => {
    files = await testCertFiles('shutdown');
    ({ dir, ca, certArgs } = files);
  });
  afterAll(() => files.remove());

  it('SIGTERM with a request in flight: /readyz turns 503, the request is answered, the process exits 0', async () => {
    const { run, port } = await start([...certArgs, '--shutdown-delay-seconds', '1']);
    expect((await httpsGet(port, ca, '/readyz')).status).toBe(200);
    const answer = slowAdmission(port, ca, 1500);
    await sleep(200);
    run.child.kill('SIGTERM');
    await run.waitFor((line) => line.signal === 'SIGTERM');
    expect(JSON.parse((await httpsGet(port, ca, '/readyz')).text)).toEqual({ status: 'not ready', reason: 'shutting down' });

    const result = await answer;
    expect(result.status).toBe(200);
    expect(result.json.response.allowed).toBe(true);
    expect(result.json.response.patch).toBeDefined();
    expect(result.connection).toBe('close');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.lines.filter((line) => line.msg === 'admission')).toHaveLength(1);
    expect(run.lines.some((line) => line.msg === 'stopped')).toBe(true);
  });

  it('SIGTERM the moment /healthz first answers (the admission stack still loading): a clean exit 0, not death by the signal', async () => {
    const port = await freePort();
    const run = runCli(['serve', '--port', String(port), '--host', '127.0.0.1', '--metrics-port', '0', '--shutdown-delay-seconds', '0', ...certArgs]);
    for (;;) {
      const status = await httpsGet(port, ca, '/healthz').then((answer) => answer.status, () => 0);
      if (status === 200) break;
      await sleep(1);
    }
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.lines.some((line) => line.signal === 'SIGTERM')).toBe(true);
    expect(run.lines.some((line) => line.msg === 'stopped')).toBe(true);
  });

  it.each([0, 2])(
    'shutdownSeconds %i: an admission whose body is still arriving after the listener closed is answered before the process exits',
    async (shutdownSeconds) => {
      const config = path.join(dir, `shutdown-${shutdownSeconds}.yaml`);
      writeFileSync(config, `shutdownSeconds: ${shutdownSeconds}\n`);
      const { run, port } = await start([...certArgs, '--config', config, '--shutdown-delay-seconds', '0']);
      const answer = slowAdmission(port, ca, 3500); // longer than shutdownSeconds and the delay
      await sleep(300);
      run.child.kill('SIGTERM');
      const result = await answer;
      expect(result.status).toBe(200);
      expect(result.json.response.patch).toBeDefined();
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.lines.find((line) => line.signal === 'SIGTERM')?.deadlineSeconds).toBeGreaterThanOrEqual(30);
      expect(run.lines.some((line) => line.msg === 'stopped')).toBe(true);
    },
    20_000,
  );

  it('a keep-alive client during the drain: its answer says Connection: close, then the server closes the socket cleanly (no reset)', async () => {
    const { run, port } = await start([...certArgs, '--shutdown-delay-seconds', '2']);
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    let received = '';
    let reset: Error | undefined;
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', (error) => (reset = error));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    const ask = () => socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    ask();
    await sleep(200);
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received).toMatch(/\r\nConnection: keep-alive\r\n/i);
    received = '';

    run.child.kill('SIGTERM');
    await run.waitFor((line) => line.signal === 'SIGTERM');
    ask(); // the same connection, while the server drains
    await ended;
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received).toMatch(/\r\nConnection: close\r\n/i);
    expect(reset).toBeUndefined();
    socket.destroy();
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGHUP does not stop the process: it re-reads the certificate and config files', async () => {
    const { run, port } = await start(certArgs);
    run.child.kill('SIGHUP');
    await run.waitFor((line) => line.signal === 'SIGHUP');
    await run.waitFor((line) => line.msg === 'serving certificate reloaded');
    await sleep(100);
    expect(run.child.exitCode).toBeNull();
    expect((await httpsGet(port, ca, '/healthz')).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
  });

  it('an invalid config file: refuses to start, lists every problem, exit 1', async () => {
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, 'injectByDefault: "yes"\nshutdownSeconds: -1\nnacos: { deregister: { mode: grpc, path: "/x;id" } }\nprofile: {}\n');
    const run = runCli(['serve', '--port', '0', '--metrics-port', '0', ...certArgs, '--config', config]);
    expect((await run.exited).code).toBe(1);
    const stderr = run.stderr.join('');
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `probe-injector: invalid config ${config}:`,
      expect.stringMatching(/^ {2}- injectByDefault: /),
      expect.stringMatching(/^ {2}- shutdownSeconds: .*0 to 3600/),
      expect.stringMatching(/^ {2}- nacos\.deregister\.mode: .*exec.*http/),
      expect.stringMatching(/^ {2}- nacos\.deregister\.path: /),
      expect.stringMatching(/^ {2}- profile: /),
    ]);
  });
});
