/**
 * `probe-injector controller` as a user runs it (the built dist/cli.js, plain Node), where no
 * cluster is needed: refusing to start (an invalid config listing every problem, half-set Nacos
 * credentials, no Kubernetes configuration), and running against an API server that does not
 * answer (/healthz 200, /readyz 503 with the reason, watch failures counted, config reloads good
 * and bad, SIGTERM exits 0). With a cluster: test/e2e/controller.e2e.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, type Running } from './support/process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-controller-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig for an API server that refuses connections. */
function deadKubeconfig(): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: dead, user: u}}]',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return file;
}

/** Environment without any way to a cluster or Nacos credentials of the machine running the tests. */
const isolated = (extra: Record<string, string> = {}) => ({ KUBECONFIG: '', HOME: dir, KUBERNETES_SERVICE_HOST: '', NACOS_USERNAME: '', NACOS_PASSWORD: '', ...extra });

async function exitOf(run: Running) {
  const exit = await run.exited;
  return { code: exit.code, stderr: run.stderr.join('') };
}

describe('refusing to start', () => {
  it('an invalid config: exit 1, every problem listed', async () => {
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(config, 'nacos:\n  gate:\n    pollSeconds: 0\n    onTimeout: later\n  server:\n    addresses: []\n');
    const result = await exitOf(runCli(['controller', '--config', config, '--kubeconfig', deadKubeconfig(), '--port', '0'], isolated()));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^probe-injector: invalid config ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n`));
    for (const key of ['nacos.gate.pollSeconds', 'nacos.gate.onTimeout', 'nacos.server.addresses']) expect(result.stderr).toContain(key);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('NACOS_USERNAME without NACOS_PASSWORD: exit 1 naming the missing one, never the value', async () => {
    const result = await exitOf(runCli(['controller', '--kubeconfig', deadKubeconfig(), '--port', '0'], isolated({ NACOS_USERNAME: 'gate-user' })));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('probe-injector: NACOS_USERNAME is set but NACOS_PASSWORD is not: set both (Nacos auth) or neither\n');
  });

  it('no Kubernetes configuration at all: exit 1, saying what was looked for', async () => {
    const result = await exitOf(runCli(['controller', '--port', '0'], isolated()));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^probe-injector: no Kubernetes configuration: not running in a cluster, and no --kubeconfig, \$KUBECONFIG or ~\/\.kube\/config\n$/);
  });
});

describe('running without an API server', () => {
  it('serves /healthz, holds /readyz at 503, counts watch failures, reloads its config, exits 0 on SIGTERM', async () => {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'nacos:\n  gate:\n    pollSeconds: 2\n');
    const run = runCli(['controller', '--config', config, '--kubeconfig', deadKubeconfig(), '--port', '0', '--host', '127.0.0.1', '--identity', 'cli-test', '--watch-interval-ms', '50'], isolated());
    try {
      const started = await run.waitFor((line) => line.msg === 'probe-injector controller started', 15_000);
      expect(started).toEqual(
        expect.objectContaining({ identity: 'cli-test', lease: 'probe-injector/probe-injector-controller', labelSelector: 'probe-injector.io/nacos-gate=true', conditionType: 'nacos.io/registered', kubernetesVersion: 'unknown' }),
      );
      const base = `http://127.0.0.1:${started.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready', reason: 'the pod watch has not synced yet' });
      await run.waitFor((line) => line.msg?.startsWith('pod watch failed'), 10_000);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^probe_injector_watch_errors_total [1-9]/m);
      expect(metrics).toMatch(/^probe_injector_leader 0$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes /m);

      writeFileSync(config, 'nacos:\n  gate:\n    pollSeconds: nope\n');
      const rejected = await run.waitFor((line) => line.msg === 'config not reloaded: keeping the last good one', 10_000);
      expect(rejected.problems).toEqual([expect.stringContaining('nacos.gate.pollSeconds')]);
      writeFileSync(config, 'nacos:\n  gate:\n    pollSeconds: 5\n    conditionType: example.com/registered\n');
      const reloaded = await run.waitFor((line) => line.msg === 'config reloaded', 10_000);
      expect(reloaded.gate).toEqual(expect.objectContaining({ pollSeconds: 5, conditionType: 'example.com/registered' }));
      const after = await (await fetch(`${base}/metrics`)).text();
      expect(after).toMatch(/^probe_injector_config_reloads_total\{result="failure"\} [1-9]/m);
      expect(after).toMatch(/^probe_injector_config_reloads_total\{result="success"\} [1-9]/m);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code).toBe(0);
    expect(run.lines.some((line) => line.msg === 'stopped')).toBe(true);
  }, 30_000);
});
