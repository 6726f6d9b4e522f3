import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { versionFromInfo, type KubernetesVersion } from '../core/kubernetes-version.js';

/** The whole check (loading the client and `GET /version`) must be done within this. */
export const VERSION_CHECK_TIMEOUT_MS = 8000;
const MAX_OUTPUT_BYTES = 64 * 1024;

/** What `serve` learnt of the cluster's version: a version, or why not. */
export type DetectedVersion =
  | { readonly version: KubernetesVersion; readonly gitVersion: string; readonly server?: string | undefined; readonly source?: string | undefined }
  | { readonly version?: undefined; readonly error: string };

export interface VersionCheckOptions {
  /** `--kubeconfig`; else in-cluster, `$KUBECONFIG`, `~/.kube/config`. */
  readonly kubeconfig?: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** The probe script (default: kubernetes-version-probe.js beside this module). */
  readonly script?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** The probe's answer, validated like anything that comes from outside (the API server's fields are strings). */
const ProbeAnswer = v.variant('ok', [
  v.object({
    ok: v.literal(true),
    source: v.optional(v.string()),
    server: v.optional(v.string()),
    info: v.object({ major: v.optional(v.string()), minor: v.optional(v.string()), gitVersion: v.optional(v.string()) }),
  }),
  v.object({ ok: v.literal(false), error: v.string() }),
]);

/**
 * Reads the cluster's version once (SPEC §4): `GET /version` through @kubernetes/client-node, in
 * a child process so that loading the client neither delays the start nor stays in memory. Never
 * throws: when the version cannot be read in time, the answer says why (the caller falls back to
 * the oldest behaviour).
 */
export function detectKubernetesVersion(options: VersionCheckOptions = {}): Promise<DetectedVersion> {
  const script = options.script ?? fileURLToPath(new URL('./kubernetes-version-probe.js', import.meta.url));
  const timeoutMs = options.timeoutMs ?? VERSION_CHECK_TIMEOUT_MS;
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const done = (answer: DetectedVersion) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(answer);
    };
    const child = spawn(process.execPath, [script, options.kubeconfig ?? ''], { stdio: ['ignore', 'pipe', 'ignore'], env: options.env ?? process.env });
    const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
    child.on('error', (error) => done({ error: `cannot run the version check: ${error.message}` }));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (output.length > MAX_OUTPUT_BYTES) done({ error: 'the version check wrote too much' });
      else if (output.includes('\n')) done(interpret(output.slice(0, output.indexOf('\n'))));
    });
    child.on('close', (code) => done({ error: `the version check ended (exit code ${code}) without an answer` }));
  });
}

/** The probe's line → a version or an error (pure). */
export function interpret(line: string): DetectedVersion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { error: 'the version check wrote something that is not JSON' };
  }
  const answer = v.safeParse(ProbeAnswer, parsed);
  if (!answer.success) return { error: 'the version check wrote an unexpected answer' };
  const probe = answer.output;
  if (!probe.ok) return { error: probe.error };
  const version = versionFromInfo(probe.info);
  if (!version) return { error: `GET /version answered ${JSON.stringify(probe.info).slice(0, 200)}, which holds no version` };
  return { version, gitVersion: probe.info.gitVersion ?? '', server: probe.server, source: probe.source };
}
