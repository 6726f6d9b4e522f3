import type { Readable, Writable } from 'node:stream';

export interface MutateOptions {
  readonly filename: string;
  readonly patch?: boolean | undefined;
  readonly explain?: boolean | undefined;
  readonly config?: string | undefined;
}

/** `probe-injector mutate`. Returns the exit code: 0 ok, 1 invalid annotations, 2 unreadable input. */
export async function runMutate(_options: MutateOptions, io: { stdin: Readable; stdout: Writable; stderr: Writable }): Promise<number> {
  io.stderr.write('probe-injector: mutate is not implemented yet\n');
  return 2;
}
