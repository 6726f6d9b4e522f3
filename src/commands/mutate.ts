import { fstat } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { ConfigError, parseConfigFile } from '../config/config-file.js';
import { makeInjectionConfig } from '../core/config.js';
import { parseKubernetesVersion } from '../core/kubernetes-version.js';
import type { InjectionConfig } from '../core/settings.js';
import { DEFAULT_YAML_LIMITS } from '../manifest/bounded-yaml.js';
import { previewManifests, type ManifestFile } from '../manifest/preview.js';
import { formatError, formatExplanation, formatPatches, formatProblems, formatUnreadable, formatWarnings, STDIN } from '../manifest/report.js';
import { showText } from '../manifest/safe-text.js';

/** What `src/cli.ts` hands over (commander has parsed and checked the flags). */
export interface MutateOptions {
  /** Every `-f`, in order; `-` is standard input. */
  readonly filename?: readonly string[] | undefined;
  readonly patch?: boolean | undefined;
  readonly explain?: boolean | undefined;
  readonly config?: string | undefined;
  /** `1.30`, `v1.29.3`: overrides the config's `kubernetesVersion`. */
  readonly kubernetesVersion?: string | undefined;
}

export interface MutateIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** 0 done; 1 problems (invalid annotations); 2 a usage error or input that cannot be read. */
export const EXIT = { ok: 0, invalidAnnotations: 1, usage: 2 } as const;

/** All the manifests of one run together (every `-f`), in bytes: the bounded reader's own limit. */
const MAX_INPUT_BYTES = DEFAULT_YAML_LIMITS.maxBytes;
/** A configuration file is small; this only keeps a wrong path (a disk image) from being read whole. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** A one-line error for exit code 2: a usage error, or input or config that cannot be read. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `probe-injector mutate`: the imperative shell around `previewManifests`. Reads every input (in
 * order, like kubectl) and the config, then writes everything at once: nothing reaches stdout
 * unless the whole input succeeded. Returns the exit code.
 */
export async function runMutate(options: MutateOptions, io: MutateIo): Promise<number> {
  // A write error reaches the write's callback (below); without a listener, the stream's 'error'
  // event would also crash the process with a stack trace (EPIPE: `mutate … | head`).
  const ignore = () => {};
  io.stdout.on('error', ignore);
  io.stderr.on('error', ignore);
  try {
    const names = checkUsage(options);
    const config = withVersion(await loadConfig(options.config), options.kubernetesVersion);
    const files = await readInputs(names, io.stdin);
    const preview = previewManifests(files, config);

    if (preview.status === 'unreadable') {
      await write(io.stderr, formatUnreadable(preview.file, preview.message, preview.line, preview.column));
      return EXIT.usage;
    }
    await write(io.stderr, formatWarnings(preview.warnings));
    if (preview.status === 'invalid') {
      await write(io.stderr, formatProblems(preview.problems, config.errorPolicy));
      return EXIT.invalidAnnotations;
    }
    const output = options.patch ? formatPatches(preview.objects) : options.explain ? formatExplanation(preview.objects, files.length > 1) : joinStreams(preview.outputs);
    await write(io.stdout, output);
    return EXIT.ok;
  } catch (error) {
    // The reader went away (`| head`, `| grep -q`): like other command-line tools, stop quietly.
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return EXIT.ok;
    const message = error instanceof UsageError ? error.message : error instanceof Error ? error.message : String(error);
    await write(io.stderr, formatError(message)).catch(ignore);
    return EXIT.usage;
  }
}

function checkUsage(options: MutateOptions): readonly string[] {
  const names = options.filename ?? [];
  if (names.length === 0) throw new UsageError('mutate: no input: give -f FILE (repeat it for several files), or -f - for standard input');
  if (names.filter((name) => name === '-').length > 1) throw new UsageError('mutate: -f - (standard input) can be given only once');
  if (names.includes('')) throw new UsageError('mutate: -f needs a file name (or - for standard input)');
  if (options.patch && options.explain) throw new UsageError('--patch and --explain cannot be combined');
  return names;
}

