import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { ConfigError, parseConfigFile } from '../config/config-file.js';
import { makeInjectionConfig, type InjectionConfig } from '../core/config.js';
import { previewManifests } from './mutate/preview.js';
import { formatExplanation, formatPatches, formatProblems, formatUnreadable, formatWarnings } from './mutate/report.js';

export interface MutateOptions {
  readonly filename: string;
  readonly patch?: boolean | undefined;
  readonly explain?: boolean | undefined;
  readonly config?: string | undefined;
}

export interface MutateIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export const EXIT = { ok: 0, invalidAnnotations: 1, unreadable: 2 } as const;

/** A one-line error for exit code 2 (input or config that cannot be read). */
class UnreadableError extends Error {
  override readonly name = 'UnreadableError';
}

/**
 * `probe-injector mutate`: the imperative shell around `previewManifests`. Reads the input and the
 * config, then writes everything at once: nothing reaches stdout unless the whole input succeeded.
 * Returns the exit code: 0 ok, 1 invalid annotations, 2 unreadable input (or config).
 */
export async function runMutate(options: MutateOptions, io: MutateIo): Promise<number> {
  // A write error reaches the write's callback (below); without a listener, the stream's 'error'
  // event would also crash the process with a stack trace (EPIPE: `mutate … | head`).
  const ignore = () => {};
  io.stdout.on('error', ignore);
  io.stderr.on('error', ignore);
  try {
    if (options.patch && options.explain) throw new UnreadableError('probe-injector: --patch and --explain cannot be combined');
    const file = options.filename === '-' ? '<stdin>' : options.filename;
    const config = await loadConfig(options.config);
    const text = await readInput(options.filename, io.stdin);
    const preview = previewManifests(text, config);

    if (preview.status === 'unreadable') {
      await write(io.stderr, formatUnreadable(file, preview.message, preview.where));
      return EXIT.unreadable;
    }
    await write(io.stderr, formatWarnings(file, preview.objects));
    if (preview.status === 'invalid') {
      await write(io.stderr, formatProblems(file, preview.problems, config.errorPolicy));
      return EXIT.invalidAnnotations;
    }
    const output = options.patch ? formatPatches(preview.objects) : options.explain ? formatExplanation(preview.objects) : preview.yaml;
    await write(io.stdout, output);
    return EXIT.ok;
  } catch (error) {
    // The reader went away (`| head`, `| grep -q`): like other command-line tools, stop quietly.
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return EXIT.ok;
    const message = error instanceof UnreadableError ? error.message : `probe-injector: ${error instanceof Error ? error.message : String(error)}`;
    await write(io.stderr, `${message.replace(/[\r\n]+/g, ' ')}\n`).catch(ignore);
    return EXIT.unreadable;
  }
}

async function loadConfig(file: string | undefined): Promise<InjectionConfig> {
  if (file === undefined) return makeInjectionConfig();
  const text = await readText(file, 'config');
  try {
    return parseConfigFile(text, file);
  } catch (error) {
    if (error instanceof ConfigError) throw new UnreadableError(`probe-injector: ${error.message}`, { cause: error });
    throw error;
  }
}

async function readInput(filename: string, stdin: Readable): Promise<string> {
  if (filename !== '-') return readText(filename, 'input');
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } catch (cause) {
    throw new UnreadableError(`probe-injector: cannot read standard input: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return decode(Buffer.concat(chunks), '<stdin>');
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory (give a file, or - for standard input)',
  EACCES: 'permission denied',
};

async function readText(file: string, what: 'input' | 'config'): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = (code && ERRNO_TEXT[code]) ?? (cause instanceof Error ? cause.message : String(cause));
    throw new UnreadableError(`probe-injector: cannot read ${what === 'config' ? 'config ' : ''}${file}: ${reason}`, { cause });
  }
  return decode(bytes, file);
}

/** Strict UTF-8 (a byte-order mark is dropped): anything else is refused rather than guessed. */
function decode(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new UnreadableError(`probe-injector: ${file}: not UTF-8 text`, { cause });
  }
}

function write(stream: Writable, text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
