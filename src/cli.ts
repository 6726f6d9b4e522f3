#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION } from './version.js';

/**
 * The `probe-injector` command. Each subcommand imports its own module on demand, so `mutate`
 * never loads the HTTP stack and `serve` never loads what only `check` needs.
 *
 * Exit codes shared by every subcommand: 0 done, 1 a finding (invalid annotations for `mutate`,
 * a problem for `check`), 2 a usage error or unreadable input.
 */
export const EXIT = { ok: 0, finding: 1, usage: 2 } as const;

const program = new Command('probe-injector')
  .description('Kubernetes mutating admission webhook: probes, readiness gates and a Nacos-aware preStop hook for opted-in pods')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(message) });

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^[0-9]+$/.test(value) || number < min || number > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return number;
  };
}

/** `-f a.yaml -f b.yaml`: every occurrence, in order, as kubectl reads them. */
function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `1.30`, `v1.29.3`: the Kubernetes minor version the output is for. */
function kubernetesVersion(value: string): string {
  if (!/^v?1\.[0-9]{1,3}(\.[0-9]+)?([-+].*)?$/.test(value)) throw new InvalidArgumentError('expected a Kubernetes version such as 1.30 or v1.29.3');
  return value;
}

program
  .command('serve')
  .description('serve the webhook over HTTPS: POST /mutate, POST /validate, GET /healthz, GET /readyz, GET /metrics')
  .option('--port <port>', 'HTTPS port', integer(0, 65535), 8443)
  .option('--host <host>', 'address to listen on (default: all)')
  .option('--metrics-port <port>', 'plain-HTTP port serving GET /metrics for Prometheus (0: off)', integer(0, 65535), 8080)
  .option('--tls-cert-file <file>', 'serving certificate (PEM), re-read when it changes; without it a self-signed one for localhost is made')
  .option('--tls-key-file <file>', 'private key of the serving certificate (PEM)')
  .option('--cert-dir <dir>', 'where the self-signed certificate and its CA are written')
  .option('--config <file>', 'configuration file (YAML), re-read when it changes')
  .option('--kubeconfig <file>', 'kubeconfig for reading the cluster version (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
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
  .option('-f, --filename <file>', 'YAML or JSON manifest(s) to read, or - for standard input; repeat for several files', collect)
  .option('--patch', 'print the JSON Patch of each mutated object instead of the YAML')
  .option('--explain', 'say for each object whether it would be mutated, and why')
  .option('--config <file>', 'configuration file (YAML), as given to serve')
  .option('--kubernetes-version <version>', 'the cluster version to write for (default: the config\'s kubernetesVersion, else the oldest supported)', kubernetesVersion)
  .action(async (options) => {
    const { runMutate } = await import('./commands/mutate.js');
    process.exitCode = await runMutate(options, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  });

program
  .command('controller')
  .description('the Nacos gate controller: sets the nacos.io/registered readiness gate once Nacos lists the pod')
  .option('--config <file>', 'configuration file (YAML), as given to serve; re-read when it changes')
  .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
  .option('--port <port>', 'plain-HTTP port serving GET /metrics, /healthz, /readyz', integer(0, 65535), 8080)
  .option('--host <host>', 'address to listen on (default: all)')
  .option('--lease-namespace <namespace>', 'namespace of the leader-election Lease (default: $POD_NAMESPACE, else probe-injector)')
  .option('--identity <name>', 'this replica\'s name in the Lease (default: $POD_NAME, else <hostname>_<pid>)')
  .addOption(new Option('--watch-interval-ms <ms>', 'how often the config file is checked for changes').argParser(integer(10, 600_000)).default(2000))
  .action(async (options) => {
    const { runController } = await import('./commands/controller.js');
    await runController(options);
  });

program
  .command('check')
  .description('read a live cluster and say, for each workload and bare pod, what was injected, what would be, and why not')
  .option('-n, --namespace <namespace>', 'only this namespace (default: the kubeconfig context\'s)')
  .option('-A, --all-namespaces', 'every namespace')
  .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
  .option('--config <file>', 'configuration file (YAML), as given to serve (default: built-in defaults)')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
  .action(async (options) => {
    const { runCheck } = await import('./commands/check.js');
    process.exitCode = await runCheck(options, { stdout: process.stdout, stderr: process.stderr });
  });

program
  .command('certs')
  .description("create or renew the webhook's CA and serving certificate, store them in a Secret, and patch the caBundle")
  .option('--service <name>', "the webhook's Service name", 'probe-injector')
  .option('--namespace <namespace>', "the webhook's namespace", 'probe-injector')
  .option('--secret <name>', 'the kubernetes.io/tls Secret to store them in', 'probe-injector-tls')
  .option('--webhook-config <name>', 'the MutatingWebhookConfiguration whose caBundle to patch', 'probe-injector')
  .option('--validating-webhook-config <name>', 'the ValidatingWebhookConfiguration whose caBundle to patch too (absent: skipped)', 'probe-injector')
  .option('--days <days>', 'validity of new certificates, in days', integer(2, 36500), 365)
  .option('--renew-before-days <days>', 're-issue when fewer days than this are left', integer(1, 36500), 30)
  .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)')
  .action(async (options) => {
    const { runCerts } = await import('./commands/certs.js');
    await runCerts(options);
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0; a usage error is 2, like unreadable input.
    process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  process.stderr.write(`probe-injector: ${error instanceof Error ? error.message : String(error)}\n`.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?'));
  process.exit(1);
});
