#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';

/**
 * The `probe-injector` command. Each subcommand imports its own module on demand, so `mutate`
 * never loads the HTTP stack and `serve` never loads the Kubernetes client.
 */
const program = new Command('probe-injector')
  .description('Kubernetes mutating admission webhook: probes, readiness gates and a Nacos-aware preStop hook for opted-in pods')
  .showHelpAfterError()
  .configureOutput({ outputError: (message, write) => write(message) });

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^[0-9]+$/.test(value) || number < min || number > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return number;
  };
}

program
  .command('serve')
  .description('serve the webhook over HTTPS: POST /mutate, GET /healthz, GET /readyz, GET /metrics')
  .option('--port <port>', 'HTTPS port', integer(0, 65535), 8443)
  .option('--host <host>', 'address to listen on (default: all)')
  .option('--tls-cert-file <file>', 'serving certificate (PEM), re-read when it changes; without it a self-signed one for localhost is made')
  .option('--tls-key-file <file>', 'private key of the serving certificate (PEM)')
  .option('--cert-dir <dir>', 'where the self-signed certificate and its CA are written')
  .option('--config <file>', 'configuration file (YAML), re-read when it changes')
  .addOption(new Option('--watch-interval-ms <ms>', 'how often certificate and config files are checked for changes').argParser(integer(10, 600_000)).default(2000))
  .addOption(
    new Option('--shutdown-delay-seconds <seconds>', 'after SIGTERM, keep serving (with /readyz at 503) this long before closing the listener')
      .argParser(integer(0, 300))
      .default(3),
  )
  .action(async (options) => {
    const { runServe } = await import('./commands/serve.js');
    await runServe(options);
  });

program
  .command('mutate')
  .description('offline preview: print Pods and workload templates as the webhook would store them')
  .requiredOption('-f, --filename <file>', 'YAML or JSON manifest(s) to read, or - for standard input')
  .option('--patch', 'print the JSON Patch of each mutated object instead of the YAML')
  .option('--explain', 'say for each object whether it would be mutated, and why')
  .option('--config <file>', 'configuration file (YAML), as given to serve')
  .action(async (options) => {
    const { runMutate } = await import('./commands/mutate.js');
    process.exitCode = await runMutate(options, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  });

program
  .command('certs')
  .description("create or renew the webhook's CA and serving certificate, store them in a Secret, and patch the caBundle")
  .option('--service <name>', "the webhook's Service name", 'probe-injector')
  .option('--namespace <namespace>', "the webhook's namespace", 'probe-injector')
  .option('--secret <name>', 'the kubernetes.io/tls Secret to store them in', 'probe-injector-tls')
  .option('--webhook-config <name>', 'the MutatingWebhookConfiguration whose caBundle to patch', 'probe-injector')
  .option('--days <days>', 'validity of new certificates, in days', integer(2, 36500), 365)
  .option('--renew-before-days <days>', 're-issue when fewer days than this are left', integer(1, 36500), 30)
  .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
  .action(async (options) => {
    const { runCerts } = await import('./commands/certs.js');
    await runCerts(options);
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`probe-injector: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
