// A replica that only competes for a Lease, built from dist/ (run `npm run build` first), for
// test/e2e/leader-election.e2e.ts: one JSON line per event on stdout.
//
//   node test/e2e/support/elector.mjs <kubeconfig> <namespace> <lease> <identity> <leaseMs> <renewMs> <retryMs>
//
// Events: ready, started, stopped, new-leader {leader}, is-leader {value} (isLeader() polled every
// 50 ms, printed when it changes), log {level, msg, ...}, sigterm, exit. SIGTERM: stop() (which
// releases the Lease when leading), then exit 0.
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { startLeaderElection } from '../../../dist/kube/leader-election.js';

const [kubeconfig, namespace, name, identity, leaseMs, renewMs, retryMs] = process.argv.slice(2);
const out = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ event, identity, at: Date.now(), ...fields })}\n`);
const log = (level) => (fields, msg) => out('log', { level, msg, ...fields });

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfig);
const elector = startLeaderElection({
  api: kubeConfig.makeApiClient(CoordinationV1Api),
  namespace,
  name,
  identity,
  leaseDurationMs: Number(leaseMs),
  renewDeadlineMs: Number(renewMs),
  retryPeriodMs: Number(retryMs),
  logger: { info: log('info'), warn: log('warn'), error: log('error') },
  onStartedLeading: () => out('started'),
  onStoppedLeading: () => out('stopped'),
  onNewLeader: (leader) => out('new-leader', { leader }),
});

let leader = false;
const poll = setInterval(() => {
  if (elector.isLeader() !== leader) {
    leader = !leader;
    out('is-leader', { value: leader });
  }
}, 50);

process.on('SIGTERM', () => {
  out('sigterm');
  void elector.stop().then(() => {
    clearInterval(poll);
    out('exit');
    process.exit(0);
  });
});
out('ready');
