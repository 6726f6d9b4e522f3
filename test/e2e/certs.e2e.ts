/**
 * `probe-injector certs` against this apiserver: it creates the Secret and patches the caBundle,
 * and kube-apiserver then calls the webhook — serving that Secret's certificate — trusting exactly
 * that CA.
 *
 * The certificate's SANs are the Service's DNS names (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`,
 * `<svc>.<ns>.svc.cluster.local`), so the apiserver must reach the webhook under one of them. Two
 * ways, both run when the machine allows:
 * - by Service, exactly as manifests/ register it (`clientConfig.service`): the cluster runs with
 *   `--enable-aggregator-routing` (run.sh), so kube-apiserver resolves the Service to its
 *   Endpoints, dials that address and checks the certificate against `<svc>.<ns>.svc`. Endpoints
 *   may not be loopback addresses, so the webhook listens on this machine's first non-loopback
 *   IPv4 address for this case;
 * - by URL, `https://<svc>.<ns>.svc:PORT/mutate`, with that name mapped to 127.0.0.1 in /etc/hosts
 *   (run.sh adds the line before starting the apiserver and removes it at the end).
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { validatePod } from '../support/kube-validation.js';
import { runCli } from '../support/process.js';
import { STATUS, on, podOf } from './support/expect.js';
import {
  WEBHOOK_CONFIGS,
  closeClient,
  createAndGetPod,
  createNamespace,
  createPod,
  deleteWebhook,
  env,
  kube,
  ok,
  registerWebhook,
  waitForInjection,
  waitUntil,
  webhookConfiguration,
  type Json,
} from './support/kube.js';
import { makeTls, serveWebhook, type ServedWebhook } from './support/webhook-process.js';

const SERVICE = process.env.E2E_CERTS_SERVICE || 'probe-injector';
const NAMESPACE = process.env.E2E_CERTS_NAMESPACE || 'probe-injector-e2e-certs';
const SECRET = 'probe-injector-tls';
const CONFIG_NAME = 'e2e-certs';
const SERVICE_DNS = `${SERVICE}.${NAMESPACE}.svc`;

/** This machine's first non-loopback, non-link-local IPv4 address (an Endpoints address must be one). */
const nodeIp = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
const hostsName = process.env.E2E_HOSTS_NAME;

interface Variant {
  readonly name: 'service' | 'url';
  readonly title: string;
  readonly skip?: string | undefined;
  readonly podNamespace: string;
  readonly webhookName: string;
}
const variants: Variant[] = [
  {
    name: 'service',
    title: `by Service ${NAMESPACE}/${SERVICE} (clientConfig.service, as manifests/ register it) → Endpoints ${nodeIp ?? '?'}`,
    skip: nodeIp ? undefined : 'this machine has no non-loopback IPv4 address for an Endpoints object',
    podNamespace: 'e2e-certs-service',
    webhookName: 'service.pods.probe-injector.io',
  },
  {
    name: 'url',
    title: `by URL https://${SERVICE_DNS}:PORT/mutate (/etc/hosts → 127.0.0.1)`,
    skip: hostsName === SERVICE_DNS ? undefined : `run.sh did not map ${SERVICE_DNS} in /etc/hosts (not root, or E2E_EDIT_HOSTS=0)`,
    podNamespace: 'e2e-certs-url',
    webhookName: 'url.pods.probe-injector.io',
  },
];
const active = variants.filter((v) => !v.skip);

const hooks = new Map<string, ServedWebhook>();
let urlPort = 0;

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function runCerts(): Promise<any[]> {
  const certs = runCli(['certs', '--service', SERVICE, '--namespace', NAMESPACE, '--secret', SECRET, '--webhook-config', CONFIG_NAME, '--kubeconfig', env.kubeconfig]);
  const exit = await certs.exited;
  if (exit.code !== 0) throw new Error(`probe-injector certs exited ${JSON.stringify(exit)}: ${certs.stderr.join('')} ${JSON.stringify(certs.lines)}`);
  return certs.lines;
}

const decode = (data: string | undefined) => Buffer.from(data ?? '', 'base64').toString('utf8');
/** The certificates of a PEM bundle, normalised (a bundle may end with an extra newline). */
const pemBlocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

beforeAll(async () => {
  if (active.length === 0) return;
  await createNamespace(NAMESPACE, {});
  for (const v of active) await createNamespace(v.podNamespace, { 'probe-injector-e2e': `certs-${v.name}` });
  urlPort = await freePort('127.0.0.1');
  // Registered with no caBundle (like manifests/): certs sets it. failurePolicy Fail, so a CA the
  // apiserver did not trust would refuse pods instead of letting them through unmutated.
  const webhooks = active.map((v) => {
    const config = webhookConfiguration(CONFIG_NAME, {
      webhookName: v.webhookName,
      failurePolicy: 'Fail',
      namespaceLabels: { 'probe-injector-e2e': `certs-${v.name}` },
      ...(v.name === 'service' ? { service: { namespace: NAMESPACE, name: SERVICE, port: 443, path: '/mutate' } } : { url: `https://${SERVICE_DNS}:${urlPort}/mutate` }),
    });
    return config.webhooks[0];
  });
  await registerWebhook({ ...webhookConfiguration(CONFIG_NAME, { namespaceLabels: {} }), webhooks });
});

