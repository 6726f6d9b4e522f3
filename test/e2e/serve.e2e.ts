/**
 * The serving shell against the real kube-apiserver: the version `serve` reads from it at start,
 * and what the API server does with a 429 the body budget answers (its client waits `Retry-After`
 * and sends the admission again).
 */
import https from 'node:https';
import tls from 'node:tls';
import { describe, expect, it } from '@jest/globals';
import { STATUS, on, podOf } from './support/expect.js';
import { createPod, env } from './support/kube.js';
import { useRegisteredWebhook } from './support/suite.js';

const suite = useRegisteredWebhook('serve', { failurePolicy: 'Fail', timeoutSeconds: 10 });

describe('serve and the real API server', () => {
  it('reads the Kubernetes version from GET /version at start (through $KUBECONFIG), logs it and exposes it', async () => {
    const line = await suite.hook.running.waitFor((l) => l.kubernetesVersion !== undefined, 20_000);
    expect(line).toMatchObject({ msg: 'kubernetes version detected', kubernetesVersion: `1.${env.kubeMinor}`, gitVersion: expect.stringMatching(new RegExp(`^v1\\.${env.kubeMinor}\\.`)) });
    const metrics = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: suite.hook.port, path: '/metrics', rejectUnauthorized: false }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(metrics).toMatch(new RegExp(`^probe_injector_kubernetes_version_info\\{version="1\\.${env.kubeMinor}",source="detected",git_version="${line.gitVersion.replace(/[.+]/g, '\\$&')}"\\} 1$`, 'm'));
  });

  it('the body budget spent: the webhook answers 429 with Retry-After, kube-apiserver retries, and the pod is mutated', async () => {
    // Fill the whole 32 MiB budget with uploads that stall: four 6 MiB bodies (the 24 MiB large
    // bodies may use) and thirty-two of 256 KiB (the 8 MiB kept for small ones).
    const sockets: tls.TLSSocket[] = [];
    const stall = (bytes: number) =>
      new Promise<void>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: suite.hook.port, rejectUnauthorized: false }, () => {
          socket.write(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n{`);
          resolve();
        });
        socket.on('error', () => {});
        sockets.push(socket);
      });
    for (let i = 0; i < 4; i++) await stall(6 * 1024 * 1024);
    for (let i = 0; i < 32; i++) await stall(256 * 1024);
    // Free the budget a little after the API server's first attempt.
    const release = setTimeout(() => sockets.forEach((socket) => socket.destroy()), 600);
    try {
      const pod = podOf(on(), () => {}, 'after-busy');
      const started = Date.now();
      const res = await createPod(suite.namespace, pod, { dryRun: true });
      const ms = Date.now() - started;
      expect(res.status).toBe(201);
      expect(res.body.metadata.annotations[STATUS]).toBeDefined();
      // Both attempts reached the webhook: the first refused with 429, the second served.
      await suite.hook.admission({ outcome: 'patched', pod: 'after-busy' });
      const attempts = suite.hook.admissions().filter((line) => line.outcome === 'busy' || (line.outcome === 'patched' && line.pod === 'after-busy'));
      expect(attempts.map((line) => line.outcome)).toEqual(['busy', 'patched']);
      expect(ms).toBeGreaterThanOrEqual(900); // it waited the Retry-After second
    } finally {
      clearTimeout(release);
      for (const socket of sockets) socket.destroy();
    }
  });
});
