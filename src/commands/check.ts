import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { ConfigError, parseConfigFile } from '../config/config-file.js';
import { loadKubeConfig } from '../config/kube-config.js';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import { bounded } from '../core/text.js';
import { ClusterReader, CheckReadError, makeCheckApis, type Scope } from '../check/cluster-reader.js';
import { collectReport, type ClusterSource } from '../check/collect.js';
import { problemCount, reportJson, reportTable } from '../check/report.js';

/** What `src/cli.ts` hands over (commander has parsed and checked the flags). */
export interface CheckOptions {
  readonly namespace?: string | undefined;
  readonly allNamespaces?: boolean | undefined;
  readonly kubeconfig?: string | undefined;
  readonly config?: string | undefined;
  readonly output?: 'table' | 'json' | undefined;
}

export interface CheckIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** 0 nothing wrong; 1 a problem found; 2 a usage error, or a config or cluster that cannot be read. */
export const EXIT = { ok: 0, problem: 1, unreadable: 2 } as const;

/** A config file is a few dozen lines; this only keeps a wrong path (a disk image) from being read whole. */
const MAX_CONFIG_BYTES = 1024 * 1024;

class UsageError extends Error {}

/** `probe-injector check`: loads the config and the kubeconfig, reads the cluster, prints, and says how it went. */
export async function runCheck(options: CheckOptions, io: CheckIo): Promise<number> {
  try {
    if (options.namespace !== undefined && options.allNamespaces) throw new UsageError('-n/--namespace and -A/--all-namespaces exclude each other');
    const config = await loadConfig(options.config);
    const k8s = await import('@kubernetes/client-node');
    const kubeConfig = new k8s.KubeConfig();
    try {
      loadKubeConfig(kubeConfig, options.kubeconfig);
    } catch (cause) {
      throw new UsageError(firstLine(cause), { cause });
    }
    const scope: Scope = options.allNamespaces
      ? { all: true }
      : { namespace: options.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default' };
    return await check(new ClusterReader(makeCheckApis(k8s, kubeConfig)), scope, config, options.output ?? 'table', io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof CheckReadError || error instanceof ConfigError) {
      await write(io.stderr, `probe-injector check: ${oneLine(error.message)}\n`);
      return EXIT.unreadable;
    }
    throw error;
  }
}

/** The run against any source of cluster objects (the API server, or fixtures in the tests). */
export async function check(source: ClusterSource, scope: Scope, config: InjectionConfig, output: 'table' | 'json', io: CheckIo, now: () => number = Date.now): Promise<number> {
  const report = await collectReport(source, scope, config, now);
  await write(io.stdout, output === 'json' ? reportJson(report) : reportTable(report));
  return problemCount(report) > 0 ? EXIT.problem : EXIT.ok;
}

async function loadConfig(file: string | undefined): Promise<InjectionConfig> {
  if (file === undefined) return makeInjectionConfig();
  let text: string;
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
      text = new TextDecoder('utf-8', { fatal: true }).decode(await handle.readFile());
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw new UsageError(`cannot read the config ${file}: ${firstLine(cause)}`, { cause });
  }
  return parseConfigFile(text, file);
}

/** One line, with no control character (the text may quote the API server), within a bound. */
function oneLine(text: string): string {
  return bounded(text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' '), 2000);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (error) => (error ? reject(error) : resolve())));
}
