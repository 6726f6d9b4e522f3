import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { makeInjectionConfig, type ConfigInput, type InjectionConfig } from '../../src/core/config.js';
import type { Logger } from '../../src/logger.js';
import { createCertificateAuthority, createServingCertificate, type KeyPair } from '../../src/tls/certificates.js';
import { startWebhook, type Webhook } from '../../src/webhook.js';
import { validatePod } from './kube-validation.js';
import { reviewOf } from './fixture.js';
import { applyStrict } from './patch.js';
import { type Pod } from './pod.js';

export { basePod, reviewOf } from './fixture.js';
export { clone, type Pod } from './pod.js';
export { applyStrict } from './patch.js';

export interface TestWebhook {
  readonly webhook: Webhook;
  readonly ca: string;
  readonly logs: { level: string; fields: any; message?: string | undefined }[];
  config: InjectionConfig;
  post(body: string | Buffer | object, headers?: Record<string, string>, path?: string): Promise<HttpResult>;
  request(method: string, path: string, body?: string | Buffer, headers?: Record<string, string>): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: any;
}

let sharedTls: Promise<{ ca: KeyPair; serving: KeyPair }> | undefined;
/** One CA and serving certificate per test file: real TLS, no cost per test. */
export function testTls(): Promise<{ ca: KeyPair; serving: KeyPair }> {
  sharedTls ??= (async () => {
    const ca = await createCertificateAuthority('probe-injector test CA', { days: 1 });
    const serving = await createServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }, { days: 1 });
    return { ca, serving };
  })();
  return sharedTls;
}

/** The test certificate as `serve` reads it from disk: in a new temporary folder, with the flags that name it. */
export interface TestCertFiles {
  /** The folder (tls.crt, tls.key); a test may put its other files there too. */
  readonly dir: string;
  /** The CA's certificate (PEM), for the client. */
  readonly ca: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** `--tls-cert-file F --tls-key-file F`. */
  readonly certArgs: readonly string[];
  /** Removes the folder. */
  remove(): void;
}

export async function testCertFiles(name: string): Promise<TestCertFiles> {
  const { ca, serving } = await testTls();
  const dir = mkdtempSync(path.join(os.tmpdir(), `probe-injector-${name}-`));
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  writeFileSync(certFile, serving.cert);
  writeFileSync(keyFile, serving.key);
  return { dir, ca: ca.cert, certFile, keyFile, certArgs: ['--tls-cert-file', certFile, '--tls-key-file', keyFile], remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the real HTTPS webhook on a free port with a real certificate and a recording logger. */
export async function startTestWebhook(config: ConfigInput = {}, bodyLimit?: number): Promise<TestWebhook> {
  const { ca, serving } = await testTls();
  const logs: TestWebhook['logs'] = [];
  const record = (level: string) => (fields: object, message?: string) => void logs.push({ level, fields, message });
  const logger: Logger = { info: record('info'), warn: record('warn'), error: record('error') };
  const state = { config: makeInjectionConfig(config) };
  const webhook = await startWebhook({ port: 0, host: '127.0.0.1', tls: serving, config: () => state.config, logger, bodyLimit });
  const agent = new https.Agent({ ca: ca.cert, keepAlive: true });
  const request = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    new Promise<HttpResult>((resolve, reject) => {
      const req = https.request({ host: 'localhost', port: webhook.port, method, path, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return {
    webhook,
    ca: ca.cert,
    logs,
    get config() {
      return state.config;
    },
    set config(value) {
      state.config = value;
    },
    request,
    post: (body, headers = { 'Content-Type': 'application/json' }, path = '/mutate?timeout=10s') =>
      request('POST', path, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), headers),
    close: async () => {
      agent.destroy();
      await webhook.shutdown();
    },
  };
}

export interface Admitted {
  readonly response: any;
  readonly patch: any[];
  readonly warnings: string[];
  /** The original pod with the returned patch applied (strict RFC 6902). */
  readonly pod: Pod;
}

/**
 * Posts `pod` in an AdmissionReview, checks the envelope kube-apiserver expects, applies the patch
 * to the original pod with fast-json-patch (validating: an add under a missing parent throws), and
 * runs the kube-apiserver validation mirror over the result.
 */
export async function admit(hook: TestWebhook, pod: Pod, request: Record<string, unknown> = {}): Promise<Admitted> {
  const review = reviewOf(pod, request);
  const result = await hook.post(review);
  if (result.status !== 200) throw new Error(`HTTP ${result.status}: ${result.text}`);
  const body = result.json;
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') throw new Error(`bad envelope: ${result.text}`);
  const response = body.response;
  if (response.uid !== review.request.uid) throw new Error('response.uid is not the request uid');
  let patch: any[] = [];
  if (response.patch !== undefined) {
    if (response.patchType !== 'JSONPatch') throw new Error('patch without patchType JSONPatch');
    patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
    if (!Array.isArray(patch) || patch.length === 0) throw new Error('an empty patch must be omitted');
  } else if (response.patchType !== undefined) {
    throw new Error('patchType without patch');
  }
  for (const warning of response.warnings ?? []) {
    if (/[\r\n]/.test(warning)) throw new Error(`warning with a newline: ${JSON.stringify(warning)}`);
  }
  const patched = applyStrict(pod, patch);
  if (response.allowed) {
    const errors = validatePod(patched);
    if (errors.length > 0) throw new Error(`kube-apiserver would reject the patched pod:\n${errors.join('\n')}`);
  }
  return { response, patch, warnings: response.warnings ?? [], pod: patched };
}

/** The annotation the webhook writes, exactly as it must read. */
export function statusValue(status: object): string {
  return JSON.stringify(status);
}
