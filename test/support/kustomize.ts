/**
 * Renders a kustomization the way a user does: `kubectl kustomize DIR` when kubectl's built-in
 * kustomize is >= v4.1 (`labels` came in v4.1; kubectl >= 1.24 reports its version), else a
 * standalone `kustomize build DIR` of at least that version. scripts/install-ci-deps.sh makes
 * sure one of the two exists. `$KUBECTL` and `$KUSTOMIZE` name other binaries.
 */
import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [key: string]: any } };

export interface Renderer {
  /** e.g. `kubectl kustomize` */
  readonly command: readonly string[];
  /** e.g. `v5.5.0` */
  readonly version: string;
}

export interface Rendered {
  readonly objects: K8sObject[];
  readonly yaml: string;
  /** Everything the renderer printed on stderr (deprecation warnings land here). */
  readonly stderr: string;
}

const MIN = [4, 1] as const;

function run(command: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', ...(result.error && { error: result.error }) };
}

function versionIn(text: string): string | undefined {
  return /v(\d+)\.(\d+)\.(\d+)/.exec(text)?.[0];
}

function recentEnough(version: string | undefined): version is string {
  const match = version ? /v(\d+)\.(\d+)/.exec(version) : null;
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

let chosen: Renderer | undefined;

export function renderer(): Renderer {
  if (chosen) return chosen;
  const kubectl = process.env.KUBECTL || 'kubectl';
  const kustomize = process.env.KUSTOMIZE || 'kustomize';
  const seen: string[] = [];
  const fromKubectl = run(kubectl, ['version', '--client', '-o', 'json']);
  if (!fromKubectl.error && fromKubectl.status === 0) {
    let version: string | undefined;
    try {
      version = JSON.parse(fromKubectl.stdout).kustomizeVersion;
    } catch {
      version = undefined;
    }
    if (recentEnough(version)) return (chosen = { command: [kubectl, 'kustomize'], version });
    seen.push(`${kubectl}: kustomize ${version ?? 'version unknown (kubectl < 1.24)'}`);
  } else {
    seen.push(`${kubectl}: ${fromKubectl.error ? 'not found' : `exit ${fromKubectl.status}`}`);
  }
  const fromKustomize = run(kustomize, ['version']);
  if (!fromKustomize.error && fromKustomize.status === 0) {
    const version = versionIn(fromKustomize.stdout);
    if (recentEnough(version)) return (chosen = { command: [kustomize, 'build'], version });
    seen.push(`${kustomize}: ${version ?? fromKustomize.stdout.trim()}`);
  } else {
    seen.push(`${kustomize}: ${fromKustomize.error ? 'not found' : `exit ${fromKustomize.status}`}`);
  }
  throw new Error(`no kustomize >= v${MIN.join('.')} to render manifests/ (${seen.join('; ')}): run scripts/install-ci-deps.sh`);
}

/** Renders DIR; throws with the renderer's stderr when it fails. */
export function kustomize(dir: string): Rendered {
  const { command } = renderer();
  const result = run(command[0]!, [...command.slice(1), dir]);
  if (result.error) throw new Error(`${command.join(' ')} ${dir}: ${result.error.message}`, { cause: result.error });
  if (result.status !== 0) throw new Error(`${command.join(' ')} ${dir} exited ${result.status}: ${result.stderr}`);
  const documents = parseAllDocuments(result.stdout);
  if (!Array.isArray(documents)) throw new Error(`${dir}: no YAML documents rendered`);
  for (const document of documents) if (document.errors.length > 0) throw new Error(`${dir}: ${document.errors[0]!.message}`);
  const objects = documents.map((document) => document.toJSON()).filter((object): object is K8sObject => object !== null);
  return { objects, yaml: result.stdout, stderr: result.stderr };
}