afterAll(async () => {
  if (active.length === 0) return;
  await deleteWebhook(CONFIG_NAME);
  for (const hook of hooks.values()) await hook.stop();
  await closeClient();
});

const certsIt = active.length > 0 ? it : it.skip;

describe('probe-injector certs against this apiserver', () => {
  let caPem = '';

  certsIt(`creates the Secret and patches the caBundle of every webhook${active.length ? '' : ` [skipped: ${variants.map((v) => v.skip).join('; ')}]`}`, async () => {
    const lines = await runCerts();
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'certs: created the CA and serving certificate', action: 'create', secret: `${NAMESPACE}/${SECRET}` }));

    const secret = await ok(kube('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${SECRET}`), 'get secret');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    caPem = decode(secret.data['ca.crt']);
    expect(pemBlocks(caPem)).toHaveLength(1);
    const ca = new X509Certificate(caPem);
    const serving = new X509Certificate(decode(secret.data['tls.crt']));
    expect(serving.verify(ca.publicKey)).toBe(true);
    expect(serving.subjectAltName?.split(', ').sort()).toEqual(
      [`DNS:${SERVICE}`, `DNS:${SERVICE}.${NAMESPACE}`, `DNS:${SERVICE_DNS}`, `DNS:${SERVICE_DNS}.cluster.local`].sort(),
    );
    expect(serving.checkPrivateKey((await import('node:crypto')).createPrivateKey(decode(secret.data['tls.key'])))).toBe(true);

    const config = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${CONFIG_NAME}`));
    expect(config.webhooks.map((w: Json) => w.name)).toEqual(active.map((v) => v.webhookName));
    for (const webhook of config.webhooks) expect(pemBlocks(decode(webhook.clientConfig.caBundle))).toEqual(pemBlocks(caPem));

    // Start the webhook with the Secret's certificate, as the Deployment would mount it.
    const servingPair = { cert: decode(secret.data['tls.crt']), key: decode(secret.data['tls.key']) };
    for (const v of active) {
      if (v.name === 'service') {
        const hook = await serveWebhook({ name: 'certs-service', serving: servingPair, host: nodeIp! });
        hooks.set(v.name, hook);
        await ok(
          kube('POST', `/api/v1/namespaces/${NAMESPACE}/services`, {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: SERVICE },
            spec: { ports: [{ name: 'https', port: 443, targetPort: hook.port, protocol: 'TCP' }] },
          }),
          'create service',
        );
        await ok(
          kube('POST', `/api/v1/namespaces/${NAMESPACE}/endpoints`, {
            apiVersion: 'v1',
            kind: 'Endpoints',
            metadata: { name: SERVICE },
            subsets: [{ addresses: [{ ip: nodeIp }], ports: [{ name: 'https', port: hook.port, protocol: 'TCP' }] }],
          }),
          'create endpoints',
        );
      } else {
        // /etc/hosts maps the Service name to 127.0.0.1: listen on loopback only.
        hooks.set(v.name, await serveWebhook({ name: 'certs-url', serving: servingPair, host: '127.0.0.1', port: urlPort }));
      }
    }
  });

  for (const v of variants) {
    (v.skip ? it.skip : it)(`the apiserver calls the webhook ${v.title} with that CA${v.skip ? ` [skipped: ${v.skip}]` : ''}`, async () => {
      await waitForInjection(v.podNamespace);
      const { stored } = await createAndGetPod(v.podNamespace, podOf(on({ profile: 'http' }), () => {}, 'via-certs'));
      expect(stored.metadata.annotations[STATUS]).toBe('{"containers":{"app":["startupProbe","readinessProbe","livenessProbe"]}}');
      expect(stored.spec.containers[0].readinessProbe).toEqual({ httpGet: { path: '/', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 3 });
      expect(validatePod(stored)).toEqual([]);
      await hooks.get(v.name)!.admission({ namespace: v.podNamespace, pod: 'via-certs', outcome: 'patched' });
    });
  }

  certsIt('run again: keeps the certificate, and the caBundle stays', async () => {
    const before = await ok(kube('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${SECRET}`));
    const lines = await runCerts();
    expect(lines).toContainEqual(expect.objectContaining({ action: 'keep' }));
    const after = await ok(kube('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${SECRET}`));
    expect(after.data).toEqual(before.data);
    const config = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${CONFIG_NAME}`));
    for (const webhook of config.webhooks) expect(pemBlocks(decode(webhook.clientConfig.caBundle))).toEqual(pemBlocks(caPem));
  });

  certsIt('control: with another CA in the caBundle the same calls fail TLS verification (so the CA is what made them work)', async () => {
    const other = await makeTls(['127.0.0.1']);
    const config = await ok(kube('GET', `${WEBHOOK_CONFIGS}/${CONFIG_NAME}`));
    const patch = config.webhooks.map((_: Json, i: number) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: other.caBundle }));
    await ok(kube('PATCH', `${WEBHOOK_CONFIGS}/${CONFIG_NAME}`, patch, 'application/json-patch+json'));
    for (const v of active) {
      const res = await waitUntil(`pods in ${v.podNamespace} to be refused`, async () => {
        const attempt = await createPod(v.podNamespace, podOf(on()), { dryRun: true });
        return attempt.status !== 201 ? attempt : undefined;
      });
      expect(res.body.message).toMatch(new RegExp(`failed calling webhook "${v.webhookName.replace(/\./g, '\\.')}".*x509: certificate signed by unknown authority`));
    }
  });
});
