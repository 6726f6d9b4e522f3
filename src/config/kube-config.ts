import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Where the Kubernetes API configuration comes from, for every command that talks to the API
 * server (`certs`, `serve`'s version check): `--kubeconfig`, else the pod's service account, else
 * `$KUBECONFIG` or `~/.kube/config`. Nothing at all is an error, never a silent `localhost:8080`.
 */
export type KubeConfigSource =
  | { readonly kind: 'file'; readonly file: string; readonly description: string }
  | { readonly kind: 'cluster' | 'default'; readonly description: string };

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The decision, from what is there (pure). */
export function kubeConfigSource(input: {
  readonly flag: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly inCluster: boolean;
  readonly homeConfigExists: boolean;
}): KubeConfigSource {
  if (input.flag) return { kind: 'file', file: input.flag, description: `--kubeconfig ${input.flag}` };
  if (input.inCluster && input.env.KUBERNETES_SERVICE_HOST && input.env.KUBERNETES_SERVICE_PORT) {
    return { kind: 'cluster', description: 'in-cluster service account' };
  }
  if (input.env.KUBECONFIG) return { kind: 'default', description: `$KUBECONFIG ${input.env.KUBECONFIG}` };
  if (input.homeConfigExists) return { kind: 'default', description: '~/.kube/config' };
  throw new Error('no Kubernetes configuration: not running in a cluster, and no --kubeconfig, $KUBECONFIG or ~/.kube/config');
}

/** Looks at this process's environment and files (no Kubernetes client needed). */
export function findKubeConfigSource(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfigSource {
  return kubeConfigSource({
    flag,
    env,
    inCluster: existsSync(IN_CLUSTER_TOKEN),
    homeConfigExists: existsSync(path.join(os.homedir(), '.kube', 'config')),
  });
}

/**
 * Finds the configuration (`findKubeConfigSource`) and loads it into `kubeConfig`; an Error says
 * what is missing or wrong.
 */
export function loadKubeConfig(kubeConfig: KubeConfig, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfigSource {
  const source = findKubeConfigSource(flag, env);
  applyKubeConfigSource(kubeConfig, source);
  return source;
}

/** Loads the configuration `source` names into `kubeConfig`; an Error says what is wrong with it. */
export function applyKubeConfigSource(kubeConfig: KubeConfig, source: KubeConfigSource): void {
  try {
    if (source.kind === 'file') kubeConfig.loadFromFile(source.file);
    else if (source.kind === 'cluster') kubeConfig.loadFromCluster();
    else kubeConfig.loadFromDefault();
  } catch (cause) {
    throw new Error(`cannot load the Kubernetes configuration (${source.description}): ${(cause instanceof Error ? cause.message : String(cause)).split('\n')[0]}`, { cause });
  }
  if (!kubeConfig.getCurrentCluster()) throw new Error(`the Kubernetes configuration (${source.description}) has no current cluster`);
}
