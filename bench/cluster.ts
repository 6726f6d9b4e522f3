// The real control plane for the benchmark: test/e2e/cluster.sh (etcd, kube-apiserver v1.20.2 and
// kube-controller-manager on 127.0.0.1, binaries from test/e2e/provision.sh) in a run dir of the
// benchmark's own, so it never collides with a test suite's cluster; always stopped afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib.js';

export interface Cluster {
  /** The `env` lines of cluster.sh: KUBECONFIG, E2E_RUN_DIR, E2E_BIN_DIR, E2E_APISERVER_URL, E2E_KUBE_VERSION, ... */
  readonly env: Readonly<Record<string, string>>;
  readonly kubeconfig: string;
  readonly runDir: string;
  readonly startMs: number;
  /** cluster.sh stop, then the run dir removed. */
  stop(): Promise<void>;
}

const CLUSTER_SH = path.join(ROOT, 'test', 'e2e', 'cluster.sh');

function run(args: readonly string[], env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [CLUSTER_SH, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (let at = stderr.indexOf('\n'); at >= 0; at = stderr.indexOf('\n')) {
        log(stderr.slice(0, at));
        stderr = stderr.slice(at + 1);
      }
    });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`cluster.sh ${args.join(' ')} exited ${code}`))));
  });
}

/** Starts a cluster (provisioning the binaries first if needed: minutes on a fresh machine). */
export async function startCluster(log: (line: string) => void): Promise<Cluster> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-bench-cluster-'));
  const env = { ...process.env, E2E_RUN_DIR: runDir };
  const t0 = process.hrtime.bigint();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      await run(['stop'], env, log);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  };
  try {
    const out = await run(['start'], env, log);
    const vars = Object.fromEntries(
      out
        .split('\n')
        .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    const kubeconfig = vars['KUBECONFIG'];
    if (!kubeconfig) throw new Error(`cluster.sh start printed no KUBECONFIG: ${out}`);
    return { env: vars, kubeconfig, runDir, startMs: Number(process.hrtime.bigint() - t0) / 1e6, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
