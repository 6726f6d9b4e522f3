/**
 * The built webhook, run as a user would: `node dist/cli.js serve` with a certificate on disk.
 * Files live under the run dir (so every process of a run names it on its command line, which is
 * how run.sh checks that nothing is left), and each pid is recorded for run.sh's cleanup.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCertificateAuthority, createServingCertificate, type KeyPair } from '../../../src/tls/certificates.js';
import { runCli, type Running } from '../../support/process.js';
import { env } from './kube.js';

export interface Tls {
  readonly ca: KeyPair;
  readonly serving: KeyPair;
  /** base64 of the CA certificate, for a webhook's caBundle. */
  readonly caBundle: string;
}

/** A CA and a serving certificate for the given IP addresses (and DNS names). */
export async function makeTls(ipAddresses: string[] = ['127.0.0.1'], dnsNames: string[] = []): Promise<Tls> {
  const ca = await createCertificateAuthority('probe-injector e2e CA', { days: 1 });
  const serving = await createServingCertificate(ca, { dnsNames, ipAddresses }, { days: 1 });
  return { ca, serving, caBundle: Buffer.from(ca.cert).toString('base64') };
}

export function runDirPath(...parts: string[]): string {
  const file = path.join(env.runDir, ...parts);
  mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

export interface ServedWebhook {
  readonly port: number;
  readonly running: Running;
  /** The `admission` log lines so far. */
  admissions(): any[];
  /**
   * The first `admission` log line that matches, waiting for it: the line is written (pino,
   * asynchronously) after the response, so it can arrive after kube-apiserver has answered.
   */
  admission(match: Record<string, unknown>, timeoutMs?: number): Promise<any>;
  /** SIGTERM and wait for exit 0; writes the log lines to the run dir. */
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Directory name under the run dir for its files. */
  readonly name: string;
  readonly serving: KeyPair;
  readonly host?: string;
  /** Default 0: a free port, read from the "listening" log line. */
  readonly port?: number;
  readonly config?: string;
}

/** Starts `probe-injector serve` (on a free port unless told) and waits for its "listening" line. */
export async function serveWebhook(options: ServeOptions): Promise<ServedWebhook> {
  const certFile = runDirPath('webhooks', options.name, 'tls.crt');
  const keyFile = runDirPath('webhooks', options.name, 'tls.key');
  writeFileSync(certFile, options.serving.cert);
  writeFileSync(keyFile, options.serving.key, { mode: 0o600 });
  const args = ['serve', '--port', String(options.port ?? 0), '--host', options.host ?? '127.0.0.1', '--tls-cert-file', certFile, '--tls-key-file', keyFile, '--shutdown-delay-seconds', '0'];
  if (options.config !== undefined) {
    const configFile = runDirPath('webhooks', options.name, 'config.yaml');
    writeFileSync(configFile, options.config);
    args.push('--config', configFile);
  }
  const running = runCli(args);
  if (running.child.pid) appendFileSync(path.join(env.runDir, 'webhook.pids'), `${running.child.pid}\n`);
  let listening: any;
  try {
    listening = await running.waitFor((line) => line.msg === 'probe-injector webhook listening', 20_000);
  } catch (error) {
    running.child.kill('SIGKILL');
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    port: listening.port,
    running,
    admissions: () => running.lines.filter((line) => line.msg === 'admission'),
    admission: (match, timeoutMs = 5_000) =>
      running.waitFor((line) => line.msg === 'admission' && Object.entries(match).every(([key, value]) => line[key] === value), timeoutMs),
    stop: () =>
      (stopped ??= (async () => {
        if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
        const exit = await running.exited;
        writeFileSync(runDirPath('webhooks', options.name, 'serve.log'), running.lines.map((line) => JSON.stringify(line)).join('\n') + '\n' + running.stderr.join(''));
        if (exit.code !== 0) throw new Error(`webhook ${options.name} exited with ${JSON.stringify(exit)}: ${running.stderr.join('')}`);
      })()),
  };
}
