import { applyKubeConfigSource, findKubeConfigSource } from '../config/kube-config.js';

/**
 * Run as a child process by `serve` (see kubernetes-version.ts): loads @kubernetes/client-node,
 * reads the API server's `GET /version` and writes one JSON line to stdout. @kubernetes/client-node
 * costs ~0.7 s of CPU and ~75 MB of memory to load; in a child process neither delays the
 * webhook's start nor stays in its memory.
 *
 *   node kubernetes-version-probe.js [kubeconfig]
 */
const flag = process.argv[2] || undefined;
const write = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
try {
  const source = findKubeConfigSource(flag); // before loading the client: no configuration, no cost
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  applyKubeConfigSource(kubeConfig, source);
  const info = await kubeConfig.makeApiClient(k8s.VersionApi).getCode();
  write({ ok: true, source: source.description, server: kubeConfig.getCurrentCluster()?.server, info: { major: info.major, minor: info.minor, gitVersion: info.gitVersion } });
} catch (error) {
  write({ ok: false, error: (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 500) });
}
