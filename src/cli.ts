#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';

/**
 * The `probe-injector` command. Each subcommand imports its own module on demand, so `mutate`
 * never loads the HTTP stack and `serve` never loads the Kubernetes client.
 */
const program = new Command('probe-injector')
  .description('Kubernetes mutating admission webhook: probes, readiness gates and a Nacos-aware preStop hook for opted-in pods')
  .showHelpAfterError()
  .configureOutput({ outputError: (message, write) => write(message) });

function port(value: string): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value) || number < 0 || number > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return number;
}

program
  .command('serve')
  .description('serve the webhook over HTTPS: POST /mutate, GET /healthz, GET /readyz')
  .option('--port <port>', 'HTTPS port', port, 8443)
  .option('--host <host>', 'address to listen on (default: all)')
  .option('--tls-cert-file <file>', 'serving certificate (PEM); without it a self-signed one for localhost is made')
  .option('--tls-key-file <file>', 'private key of the serving certificate (PEM)')
  .option('--cert-dir <dir>', 'where the self-signed certificate and its CA are written')
  .action(async (options: { port: number; host?: string; tlsCertFile?: string; tlsKeyFile?: string; certDir?: string }) => {
    const { serve, DEFAULT_CERT_DIR } = await import('./commands/serve.js');
    const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
    await serve({ ...options, certDir: options.certDir ?? DEFAULT_CERT_DIR }, logger);
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`probe-injector: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