function withVersion(config: InjectionConfig, version: string | undefined): InjectionConfig {
  if (version === undefined) return config;
  const parsed = parseKubernetesVersion(version);
  if (parsed === undefined) throw new UsageError(`--kubernetes-version ${showText(version)}: expected a Kubernetes version such as 1.30 or v1.29.3`);
  return { ...config, kubernetesVersion: parsed };
}

async function loadConfig(file: string | undefined): Promise<InjectionConfig> {
  if (file === undefined) return makeInjectionConfig();
  const text = decode(await readFileBounded(file, 'config ', MAX_CONFIG_BYTES), file);
  try {
    return parseConfigFile(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** Every input, in order, within one budget of bytes. */
async function readInputs(names: readonly string[], stdin: Readable): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  let left = MAX_INPUT_BYTES;
  for (const name of names) {
    const bytes = name === '-' ? await readStdin(stdin, left) : await readFileBounded(name, '', left);
    left -= bytes.length;
    const label = name === '-' ? STDIN : name;
    files.push({ name: label, text: decode(bytes, label) });
  }
  return files;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory (give a file, or - for standard input)',
  EACCES: 'permission denied',
};

function tooLarge(what: string, limit: number): UsageError {
  return new UsageError(`${what}: more than ${limit} bytes of input (mutate reads at most ${MAX_INPUT_BYTES} bytes in all)`);
}

/** A file's bytes, refused before they are read when there are more than `limit`. */
async function readFileBounded(file: string, what: string, limit: number): Promise<Buffer> {
  const fail = (cause: unknown): never => {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = (code && ERRNO_TEXT[code]) ?? (cause instanceof Error ? cause.message : String(cause));
    throw new UsageError(`cannot read ${what}${showText(file)}: ${reason}`, { cause });
  };
  const handle = await open(file, 'r').catch(fail);
  try {
    const stat = await handle.stat().catch(fail);
    if (stat.isDirectory()) fail(Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
    if (stat.size > limit) throw tooLarge(showText(file), limit);
    // Not a regular file (a FIFO, /dev/stdin): its size says nothing; read up to the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.alloc(Math.min(1024 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length).catch(fail);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw tooLarge(showText(file), limit);
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
  }
}

/** Standard input, up to `limit` bytes; a directory (`< dir`) is refused, not read as empty. */
async function readStdin(stdin: Readable, limit: number): Promise<Buffer> {
  const fd = 'fd' in stdin && typeof stdin.fd === 'number' ? stdin.fd : undefined;
  if (fd !== undefined) {
    const stat = await promisify(fstat)(fd).catch(() => undefined);
    if (stat?.isDirectory()) throw new UsageError('cannot read standard input: it is a directory (give a file, or pipe the manifests in)');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stdin) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      chunks.push(buffer);
      total += buffer.length;
      if (total > limit) {
        stdin.destroy();
        throw tooLarge(STDIN, limit);
      }
    }
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`cannot read standard input: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return Buffer.concat(chunks);
}

/** Strict UTF-8 (a byte-order mark is kept, and written back): anything else is refused rather than guessed. */
function decode(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new UsageError(`${showText(file)}: not UTF-8 text`, { cause });
  }
}

/**
 * Several inputs make one stream: each file's output as it is, with a `---` between two files
 * (after a line break when a file has no final one), and a byte-order mark only at the very start.
 */
function joinStreams(outputs: readonly string[]): string {
  let joined = '';
  for (const [index, output] of outputs.entries()) {
    const text = index > 0 && output.startsWith('\ufeff') ? output.slice(1) : output;
    if (index > 0 && joined !== '' && text !== '') {
      const eol = joined.includes('\r\n') ? '\r\n' : '\n';
      if (!joined.endsWith('\n')) joined += eol;
      // After a document, a directive (`%YAML`) needs the `...` end marker; anything else a `---`.
      if (/^%/.test(text)) joined += `...${eol}`;
      else if (!/^---(\s|$)/.test(text)) joined += `---${eol}`;
    }
    joined += text;
  }
  return joined;
}

function write(stream: Writable, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
